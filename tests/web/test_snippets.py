"""Every snippet a newcomer copies runs as pasted against a live hub (issue 17.5): the adapter page's "Use it"
snippets, and README.md's Python and shell blocks that talk to a hub.

Nothing is downloaded: the base model is a tiny random GPT-2 saved to a local folder. A snippet that names a
base id must mark it on one line, ``BASE = "<id>"  # ...`` (web/adapter_view.py BASE_LINE); the test puts
the local folder there, as a reader without huggingface.co access would. README lines that cannot run here
are listed below with the reason, and the test for them is skipped with that reason.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import httpx
import pytest

from tests.fixtures.hub import make_account
from tests.helpers import publish
from tests.web.conftest import sqlite_only

pytestmark = sqlite_only
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BASE_ID = "openai-community/gpt2"
BASE_LINE_RE = re.compile(r'^BASE = "(?P<id>[^"]+)"  # .+$', re.MULTILINE)
SNIPPET_RE = re.compile(
    r'<h3 class="snippet-title">(.*?)</h3>\s*<pre class="snippet"><code>(.*?)</code></pre>', re.DOTALL
)
FENCE_RE = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)
# README shell lines that do not talk to a running hub, or start one: (how the line starts, why it is skipped).
README_SKIPPED = (
    ("make serve", "starts the hub on port 8000 in the foreground; the test runs its own hub"),
    ("make test", "runs the whole test suite"),
    ("python -m venv", "builds the second test environment (README: 'The second test environment')"),
    (".venv-adapters/bin/python -m pip", "installs packages from PyPI into the second test environment"),
    ("torch==", "continuation of the pip install line above"),
    ("pip install /path/to/adapter-hub", "installs the client into the reader's own environment (the test has one)"),
    ("pip install '/path/to/adapter-hub[torch]'", "the same with torch, which the test environment has"),
)


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A local GPT-2 folder (random weights, tiny sizes) and a LoRA folder for it that names BASE_ID."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("snippets")
    config = transformers.GPT2Config(vocab_size=96, n_positions=32, n_embd=64, n_layer=2, n_head=2)
    transformers.GPT2LMHeadModel(config).save_pretrained(root / "local-gpt2")
    model = transformers.GPT2LMHeadModel(config)
    model.name_or_path = model.config._name_or_path = BASE_ID  # as from_pretrained(BASE_ID)
    lora = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peft.get_peft_model(model, lora).save_pretrained(root / "lora")
    return {"base": root / "local-gpt2", "lora": root / "lora"}


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A reader's environment: no HUB_* or HF_* settings of the developer, fresh caches, this checkout first."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "HF_"))}
    env = {**kept, "HUB_CACHE": str(tmp_path / "hub-cache"), "HF_HOME": str(tmp_path / "hf-home")}
    env |= {"PYTHONPATH": str(REPO_ROOT), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    return env | extra


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def page_snippets(url: str) -> dict[str, str]:
    text = httpx.get(url, headers={"Accept": "text/html"}).text
    return {html.unescape(title): html.unescape(code) for title, code in SNIPPET_RE.findall(text)}


def with_local_base(code: str, base: Path) -> str:
    """The one marked line a reader changes: BASE becomes their local copy."""
    lines = BASE_LINE_RE.findall(code)
    assert len(lines) == 1, f"a snippet that loads a base must mark it on one BASE line:\n{code}"
    return BASE_LINE_RE.sub(f'BASE = "{base}"  # the local copy', code)


def run_python(code: str, env: dict[str, str], cwd: Path) -> str:
    done = run([sys.executable, "-c", code + '\nprint("MODEL", type(model).__name__)'], env, cwd)
    assert done.returncode == 0 and "Traceback" not in done.stderr, f"{code}\n---\n{done.stderr[-3000:]}"
    return done.stdout


def test_every_adapter_page_snippet_runs_as_pasted(live_hub, demo, client, alice, tiny_gpt2, tmp_path):
    files = {path.name: path.read_bytes() for path in tiny_gpt2["lora"].iterdir()}
    assert publish(client, alice, "alice/tiny-gpt2-lora", files, base_model=BASE_ID).status_code == 201
    assert publish(client, alice, "alice/tiny-gpt2-lora", files, license="mit").status_code == 201
    env = clean_env(tmp_path)
    latest = page_snippets(f"{live_hub}/alice/tiny-gpt2-lora")
    pinned = page_snippets(f"{live_hub}/alice/tiny-gpt2-lora/tree/v1")
    assert set(latest) == {"Python SDK", "Command line", "PEFT (files through the hub's Hugging Face API)"}
    for title in ("Python SDK", "PEFT (files through the hub's Hugging Face API)"):
        for snippets in (latest, pinned):
            printed = run_python(with_local_base(snippets[title], tiny_gpt2["base"]), env, tmp_path)
            assert "MODEL GPT2LMHeadModel" in printed or "MODEL PeftModelForCausalLM" in printed, printed
    for snippets in (latest, pinned):
        done = run(["bash", "-c", snippets["Command line"]], env, tmp_path)
        assert done.returncode == 0, done.stderr
        assert (Path(done.stdout.strip().splitlines()[-1]) / "adapter_config.json").is_file(), done.stdout
    assert "@v1" in pinned["Command line"] and 'revision="' in pinned["PEFT (files through the hub's Hugging Face API)"]


def test_the_demo_pages_snippets_name_their_base_on_one_marked_line(live_hub, demo):
    from hub.demo_catalog import DEMO_CATALOG

    for adapter in DEMO_CATALOG:
        for title, code in page_snippets(f"{live_hub}/demo/{adapter.name}").items():
            assert live_hub in code, (adapter.name, title)  # this hub's address, nothing to fill in
            if title != "Command line":
                assert BASE_LINE_RE.findall(code) == [adapter.base.model_id], (adapter.name, title)


# README.md ------------------------------------------------------------------------------------------


def readme_snippets() -> list[tuple[str, str, str]]:
    """(id, language, code) of each fenced block; shell blocks split into their lines."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for match in FENCE_RE.finditer(text):
        language, code = match.group(1), match.group(2)
        line = text[: match.start()].count("\n") + 2
        if language == "python":
            found.append((f"python-L{line}", language, code))
        else:
            found += [(f"{language}-L{line + i}", language, cmd) for i, cmd in enumerate(code.splitlines()) if cmd]
    return found


def skip_reason(language: str, code: str) -> str | None:
    if language == "python":
        return None if re.search(r"^import sdk|^from sdk", code, re.MULTILINE) else "does not talk to a hub"
    reasons = [why for start, why in README_SKIPPED if code.strip().startswith(start)]
    if reasons:
        return reasons[0]
    assert code.startswith(("curl ", ".venv/bin/hub ", "hub ")), f"README shell line not classified: {code!r}"
    return None


@pytest.mark.parametrize(
    ("language", "code"), [s[1:] for s in readme_snippets()], ids=[s[0] for s in readme_snippets()]
)
def test_readme_snippet_runs_against_a_live_hub(app, live_hub, tiny_gpt2, tmp_path, language, code):
    reason = skip_reason(language, code)
    if reason:
        pytest.skip(reason)
    settings = app.state.settings
    account = make_account(app, "acme")
    env = clean_env(tmp_path, HUB_URL=live_hub, HUB_TOKEN=account.token)
    code = code.replace("http://127.0.0.1:8000", live_hub)
    if language == "python":
        run_python(readme_prelude(code, tiny_gpt2, tmp_path) + code, env, tmp_path)
        return
    env |= {"HUB_DATABASE_URL": settings.database_url, "HUB_STORAGE_URL": settings.storage_url}
    (tmp_path / ".venv").symlink_to(VENV_BIN.parent)  # `.venv/bin/hub` as in a checkout after `make serve`
    done = run(["bash", "-o", "pipefail", "-c", code], env, tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def readme_prelude(code: str, tiny_gpt2: dict[str, Path], cwd: Path) -> str:
    """What the README's Python assumes the reader has: the folders it publishes, and `model`, their model."""
    for folder in re.findall(r'publish\(\s*"([^"]+)"', code):
        (cwd / folder).parent.mkdir(parents=True, exist_ok=True)
        (cwd / folder).symlink_to(tiny_gpt2["lora"])
    load = f"model = AutoModelForCausalLM.from_pretrained({str(tiny_gpt2['base'])!r})\n"
    return "from transformers import AutoModelForCausalLM\n" + load
