"""Issue 17 in a real Chromium: the GPT-2 paste flow, and Lighthouse-style layout checks (no sideways scroll at
375 px on any page; the compatibility panel and "Use it" within the first two screens)."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import pytest

from hub.demo_catalog import DEMO_CATALOG
from tests.helpers import publish
from tests.web.conftest import sqlite_only

pytestmark = [pytest.mark.browser, sqlite_only]
MOBILE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
TINY_GPT2 = "tiny/gpt2-test"


@pytest.fixture(scope="module")
def gpt2_lora(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random GPT-2 (Conv1D layers, 64 -> 192 in c_attn) and a PEFT LoRA folder saved for it."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=96, n_positions=32, n_embd=64, n_layer=2, n_head=2)
    model = transformers.GPT2LMHeadModel(config)
    model.name_or_path = model.config._name_or_path = TINY_GPT2
    lora = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM")
    folder = tmp_path_factory.mktemp("gpt2") / "gpt2-lora"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft.get_peft_model(transformers.GPT2LMHeadModel(config), lora).save_pretrained(folder)
    return model, folder


def folder_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def run_printed(code: str, model) -> str:
    """What a snippet prints when run in the reader's session, where `model` is their model."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "<snippet>", "exec"), {"model": model})  # the page's own text, run as pasted
    return printed.getvalue()


def test_gpt2_paste_flow_with_the_panels_own_snippet(page, live_hub, client, alice, gpt2_lora, console):
    model, folder = gpt2_lora
    assert publish(client, alice, "alice/gpt2-lora", folder_files(folder), base_model=TINY_GPT2).status_code == 201
    page.goto(f"{live_hub}/alice/gpt2-lora")
    printed = run_printed(page.inner_text("#compat-snippet"), model)
    assert "transformer.h.0.attn.c_attn conv1d 64 192" in printed  # GPT-2's Conv1D layers are listed
    page.fill("#compat-text", printed)  # the paste form is open: no click to unfold it
    page.click("text=Check pasted shapes")
    assert page.inner_text("#verdict").startswith("Compatible with the pasted structure")
    rows = page.locator("table.verdicts tbody tr")
    assert rows.count() == 2
    assert rows.first.locator("td").nth(1).inner_text() == "linear or conv1d 64 → 192"
    assert page.input_value("#compat-base") == TINY_GPT2  # the base dropdown keeps the adapter's base
    assert console.errors == []


def test_an_empty_paste_is_answered_in_the_panel(page, live_hub, client, alice, gpt2_lora):
    publish(client, alice, "alice/gpt2-lora", folder_files(gpt2_lora[1]), base_model=TINY_GPT2)
    page.goto(f"{live_hub}/alice/gpt2-lora")
    page.click("text=Check pasted shapes")
    assert page.inner_text("#verdict").startswith("Could not check against the pasted structure")
    assert "no module listed" in page.inner_text("#verdict") and page.locator("#compat-text").count() == 1


def test_a_chosen_base_stays_selected_after_the_check(page, live_hub, demo):
    page.goto(f"{live_hub}/demo/smollm2-alpaca-lora")
    page.select_option("#compat-base", "TinyLlama/TinyLlama-1.1B-Chat-v1.0")
    page.click("#compat form button")
    assert page.inner_text("#verdict").startswith("Not compatible")
    assert page.input_value("#compat-base") == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"


def _many_versions(client, alice, peft_folder: Path) -> str:
    """PEFT's own folder (its README is the untouched card template), published in six versions."""
    files = folder_files(peft_folder)
    for number in range(6):
        publish(client, alice, "alice/template-card", files, license=f"license-{number}")
    return "/alice/template-card"


def test_no_page_scrolls_sideways_at_375px(chromium, live_hub, demo, client, alice, peft_folder, console):
    template = _many_versions(client, alice, peft_folder)
    context = chromium.new_context(viewport=MOBILE)
    page = context.new_page()
    page.on("pageerror", console.uncaught)
    pages = [
        "/", "/search", "/search?q=nothing-matches", "/demo", "/demo/smollm2-alpaca-lora", template,
        f"{template}/tree/v2", "/demo/gpt2-sst2-lora/tree/v1", "/bases/HuggingFaceTB/SmolLM2-135M",
        "/demo/tinyllama-sql-lora/compat?base=HuggingFaceTB/SmolLM2-135M", "/login", "/demo/no-such-adapter",
    ]  # fmt: skip
    for path in pages:
        assert_no_sideways_scroll(page, live_hub + path)
    page.goto(f"{live_hub}/login")
    page.fill("#token", alice.token)
    page.click("form[action='/login'] button")
    for path in ("/tokens", "/new", f"/new?adapter={template[1:]}", template, "/alice"):
        assert_no_sideways_scroll(page, live_hub + path)
    assert console.errors == []
    context.close()


def assert_no_sideways_scroll(page, url: str) -> None:
    page.goto(url)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= MOBILE["width"], url
    # Nor inside: the versions table fits its box (the module tables may scroll; they are long by nature).
    overflow = page.evaluate(
        "[...document.querySelectorAll('table.versions, table.tokens, table.meta-table')]"
        ".map(t => t.parentElement.scrollWidth - t.parentElement.clientWidth)"
    )
    assert all(extra <= 0 for extra in overflow), (url, overflow)


@pytest.mark.parametrize("viewport", [MOBILE, DESKTOP], ids=["375px", "1280px"])
def test_compat_panel_and_use_it_are_within_two_screens(chromium, live_hub, demo, client, alice, peft_folder, viewport):
    template = _many_versions(client, alice, peft_folder)
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    for path in [template, *(f"/demo/{adapter.name}" for adapter in DEMO_CATALOG)]:
        page.goto(live_hub + path)
        for section in ("#compat", "#use"):
            top = page.evaluate(f"document.querySelector('{section}').getBoundingClientRect().top + window.scrollY")
            assert top < 2 * viewport["height"], (path, section, top)
        assert page.locator("#compat-text").is_visible()  # the paste form is open
    context.close()
