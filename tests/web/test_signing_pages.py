"""Signing on the web: the keys settings page (CSRF forms), "Signed by"/"Unsigned" on the adapter page, and the
publish form's refusals (each with its code, nothing stored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import stored_state, tiny_lora_files
from tests.signing_support import make_key, signed
from tests.web.test_pages import HTML, csrf_of, sign_in


def _keys_page(client) -> str:
    page = client.get("/settings/alice/keys", headers=HTML)
    assert page.status_code == 200
    return page.text


def _add_key(client, pem: str, name: str = "release") -> None:
    form = {"csrf": csrf_of(client, "/settings/alice/keys"), "public_key": pem, "name": name}
    assert client.post("/settings/alice/keys", data=form, follow_redirects=False).status_code == 303


def _publish_form(client, name: str, files: dict[str, bytes]):
    data = {"csrf": csrf_of(client, "/new"), "namespace": "alice", "name": name}
    return client.post("/new", data=data, files=[("files", (p, d)) for p, d in files.items()], follow_redirects=False)


def test_owners_add_and_revoke_keys_and_set_the_policy(client, alice, bob, tmp_path: Path) -> None:
    sign_in(client, alice)
    key = make_key(tmp_path)
    _add_key(client, key.public_pem)
    page = _keys_page(client)
    assert "release" in page and "trusted" in page
    refused = client.post(
        "/settings/alice/keys", data={"csrf": csrf_of(client, "/settings/alice/keys"), "public_key": "nope"}
    )
    assert refused.status_code == 400 and "Not a usable PEM" in refused.text
    no_csrf = client.post("/settings/alice/keys", data={"public_key": key.public_pem})
    assert no_csrf.status_code in (400, 403)
    csrf = csrf_of(client, "/settings/alice/keys")
    assert (
        client.post(
            "/settings/alice/keys/policy", data={"csrf": csrf, "require": "yes"}, follow_redirects=False
        ).status_code
        == 303
    )
    assert 'name="require" value="yes" checked' in _keys_page(client)
    key_id = client.get("/api/namespaces/alice/keys").json()[0]["key_id"]
    unconfirmed = client.post(f"/settings/alice/keys/{key_id}/revoke", data={"csrf": csrf})
    assert unconfirmed.status_code == 400 and client.get("/api/namespaces/alice/keys").json()[0]["revoked_at"] is None
    revoked = client.post(
        f"/settings/alice/keys/{key_id}/revoke", data={"csrf": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert revoked.status_code == 303 and "revoked" in _keys_page(client)
    client.cookies.clear()
    sign_in(client, bob)
    assert client.get("/settings/alice/keys", headers=HTML).status_code == 403


def test_the_adapter_page_says_signed_by_or_unsigned(client, alice, tmp_path: Path) -> None:
    sign_in(client, alice)
    key = make_key(tmp_path)
    _add_key(client, key.public_pem, name="release key")
    assert _publish_form(client, "signed", signed(tiny_lora_files(), key)).status_code == 303
    assert _publish_form(client, "plain", tiny_lora_files()).status_code == 303
    assert "Signed by release key" in client.get("/alice/signed", headers=HTML).text
    assert "Unsigned" in client.get("/alice/plain", headers=HTML).text


@pytest.mark.parametrize("case", ["other_bytes", "added_file", "missing_file", "unknown_key", "unsigned", "revoked"])
def test_the_publish_form_refuses_with_the_code_and_stores_nothing(client, app, alice, tmp_path: Path, case: str):
    sign_in(client, alice)
    key = make_key(tmp_path / "registered")
    _add_key(client, key.public_pem)
    files = signed(tiny_lora_files(), key)
    expected = {"other_bytes": 400, "added_file": 400, "missing_file": 400}.get(case, 403)
    if case == "other_bytes":
        files["README.md"] += b"\nchanged after signing\n"
    elif case == "added_file":
        files["notes.txt"] = b"added after signing\n"
    elif case == "missing_file":
        del files["README.md"]
    elif case == "unknown_key":
        files = signed(tiny_lora_files(), make_key(tmp_path / "stranger"))
    elif case == "unsigned":
        files = tiny_lora_files()
        csrf = csrf_of(client, "/settings/alice/keys")
        client.post("/settings/alice/keys/policy", data={"csrf": csrf, "require": "yes"})
    else:
        key_id = client.get("/api/namespaces/alice/keys").json()[0]["key_id"]
        csrf = csrf_of(client, "/settings/alice/keys")
        client.post(f"/settings/alice/keys/{key_id}/revoke", data={"csrf": csrf, "confirm": "yes"})
    before = stored_state(app)
    response = _publish_form(client, "refused", files)
    assert response.status_code == expected, response.text
    code = {"unknown_key": "UntrustedSigner", "revoked": "UntrustedSigner", "unsigned": "SignatureRequired"}
    assert response.headers["X-Error-Code"] == code.get(case, "SignatureInvalid")
    words = {
        "other_bytes": "differ from the signed",
        "added_file": "does not cover notes.txt",
        "missing_file": "which the version does not hold",
        "unknown_key": "not a trusted signer",
        "unsigned": "accepts signed versions only",
        "revoked": "was revoked",
    }[case]
    assert words in response.text
    after = stored_state(app)
    assert {k: after[k] for k in ("adapters", "versions", "files")} == {
        k: before[k] for k in ("adapters", "versions", "files")
    }
