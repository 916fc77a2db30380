"""Web UI fixtures: Debian's Chromium driven by Playwright, a page that records console errors, a hub with data."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Browser tests run on SQLite only: the pages are the same on both backends, and TestClient tests cover PostgreSQL.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite-local"], indirect=True)


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is not installed (apt-get install chromium); the browser tests need it"
    if os.environ.get("TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium():
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class ConsoleLog:
    """Console errors and uncaught exceptions seen by a page; tests assert it stays empty."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def record(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def uncaught(self, error) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(chromium, console: ConsoleLog) -> Iterator:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.on("console", console.record)
    tab.on("pageerror", console.uncaught)
    yield tab
    context.close()


@pytest.fixture
def demo(app) -> list[str]:
    """The `hub demo` adapters, published through the normal services."""
    from hub.demo import load_demo

    return load_demo(app.state.session_factory, app.state.storage, app.state.limits)


@pytest.fixture(scope="session")
def peft_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real PEFT folder: PeftModel.save_pretrained of a LoRA on a 2-layer Llama built from a config."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2,
    )  # fmt: skip
    model = transformers.LlamaForCausalLM(config)
    model.name_or_path = model.config._name_or_path = "tiny/llama-test"  # as from_pretrained("tiny/llama-test")
    lora = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    folder = tmp_path_factory.mktemp("peft") / "tiny-llama-lora"
    with warnings.catch_warnings():  # deprecation notes from transformers and peft about their own internals
        warnings.simplefilter("ignore")
        peft.get_peft_model(model, lora).save_pretrained(folder)
    return folder
