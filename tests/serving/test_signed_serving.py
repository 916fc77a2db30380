"""`hub sync` and the resolver the vLLM plugin calls verify signatures as Hub.pull does (HUB_VERIFY=require)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sdk import Hub
from sdk.serving.resolve import Refused, resolve
from tests.helpers import TINY_LLAMA, tiny_lora_files
from tests.sdk.test_support import write_folder
from tests.serving.test_sync import changes, write_base
from tests.signing_support import make_key

if TYPE_CHECKING:
    from tests.sdk.cli_support import Cli

pytest_plugins = ["tests.sdk.test_support", "tests.sdk.cli_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


@pytest.fixture
def publisher(hub_url: str, alice: Any, tmp_path: Path) -> Iterator[Hub]:
    with Hub(hub_url, token=alice.token, cache_dir=tmp_path / "publisher-cache") as hub:
        yield hub


def _publish(hub: Hub, tmp_path: Path, repo: str, seed: int, **signing: Any) -> dict[str, Any]:
    folder = write_folder(tmp_path / "src" / repo.replace("/", "--"), tiny_lora_files(seed=seed))
    version = hub.publish(folder, repo, base_model=TINY_LLAMA.model_id, **signing)
    hub.move_tag(repo, "stable", version["version"])
    return version


def test_sync_with_require_installs_signed_adapters_and_refuses_unsigned_ones(
    cli: Cli, publisher: Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key(tmp_path / "keys")
    publisher.add_signer("alice", key.public_pem, name="release")
    signed = _publish(publisher, tmp_path, "alice/signed", 1, sign_key=key.private)
    _publish(publisher, tmp_path, "alice/unsigned", 2)
    monkeypatch.setenv("HUB_VERIFY", "require")
    target = tmp_path / "served"
    ran = cli("sync", str(target), "--base", str(write_base(tmp_path / "base")))
    assert ran.code == 0, ran.err
    assert changes(ran.out) == [f"add alice/signed v1 (revision {signed['revision'][:12]}) as alice--signed"]
    assert "refuse to add alice/unsigned v1" in ran.out and "[SignatureRequired]" in ran.out
    assert (target / "alice--signed" / "model.sig").is_file() and not (target / "alice--unsigned").exists()


def test_the_resolver_refuses_what_does_not_verify(hub_url: str, publisher: Hub, tmp_path: Path) -> None:
    _publish(publisher, tmp_path, "alice/plain", 3)
    with (
        Hub(hub_url, cache_dir=tmp_path / "engine-cache", verify="require") as engine,
        pytest.raises(Refused, match=r"signature did not verify.*SignatureRequired"),
    ):
        resolve(engine, "alice/plain", None)
    with Hub(hub_url, cache_dir=tmp_path / "engine-cache", verify="auto") as engine:
        assert (resolve(engine, "alice/plain", None).folder / "adapter_config.json").is_file()
