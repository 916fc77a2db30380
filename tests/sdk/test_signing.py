"""Signed publish and verified pull through the SDK against a live hub, with real keys and real model-signing."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.storage import blob_key
from sdk import Hub
from sdk.errors import DigestMismatch, SignatureInvalid, SignatureRequired, UntrustedSigner
from tests.helpers import tiny_lora_files
from tests.signing_support import KeyPair, make_key, signed, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")
MODEL_SIGNING = str(Path(sys.executable).with_name("model_signing"))


def _trusted_key(hub: Hub, tmp_path: Path, namespace: str = "alice") -> KeyPair:
    key = make_key(tmp_path / "keys")
    hub.add_signer(namespace, key.public_pem, name="release")
    return key


def _stock(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MODEL_SIGNING, *argv], capture_output=True, text=True, timeout=120, check=False)


def test_a_folder_signed_by_the_stock_cli_publishes_and_verifies_after_an_hf_download(
    hub: Hub, hub_url: str, tmp_path: Path
) -> None:
    key = _trusted_key(hub, tmp_path)
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    signing = _stock(
        "sign", "key", str(folder), "--private_key", str(key.private), "--signature", f"{folder}/model.sig"
    )
    assert signing.returncode == 0, signing.stderr
    version = hub.publish(folder, "alice/stock-signed", base_model="tiny/llama-test")
    assert version["signature"]["trusted"] is True and version["signature"]["signer"] == "release"
    local = tmp_path / "hf-download"
    env = {**os.environ, "HF_ENDPOINT": hub_url, "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_OFFLINE": "0"}
    script = "import sys, huggingface_hub as hf; hf.snapshot_download(sys.argv[1], local_dir=sys.argv[2])"
    downloaded = subprocess.run(
        [sys.executable, "-c", script, "alice/stock-signed", str(local)], env=env, capture_output=True, text=True
    )
    assert downloaded.returncode == 0, downloaded.stderr
    assert (local / "model.sig").read_bytes() == (folder / "model.sig").read_bytes()
    checked = _stock(
        "verify",
        "key",
        str(local),
        "--public_key",
        str(key.public),
        "--signature",
        f"{local}/model.sig",
        "--ignore-paths",
        str(local / ".cache"),
    )
    assert checked.returncode == 0 and "Verification succeeded" in checked.stdout, checked.stdout + checked.stderr


def test_publish_with_sign_key_then_pull_with_require(hub: Hub, tmp_path: Path) -> None:
    key = _trusted_key(hub, tmp_path)
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    version = hub.publish(folder, "alice/sdk-signed", base_model="tiny/llama-test", sign_key=key.private)
    assert version["signature"]["kind"] == "key" and not (folder / "model.sig").exists()  # the folder is untouched
    snapshot = hub.download("alice/sdk-signed", verify="require")
    assert (snapshot / "model.sig").is_file()
    pins = json.loads((hub.cache.hub_root / "trust" / "alice.json").read_text())
    assert [pin["key_id"] for pin in pins] == [version["signature"]["key_id"]]  # pinned at first use
    verified = _stock(
        "verify", "key", str(snapshot), "--public_key", str(key.public), "--signature", f"{snapshot}/model.sig"
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_require_refuses_unsigned_and_auto_says_it_is_unsigned(hub: Hub, tmp_path: Path, caplog) -> None:
    hub.publish(write_folder(tmp_path / "plain", tiny_lora_files()), "alice/plain", base_model="tiny/llama-test")
    with pytest.raises(SignatureRequired, match=r"alice/plain.* is unsigned"):
        hub.download("alice/plain", verify="require")
    with caplog.at_level(logging.WARNING, logger="sdk"):
        folder = hub.download("alice/plain", verify="auto")
    assert (folder / "adapter_config.json").is_file()
    assert any("is unsigned" in record.getMessage() for record in caplog.records)


def test_a_byte_flipped_in_the_blob_store_is_refused_naming_the_file(hub: Hub, app, tmp_path: Path) -> None:
    key = _trusted_key(hub, tmp_path)
    files = tiny_lora_files()
    version = hub.publish(
        write_folder(tmp_path / "a", files), "alice/served", base_model="tiny/llama-test", sign_key=key.private
    )
    weights = next(f for f in version["files"] if f["path"] == "adapter_model.safetensors")
    tampered = bytearray(files["adapter_model.safetensors"])
    tampered[-1] ^= 0x01
    app.state.storage.put_bytes(blob_key(weights["sha256"]), bytes(tampered))
    with pytest.raises(DigestMismatch, match=r"adapter_model\.safetensors"):
        hub.download("alice/served", verify="require")


def test_a_byte_flipped_in_the_client_cache_is_refused_naming_the_file(hub: Hub, tmp_path: Path) -> None:
    key = _trusted_key(hub, tmp_path)
    hub.publish(
        write_folder(tmp_path / "a", tiny_lora_files()),
        "alice/cached",
        base_model="tiny/llama-test",
        sign_key=key.private,
    )
    snapshot = hub.download("alice/cached", verify="require")
    weights = snapshot / "adapter_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(SignatureInvalid, match=r"adapter_model\.safetensors: the bytes differ from the signed ones"):
        hub.download("alice/cached", verify="require")
    assert hub.download("alice/cached", verify="off") == snapshot  # off: the caller chose not to check


def test_a_revoked_key_is_refused_by_require_and_reported_by_auto(hub: Hub, tmp_path: Path, caplog) -> None:
    key = _trusted_key(hub, tmp_path)
    version = hub.publish(
        write_folder(tmp_path / "a", tiny_lora_files()), "alice/old", base_model="tiny/llama-test", sign_key=key.private
    )
    hub.revoke_signer("alice", version["signature"]["key_id"])
    assert hub.version("alice/old")["signature"]["trusted"] is False
    with pytest.raises(UntrustedSigner, match="revoked"):
        hub.download("alice/old", verify="require")
    with caplog.at_level(logging.WARNING, logger="sdk"):
        hub.download("alice/old", verify="auto")
    assert any("since revoked" in record.getMessage() for record in caplog.records)


def test_a_local_trust_file_replaces_the_hubs_list(hub_url: str, hub: Hub, tmp_path: Path) -> None:
    key = _trusted_key(hub, tmp_path)
    hub.publish(
        write_folder(tmp_path / "a", tiny_lora_files()),
        "alice/pinned",
        base_model="tiny/llama-test",
        sign_key=key.private,
    )
    other = make_key(tmp_path / "other")
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"alice": [{"key_id": "0" * 64, "kind": "key", "public_key": other.public_pem}]}))
    with (
        Hub(hub_url, cache_dir=tmp_path / "cache2", trust_file=trust) as strict,
        pytest.raises(UntrustedSigner, match="not a trusted signer"),
    ):
        strict.download("alice/pinned", verify="require")


def test_an_unregistered_key_is_refused_through_the_sdk(hub: Hub, tmp_path: Path) -> None:
    _trusted_key(hub, tmp_path)
    stranger = make_key(tmp_path / "stranger")
    with pytest.raises(UntrustedSigner):
        hub.publish(write_folder(tmp_path / "a", signed(tiny_lora_files(), stranger)), "alice/x", base_model="t/b")
    assert hub.search().total == 0


def test_certificate_signing_through_the_sdk_publishes_and_verifies_on_pull(hub: Hub, tmp_path: Path) -> None:
    from tests.signing_support import issue, make_ca

    ca = make_ca(tmp_path / "ca")
    hub.add_signer("alice", ca_certificate=ca.pem, identity="release@acme.example", name="acme")
    key, certificate = issue(ca, tmp_path / "release", "release@acme.example")
    version = hub.publish(
        write_folder(tmp_path / "a", tiny_lora_files()),
        "alice/cert",
        base_model="tiny/llama-test",
        sign_key=key.private,
        sign_certificate=certificate,
        certificate_chain=[ca.certificate],
    )
    assert version["signature"]["kind"] == "certificate" and version["signature"]["signer"] == "release@acme.example"
    assert (hub.download("alice/cert", verify="require") / "model.sig").is_file()
