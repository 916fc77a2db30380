"""Every failure of a client verb is one readable line on stderr, exit 1 (2 for usage), nothing on stdout."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import tiny_lora_files
from tests.sdk.test_support import write_folder

if TYPE_CHECKING:  # imported by pytest_plugins; importing it here first would skip its assertion rewriting
    from tests.sdk.cli_support import Cli

pytest_plugins = ["tests.sdk.test_support", "tests.sdk.cli_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def _closed_port() -> int:
    with socket.socket() as sock:  # bound then released: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def published(hub, tmp_path: Path) -> str:
    hub.publish(write_folder(tmp_path / "adapter", tiny_lora_files()), "alice/fails", base_model="tiny/llama-test")
    return "alice/fails"


def test_each_failure_is_one_line_with_a_nonzero_exit(cli: Cli, alice, published: str, tmp_path: Path) -> None:
    unreachable = f"http://127.0.0.1:{_closed_port()}"
    (tmp_path / "bad-structure.txt").write_text("model.layers.0.self_attn.q_proj sixty-four 64\n")
    (tmp_path / "a-file").write_text("not a folder")
    adapter = str(write_folder(tmp_path / "adapter", tiny_lora_files(seed=1)))
    # (argv, options for cli(), exit code, the start of the one stderr line)
    table = [
        (["publish", str(tmp_path / "nope"), "--name", "alice/x"], {}, 1,
         f"error: No such folder: {tmp_path / 'nope'}"),
        (["publish", str(tmp_path / "a-file"), "--name", "alice/x"], {}, 1, "error: Not a folder"),
        (["pull", "not-a-name"], {}, 1, "error [InvalidName]: 'not-a-name' is not an adapter name"),
        (["info", "alice/nothing-here"], {}, 1, "error [AdapterNotFound]: No adapter is called alice/nothing-here"),
        (["search", "sst2"], {"url": unreachable}, 1,
         f"error [HubConnectionError]: search: could not reach the hub at {unreachable}"),
        (["whoami"], {"token": "hub_not-a-real-token"}, 1, "error [InvalidToken]: "),
        (["publish", adapter, "--name", "alice/x"], {"token": "hub_not-a-real-token"}, 1,
         "error [InvalidToken]: "),
        (["pull", f"{published}@v9"], {}, 1, f"error [RevisionNotFound]: {published}@v9"),
        (["pull", f"{published}@no such"], {}, 1, "error [InvalidName]: 'no such' is not a tag"),
        (["tag", published, "stable", "v9"], {"token": alice.token}, 1, "error [RevisionNotFound]: "),
        (["delete", published], {"token": alice.token}, 1,
         f"error: {published} and all its versions not deleted: confirm with --yes"),
        (["check", published, "--base-structure", str(tmp_path / "missing.txt")], {}, 1,
         f"error: No such file or directory: {tmp_path / 'missing.txt'}"),
        (["check", published, "--base-structure", str(tmp_path / "bad-structure.txt")], {}, 1,
         f"error: {tmp_path / 'bad-structure.txt'}: line 1"),
        (["org", "add", "alice", "bob", "--role", "write"], {"token": alice.token}, 1, "error [NamespaceNotFound]: "),
        (["whoami"], {}, 1, "error [AuthenticationRequired]: "),
        (["publish", str(tmp_path)], {}, 2, "usage: hub publish"),
    ]  # fmt: skip
    wrong = []
    for argv, options, code, start in table:
        ran = cli(*argv, **options)
        lines = ran.err.splitlines()
        # argparse: its usage (wrapped), then one line saying what is wrong
        one_line = len(lines) == 1 or (code == 2 and lines[-1].startswith(f"hub {argv[0]}: error: "))
        if ran.code != code or not one_line or not ran.err.startswith(start) or ran.out:
            wrong.append((argv, ran))
    assert wrong == []
    assert cli("info", "alice/x").code == 1  # no failed publish left an adapter behind


def test_the_usage_error_names_what_is_missing(cli: Cli) -> None:
    ran = cli("publish", "some/folder")
    assert ran.code == 2 and ran.err.splitlines()[-1].endswith("the following arguments are required: --name")


def test_nothing_was_published_or_deleted_by_the_failures(cli: Cli, alice, published: str) -> None:
    assert cli("delete", published, token=alice.token).code == 1  # not confirmed
    info = cli("info", published, "--json")
    assert info.code == 0 and [v["version"] for v in json.loads(info.out)["versions"]] == ["v1"]
