"""`hub keys` and `hub publish --sign-key` / `hub pull --verify`, in-process against a live hub."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.helpers import tiny_lora_files
from tests.signing_support import make_key, signed, write_folder

if TYPE_CHECKING:  # imported by pytest_plugins; importing it here first would skip its assertion rewriting
    from tests.sdk.cli_support import Cli

pytest_plugins = ["tests.sdk.test_support", "tests.sdk.cli_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def test_keys_add_list_revoke_and_a_signed_publish(cli: Cli, alice, tmp_path: Path) -> None:
    key = make_key(tmp_path / "keys")
    added = cli("keys", "add", "alice", str(key.public), "--name", "laptop", token=alice.token)
    assert added.code == 0 and "Trusted in alice: key" in added.out, added.err
    key_id = added.out.split()[4]
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    published = cli(
        "publish",
        str(folder),
        "--name",
        "alice/cli-signed",
        "--base-model",
        "tiny/llama-test",
        "--sign-key",
        str(key.private),
        token=alice.token,
    )
    assert published.code == 0 and "signed by laptop" in published.out, published.err
    pulled = cli("pull", "alice/cli-signed", "--verify", "require")
    assert pulled.code == 0 and (Path(pulled.out.strip()) / "model.sig").is_file(), pulled.err
    listed = cli("keys", "list", "alice")
    assert listed.code == 0 and key_id in listed.out and "trusted" in listed.out
    revoked = cli("keys", "revoke", "alice", key_id, token=alice.token)
    assert revoked.code == 0 and "trusted: false" in revoked.out
    assert "revoked" in cli("keys", "list", "alice").out
    refused = cli("pull", "alice/cli-signed", "--verify", "require")
    assert refused.code == 1 and refused.err.startswith("error [UntrustedSigner]") and refused.err.count("\n") == 1


def test_refusals_through_the_cli_are_one_line_with_their_code(cli: Cli, alice, tmp_path: Path) -> None:
    registered, stranger = make_key(tmp_path / "a"), make_key(tmp_path / "b")
    assert cli("keys", "add", "alice", str(registered.public), token=alice.token).code == 0
    files = signed(tiny_lora_files(), stranger)
    untrusted = cli(
        "publish",
        str(write_folder(tmp_path / "u", files)),
        "--name",
        "alice/u",
        "--base-model",
        "t/b",
        token=alice.token,
    )
    assert untrusted.code == 1 and untrusted.err.startswith("error [UntrustedSigner]")
    tampered = signed(tiny_lora_files(), registered)
    tampered["notes.txt"] = b"added after signing\n"
    invalid = cli(
        "publish",
        str(write_folder(tmp_path / "t", tampered)),
        "--name",
        "alice/t",
        "--base-model",
        "t/b",
        token=alice.token,
    )
    assert invalid.code == 1 and invalid.err.startswith("error [SignatureInvalid]") and "notes.txt" in invalid.err
    assert cli("keys", "require", "alice", "on", token=alice.token).code == 0
    plain = cli(
        "publish",
        str(write_folder(tmp_path / "p", tiny_lora_files())),
        "--name",
        "alice/p",
        "--base-model",
        "t/b",
        token=alice.token,
    )
    assert plain.code == 1 and plain.err.startswith("error [SignatureRequired]") and plain.err.count("\n") == 1
    assert cli("info", "alice/p").code == 1  # nothing was stored
