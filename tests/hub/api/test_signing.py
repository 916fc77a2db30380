"""Verify at commit: model.sig checked against the hub's own digests and the namespace's signers; the keys API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import assert_error, publish, stored_state, tiny_lora_files
from tests.signing_support import issue, make_ca, make_key, signed


def _add_key(client, account, namespace: str, pem: str, name: str = "ci") -> dict:
    response = client.post(
        f"/api/namespaces/{namespace}/keys", json={"public_key": pem, "name": name}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def _versions(app) -> dict[str, int]:
    state = stored_state(app)
    return {key: state[key] for key in ("adapters", "versions", "files")}


def test_a_signed_publish_records_its_signer(client, alice, tmp_path: Path) -> None:
    key = make_key(tmp_path)
    added = _add_key(client, alice, "alice", key.public_pem)
    response = publish(client, alice, "alice/signed", signed(tiny_lora_files(), key))
    assert response.status_code == 201, response.text
    signature = response.json()["signature"]
    assert signature["key_id"] == added["key_id"] and signature["kind"] == "key"
    assert signature["signer"] == "ci" and signature["trusted"] is True and signature["verified_at"]
    assert "model.sig" in {f["path"] for f in response.json()["files"]}


def test_an_unsigned_publish_is_marked_unsigned(client, alice) -> None:
    response = publish(client, alice, "alice/plain", tiny_lora_files())
    assert response.status_code == 201 and response.json()["signature"] is None


@pytest.mark.parametrize(
    ("tamper", "code", "status", "words"),
    [
        ("other_bytes", "SignatureInvalid", 400, "README.md: the bytes differ from the signed ones"),
        ("added_file", "SignatureInvalid", 400, "does not cover notes.txt"),
        ("missing_file", "SignatureInvalid", 400, "README.md, which the version does not hold"),
        ("unknown_key", "UntrustedSigner", 403, "not a trusted signer"),
    ],
)
def test_refusals_store_nothing(client, app, alice, tmp_path: Path, tamper: str, code: str, status: int, words: str):
    key = make_key(tmp_path / "registered")
    _add_key(client, alice, "alice", key.public_pem)
    files = tiny_lora_files()
    bundle = signed(files, key)
    if tamper == "other_bytes":
        bundle["README.md"] += b"\nOne more line, after signing.\n"
    elif tamper == "added_file":
        bundle["notes.txt"] = b"added after signing\n"
    elif tamper == "missing_file":
        del bundle["README.md"]
    else:
        bundle = signed(files, make_key(tmp_path / "stranger"))
    before = _versions(app)
    body = assert_error(publish(client, alice, "alice/refused", bundle), status, code)
    assert words in body["message"]
    assert _versions(app) == before


def test_require_signatures_refuses_unsigned_and_a_revoked_key_refuses_new_versions(
    client, app, alice, tmp_path: Path
) -> None:
    key = make_key(tmp_path)
    added = _add_key(client, alice, "alice", key.public_pem)
    policy = client.put("/api/namespaces/alice/signing", json={"require_signatures": True}, headers=alice.headers)
    assert policy.status_code == 200 and client.get("/api/namespaces/alice/signing").json()["require_signatures"]
    before = _versions(app)
    assert_error(publish(client, alice, "alice/strict", tiny_lora_files()), 403, "SignatureRequired")
    assert _versions(app) == before
    assert publish(client, alice, "alice/strict", signed(tiny_lora_files(), key)).status_code == 201
    revoked = client.delete(f"/api/namespaces/alice/keys/{added['key_id']}", headers=alice.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    version = client.get("/api/adapters/alice/strict/versions/v1").json()
    assert version["signature"]["trusted"] is False  # not rewritten, but no longer trusted
    again = signed(tiny_lora_files(rank=8), key)
    body = assert_error(publish(client, alice, "alice/strict", again), 403, "UntrustedSigner")
    assert "revoked" in body["message"]
    listed = client.get("/api/namespaces/alice/keys").json()
    assert [(k["key_id"], bool(k["revoked_at"])) for k in listed] == [(added["key_id"], True)]


def test_only_owners_manage_keys_and_bad_pems_are_refused(client, alice, bob, tmp_path: Path) -> None:
    key = make_key(tmp_path)
    foreign = client.post("/api/namespaces/alice/keys", json={"public_key": key.public_pem}, headers=bob.headers)
    assert foreign.status_code == 403
    assert_error(
        client.post("/api/namespaces/alice/keys", json={"public_key": "not a pem"}, headers=alice.headers),
        400,
        "InvalidSignerKey",
    )
    missing = client.delete("/api/namespaces/alice/keys/" + "ab" * 32, headers=alice.headers)
    assert_error(missing, 404, "SignerKeyNotFound")


def test_certificate_signing_trusts_the_registered_identity_only(client, app, alice, tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    body = {"ca_certificate": ca.pem, "identity": "release@acme.example", "name": "acme CA"}
    response = client.post("/api/namespaces/alice/keys", json=body, headers=alice.headers)
    assert response.status_code == 201 and response.json()["kind"] == "certificate"
    release, release_cert = issue(ca, tmp_path / "release", "release@acme.example")
    files = signed(tiny_lora_files(), release, certificate=release_cert, chain=[ca.certificate])
    accepted = publish(client, alice, "alice/cert", files)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["signature"]["signer"] == "release@acme.example"
    intern, intern_cert = issue(ca, tmp_path / "intern", "intern@acme.example")
    other = signed(tiny_lora_files(rank=8), intern, certificate=intern_cert, chain=[ca.certificate])
    before = _versions(app)
    refused = assert_error(publish(client, alice, "alice/cert", other), 403, "UntrustedSigner")
    assert "intern@acme.example" in refused["message"]
    assert _versions(app) == before


def test_key_history_and_signed_publishes_are_in_the_audit_log(client, app, alice, tmp_path: Path) -> None:
    from hub.audit import recent_events

    key = make_key(tmp_path)
    added = _add_key(client, alice, "alice", key.public_pem)
    assert publish(client, alice, "alice/audited", signed(tiny_lora_files(), key)).status_code == 201
    client.delete(f"/api/namespaces/alice/keys/{added['key_id']}", headers=alice.headers)
    with app.state.session_factory() as session:
        events = list(reversed(recent_events(session, 10)))
    rows = [(e["action"], e["subject"], e["actor"]) for e in events if e["action"] != "token.create"]
    assert rows[-3:] == [
        ("signer.add", "alice", "alice"),
        ("publish", "alice/audited@v1", "alice"),
        ("signer.revoke", "alice", "alice"),
    ]
    assert events[-2]["detail"] == {"signed_by": added["key_id"], "signer": "ci"}


def test_signing_the_same_files_again_changes_nothing(client, alice, tmp_path: Path) -> None:
    key = make_key(tmp_path)
    _add_key(client, alice, "alice", key.public_pem)
    assert publish(client, alice, "alice/again", signed(tiny_lora_files(), key)).status_code == 201
    again = publish(client, alice, "alice/again", signed(tiny_lora_files(), key))  # a fresh, different model.sig
    assert again.status_code == 200 and again.json()["unchanged"] is True and again.json()["version"] == "v1"
