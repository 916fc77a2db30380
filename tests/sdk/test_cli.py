"""The `hub` command's client verbs, run as a user would: a subprocess configured by environment."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sdk.cache import hub_folder
from tests.helpers import gpt2_ia3_files, tiny_lora_files
from tests.sdk.test_support import sha256, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")
REPO_ROOT = Path(__file__).resolve().parents[2]


def run_hub(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def env(hub_url: str, tmp_path: Path) -> dict[str, str]:
    kept = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    return {
        **kept,
        "HUB_URL": hub_url,
        "HUB_CACHE": str(tmp_path / "cli-cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "cli-config"),
    }


def test_publish_prints_the_evaluation_results_it_could_not_read(env: dict[str, str], alice, tmp_path: Path) -> None:
    env = {**env, "HUB_TOKEN": alice.token}
    bad = b"- {dataset: {id: glue}, value: high}\n"
    folder = write_folder(tmp_path / "adapter", {**tiny_lora_files(), ".eval_results/bad.yaml": bad})
    published = run_hub(env, "publish", str(folder), "--name", "alice/evals", "--base-model", "tiny/llama-test")
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith("Published alice/evals v1")
    assert "warning: .eval_results/bad.yaml: entry 0: value 'high' is not a finite number; ignored." in published.stderr


def test_publish_search_info_pull(env: dict[str, str], alice, tmp_path: Path) -> None:
    env = {**env, "HUB_TOKEN": alice.token}
    files = tiny_lora_files()
    folder = write_folder(tmp_path / "adapter", files)
    (tmp_path / "card.md").write_text("# A card from a file")
    published = run_hub(
        env, "publish", str(folder), "--name", "alice/cli-lora", "--base-model", "tiny/llama-test",
        "--license", "mit", "--tag", "sql", "--tag", "demo", "--description-file", str(tmp_path / "card.md"),
    )  # fmt: skip
    assert published.returncode == 0, published.stderr
    assert published.stdout.startswith("Published alice/cli-lora v1 (revision ")
    run_hub(env, "publish", str(write_folder(tmp_path / "ia3", gpt2_ia3_files())), "--name", "alice/cli-ia3",
            "--base-model", "gpt2")  # fmt: skip

    table = run_hub(env, "search", "--method", "lora")
    assert table.returncode == 0, table.stderr
    header, row, *rest = table.stdout.splitlines()
    assert header.split()[:3] == ["ADAPTER", "VER", "METHOD"] and row.split()[:4] == [
        "alice/cli-lora",
        "v1",
        "lora",
        "tiny/llama-test",
    ]
    assert rest == ["1 of 1 adapters"]
    as_json = run_hub(env, "search", "sql", "--json")
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == ["alice/cli-lora"]

    info = run_hub(env, "info", "alice/cli-lora")
    assert info.returncode == 0 and "license      mit" in info.stdout and "main -> v1" in info.stdout
    assert json.loads(run_hub(env, "info", "alice/cli-lora", "--json").stdout)["tags"] == ["demo", "sql"]

    pulled = run_hub(env, "pull", "alice/cli-lora@v1", "--to", str(tmp_path / "out"))
    assert pulled.returncode == 0 and pulled.stdout.strip() == str(tmp_path / "out")
    assert {p.name: sha256(p.read_bytes()) for p in (tmp_path / "out").iterdir()} == {
        name: sha256(data) for name, data in files.items()
    }
    cached = run_hub(env, "pull", "alice/cli-lora")
    assert Path(cached.stdout.strip()).is_relative_to(tmp_path / "cli-cache" / "hubs" / hub_folder(env["HUB_URL"]))


def test_errors_print_one_line_and_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    missing = run_hub(env, "info", "alice/nothing-here")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.splitlines() == ["error [AdapterNotFound]: No adapter is called alice/nothing-here."]
    anonymous = run_hub(env, "publish", str(write_folder(tmp_path / "a", tiny_lora_files())), "--name", "alice/anon")
    assert anonymous.returncode == 1 and anonymous.stderr.startswith(
        "error [AuthenticationRequired]: publish alice/anon"
    )
    bad_name = run_hub(env, "pull", "not-a-name")
    assert bad_name.returncode == 1 and bad_name.stderr.startswith("error [InvalidName]: 'not-a-name'")


def test_login_checks_and_saves_the_token(env: dict[str, str], alice, tmp_path: Path) -> None:
    refused = run_hub(env, "login", stdin="not-a-token\n")
    assert refused.returncode == 1 and refused.stderr.startswith("error [InvalidToken]")
    token_file = tmp_path / "cli-config" / "adapter-hub" / "token"
    assert not token_file.exists()

    done = run_hub(env, "login", stdin=alice.token + "\n")
    assert done.returncode == 0, done.stderr
    assert "as alice" in done.stdout and token_file.read_text().strip() == alice.token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600

    folder = write_folder(tmp_path / "a", tiny_lora_files())  # no HUB_TOKEN: the saved token is used
    published = run_hub(env, "publish", str(folder), "--name", "alice/after-login", "--base-model", "x/y")
    assert published.returncode == 0, published.stderr
    assert run_hub(env, "login", "--token", alice.token).returncode == 0


def test_search_shows_zero_downloads_as_info_does(env: dict[str, str], hub, tmp_path: Path) -> None:
    hub.publish(write_folder(tmp_path / "a", tiny_lora_files()), "alice/unpulled", base_model="tiny/llama-test")
    header, row, _total = run_hub(env, "search").stdout.splitlines()
    assert header.split()[-1] == "DOWNLOADS" and row.split()[-1] == "0"
    assert "  downloads    0" in run_hub(env, "info", "alice/unpulled").stdout
