"""Where a Hub's settings come from, progress bars, and what importing the SDK pulls in."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sdk import Hub
from sdk._http import DEFAULT_URL, progress_bar, save_token
from sdk.cache import default_cache_dir

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")
SDK_ROOT = Path(__file__).resolve().parents[2] / "sdk"


def test_defaults_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    plain = Hub()
    assert plain.url == DEFAULT_URL and plain.cache.root == tmp_path / "xdg" / "adapter-hub" and not plain.offline
    monkeypatch.setenv("HUB_URL", "http://hub.example:9000/")
    monkeypatch.setenv("HUB_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("HUB_OFFLINE", "true")
    configured = Hub()
    assert (configured.url, configured.cache.root, configured.offline) == (
        "http://hub.example:9000",
        tmp_path / "c",
        True,
    )
    explicit = Hub("http://other:1", cache_dir=tmp_path / "d", offline=False)
    assert (explicit.url, explicit.cache.root, explicit.offline) == ("http://other:1", tmp_path / "d", False)
    assert default_cache_dir() == tmp_path / "c"


def test_token_precedence(hub_url: str, alice, bob, monkeypatch: pytest.MonkeyPatch) -> None:
    save_token(bob.token)  # what `hub login` stores
    assert Hub(hub_url).whoami()["name"] == "bob"
    monkeypatch.setenv("HUB_TOKEN", alice.token)
    assert Hub(hub_url).whoami()["name"] == "alice"
    assert Hub(hub_url, token=bob.token).whoami()["name"] == "bob"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_for_big_files_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress_bar("weights", 50 << 20).disable  # pytest captures stderr: not a terminal
    monkeypatch.setattr(sys, "stderr", _Terminal())
    assert not progress_bar("weights", 50 << 20).disable
    assert progress_bar("config", 2_000).disable


def test_importing_the_sdk_loads_neither_torch_nor_the_server() -> None:
    code = "import sys, sdk, sdk.cli, sdk.formats; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('torch', 'hub', 'web', 'fastapi', 'sqlalchemy', 'peft', 'transformers', 'numpy')))"  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_no_sdk_module_imports_the_server() -> None:
    server_import = re.compile(r"^\s*(from|import)\s+(hub|web)\b", re.MULTILINE)
    offenders = [str(path) for path in SDK_ROOT.rglob("*.py") if server_import.search(path.read_text())]
    assert offenders == []
