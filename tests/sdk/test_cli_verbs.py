"""The verbs users reach for: check, tag, delete, whoami, logout and `org`, against a live hub."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sdk.formats.compat import ModelStructure
from tests.helpers import tiny_lora_files
from tests.sdk.test_support import write_folder

if TYPE_CHECKING:  # imported by pytest_plugins; importing it here first would skip its assertion rewriting
    from tests.sdk.cli_support import Cli

pytest_plugins = ["tests.sdk.test_support", "tests.sdk.cli_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")
# The tiny Llama of tests/helpers.py (hidden 64, 2 KV heads of 16): the modules its LoRA adapts.
STRUCTURE = "".join(
    f"model.layers.{i}.self_attn.{proj} linear 64 {out}\n"
    for i in range(2)
    for proj, out in (("q_proj", 64), ("v_proj", 32))
)


@pytest.fixture
def lora(hub, tmp_path: Path) -> str:
    hub.publish(write_folder(tmp_path / "v1", tiny_lora_files()), "alice/verbs", base_model="tiny/llama-test")
    return "alice/verbs"


def test_check_reads_a_structure_file_and_exits_1_when_it_does_not_fit(cli: Cli, lora: str, tmp_path: Path) -> None:
    fits, short = tmp_path / "fits.txt", tmp_path / "short.txt"
    fits.write_text(STRUCTURE)
    short.write_text("".join(STRUCTURE.splitlines(keepends=True)[1:]))
    ok = cli("check", lora, "--base-structure", str(fits))
    assert (ok.code, ok.out.splitlines()[0]) == (0, "compatible (4 adapter modules checked)")
    bad = cli("check", f"{lora}@v1", "--base-structure", str(short), "--json")
    report = json.loads(bad.out)
    assert bad.code == 1 and report["ok"] is False
    assert [(p["module"], p["kind"]) for p in report["problems"]] == [
        ("model.layers.0.self_attn.q_proj", "missing_module")
    ]


def test_check_reads_the_json_form_from_stdin(cli: Cli, lora: str, monkeypatch: pytest.MonkeyPatch) -> None:
    as_json = json.dumps(ModelStructure.from_text(STRUCTURE).to_dict())
    monkeypatch.setattr("sys.stdin", io.StringIO(as_json))
    ran = cli("check", lora, "--base-structure", "-")
    assert ran.code == 0 and ran.out.startswith("compatible")


@pytest.mark.slow
def test_check_builds_a_model_folder_without_weights(cli: Cli, lora: str, tmp_path: Path) -> None:
    import transformers

    config = transformers.LlamaConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=100, architectures=["LlamaForCausalLM"],
    )  # fmt: skip
    config.save_pretrained(tmp_path / "base")
    assert cli("check", lora, "--model-dir", str(tmp_path / "base")).out.startswith("compatible")
    config.num_hidden_layers = 1
    config.save_pretrained(tmp_path / "smaller")
    smaller = cli("check", lora, "--model-dir", str(tmp_path / "smaller"))
    assert smaller.code == 1 and "[layer_count]" in smaller.out and "model.layers.1.self_attn.q_proj" in smaller.out


def test_tag_then_delete_a_version_then_the_adapter(cli: Cli, hub, alice, lora: str, tmp_path: Path) -> None:
    hub.publish(write_folder(tmp_path / "v2", tiny_lora_files(seed=2)), lora)
    tagged = cli("tag", lora, "stable", "v1", token=alice.token)
    v1 = hub.version(lora, revision="v1")["revision"]
    assert tagged.code == 0 and tagged.out == f"{lora}: stable -> v1 (revision {v1[:12]})\n"
    assert hub.info(lora)["refs"] == {"main": "v2", "stable": "v1"}

    deleted = cli("delete", f"{lora}@v2", "--yes", token=alice.token)
    assert deleted.code == 0 and deleted.out == f"Deleted {lora}@v2.\n"
    assert [v["version"] for v in hub.info(lora)["versions"]] == ["v1"]
    gone = cli("delete", lora, "--yes", token=alice.token)
    assert gone.code == 0 and gone.out == f"Deleted {lora} and all its versions.\n"
    assert cli("info", lora).err.startswith("error [AdapterNotFound]")


def test_delete_needs_the_owner(cli: Cli, bob, lora: str) -> None:
    refused = cli("delete", lora, "--yes", token=bob.token)
    assert refused.code == 1 and refused.err.startswith("error [Forbidden]")
    assert cli("info", lora).code == 0


def test_whoami_then_logout(cli: Cli, alice, hub_url: str, tmp_path: Path) -> None:
    assert cli("login", "--token", alice.token).code == 0
    me = cli("whoami")
    assert me.code == 0 and me.out == f"alice on {hub_url}; namespaces: alice\n"
    token_file = tmp_path / "config" / "adapter-hub" / "token"
    out = cli("logout")
    assert out.code == 0 and out.out == f"Logged out: removed the token saved in {token_file}.\n"
    assert not token_file.exists()
    assert cli("whoami").err.startswith("error [AuthenticationRequired]")
    again = cli("logout", token=alice.token)
    assert again.out == f"No token was saved in {token_file}.\n" and "HUB_TOKEN is set" in again.err


def test_org_create_add_members_remove(cli: Cli, alice, bob) -> None:
    created = cli("org", "create", "acme", token=alice.token)
    assert created.code == 0 and created.out == "Organisation acme created; you are its owner.\n"
    added = cli("org", "add", "acme", "bob", "--role", "write", token=alice.token)
    assert added.code == 0 and added.out == "bob is now write in acme.\n"
    members = cli("org", "members", "acme", token=bob.token)
    assert [line.split()[:2] for line in members.out.splitlines()] == [["USER", "ROLE"], ["alice", "owner"],
                                                                       ["bob", "write"]]  # fmt: skip
    assert "acme" in cli("whoami", token=bob.token).out
    not_owner = cli("org", "remove", "acme", "alice", token=bob.token)
    assert not_owner.code == 1 and not_owner.err.startswith("error [Forbidden]")
    removed = cli("org", "remove", "acme", "bob", token=alice.token)
    assert removed.code == 0 and removed.out == "bob is no longer a member of acme.\n"
    assert [line.split()[0] for line in cli("org", "members", "acme", token=alice.token).out.splitlines()] == [
        "USER",
        "alice",
    ]
