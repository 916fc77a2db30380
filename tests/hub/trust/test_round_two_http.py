"""Issue 18 ("Trust, round two"), the HTTP items, on both backends: who may cache a pinned file (4), ranges,
page numbers and JSON nesting that used to be 500s (13), form bodies that used to be 404s (20), and If-Range (21).

The hostile inputs that are plain refusals are also rows of the corpus (tests/hub/trust/test_corpus.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.helpers import assert_error, publish, stored_state, tiny_lora_files
from tests.web.test_pages import HTML, csrf_of, sign_in

WEIGHTS = "adapter_model.safetensors"
SURFACES = {  # the native download route and the Hugging Face one, at a revision
    "native": "/api/adapters/{adapter}/versions/{revision}/files/{path}",
    "resolve": "/{adapter}/resolve/{revision}/{path}",
}
HUGE = "9" * 5_000  # past Python's int() limit of 4,300 digits


def url(surface: str, adapter: str, revision: str = "main", path: str = WEIGHTS) -> str:
    return SURFACES[surface].format(adapter=adapter, revision=revision, path=path)


@pytest.fixture
def weights(client, alice) -> tuple[dict[str, Any], bytes]:
    files = tiny_lora_files(seed=3)
    version = publish(client, alice, "alice/open", files)
    assert version.status_code == 201, version.text
    return version.json(), files[WEIGHTS]


# --- item 4: a private file is never stored by a shared cache ---------------------------------------


@pytest.mark.parametrize("surface", SURFACES)
def test_pinned_downloads_are_public_only_for_public_adapters(client, alice, weights, surface):
    secret = publish(client, alice, "alice/secret", tiny_lora_files(seed=4), private=True)
    assert secret.status_code == 201, secret.text
    open_revision, secret_revision = weights[0]["revision"], secret.json()["revision"]
    for method in ("GET", "HEAD"):
        private = client.request(method, url(surface, "alice/secret", secret_revision), headers=alice.headers)
        assert private.status_code == 200, private.text
        assert private.headers["Cache-Control"] == "private, max-age=31536000, immutable"
        public = client.request(method, url(surface, "alice/open", open_revision))
        assert public.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # "main" moves with every publish: revalidate each time (and, if private, in the reader's cache only).
        assert client.request(method, url(surface, "alice/open")).headers["Cache-Control"] == "no-cache"
        moving = client.request(method, url(surface, "alice/secret"), headers=alice.headers)
        assert moving.headers["Cache-Control"] == "private, no-cache"


def test_a_file_turns_private_with_its_adapter(client, alice, weights):
    """The rule reads the adapter's visibility now, not at publish: PATCH private:true changes the header."""
    pinned = url("native", "alice/open", weights[0]["revision"])
    assert client.get(pinned).headers["Cache-Control"].startswith("public,")
    hidden = client.patch("/api/adapters/alice/open", json={"private": True}, headers=alice.headers)
    assert hidden.status_code == 200, hidden.text
    assert client.get(pinned, headers=alice.headers).headers["Cache-Control"].startswith("private,")


# --- item 13: no 500 for numbers past int() or SQL limits, nor for deeply nested JSON ---------------

# Numbers in a Range are compared with the file's size as they are, however long: a first byte past the end
# is 416 (RFC 9110 14.1.2), a last byte or a suffix longer than the file means "to the end" (the whole file).
HUGE_RANGES = {
    f"bytes={HUGE}-": None,
    f"bytes={HUGE}-{HUGE}": None,
    f"bytes=0-{HUGE}": slice(0, None),
    f"bytes=-{HUGE}": slice(0, None),
    f"bytes={'0' * 5_000}8-{'0' * 5_000}99": slice(8, 100),  # leading zeros count towards int()'s limit too
}


@pytest.mark.parametrize("surface", SURFACES)
@pytest.mark.parametrize("header", HUGE_RANGES, ids=["huge-start", "huge-both", "huge-end", "huge-suffix", "zeros"])
def test_a_range_of_thousands_of_digits_is_416_or_served(client, weights, surface, header):
    data, expected = weights[1], HUGE_RANGES[header]
    response = client.get(url(surface, "alice/open"), headers={"Range": header})
    if expected is None:
        assert response.status_code == 416 and response.headers["X-Error-Code"] == "RangeNotSatisfiable"
        assert response.headers["Content-Range"] == f"bytes */{len(data)}"
        assert len(response.headers["X-Error-Code"] + response.text) < 1_000  # the header is not echoed whole
    else:
        assert response.status_code == 206, response.text
        assert response.content == data[expected]
        end = len(data) if expected.stop is None else expected.stop
        assert response.headers["Content-Range"] == f"bytes {expected.start}-{end - 1}/{len(data)}"


def test_an_empty_file_satisfies_no_range(client, alice):
    files = {**tiny_lora_files(), "empty.txt": b""}
    assert publish(client, alice, "alice/empty", files).status_code == 201
    for header in ("bytes=-5", "bytes=0-", f"bytes=-{HUGE}"):
        response = client.get(url("native", "alice/empty", path="empty.txt"), headers={"Range": header})
        assert_error(response, 416, "RangeNotSatisfiable")
        assert response.headers["Content-Range"] == "bytes */0"


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63), "0", "-1", "1e3"])
def test_a_namespace_page_number_out_of_range_is_422(client, alice, page):
    assert publish(client, alice, "alice/listed", tiny_lora_files()).status_code == 201
    assert_error(client.get(f"/alice?page={page}"), 422, "InvalidRequest")
    styled = client.get(f"/alice?page={page}", headers=HTML)
    assert styled.status_code == 422 and styled.headers["content-type"].startswith("text/html")
    assert "page" in styled.text and "Traceback" not in styled.text
    assert client.get("/alice?page=1", headers=HTML).status_code == 200
    assert client.get("/alice?page=1000", headers=HTML).status_code == 200  # past the last page: empty, not an error


def test_an_id_past_64_bits_is_422_on_both_engines(client, alice):
    """The web revoke form takes any integer id: SQLite's driver refused it with a bare OverflowError (a 500),
    PostgreSQL with DataError (a JSON 422 even for browsers). Now both are the same styled 422."""
    sign_in(client, alice)
    csrf = csrf_of(client, "/tokens")
    for token_id in (2**63, 2**64):
        refused = client.post(f"/tokens/{token_id}/revoke", data={"csrf": csrf}, headers=HTML)
        assert refused.status_code == 422 and refused.headers["X-Error-Code"] == "InvalidRequest"
        assert refused.headers["content-type"].startswith("text/html") and "number out of range" in refused.text
    assert_error(client.post(f"/tokens/{2**63}/revoke", data={"csrf": csrf}), 422, "InvalidRequest")


@pytest.mark.parametrize("depth", [129, 100_000])
def test_json_nested_past_the_depth_limit_is_refused_at_put(app, client, alice, depth):
    files = {**tiny_lora_files(), "extra.json": b"[" * depth + b"]" * depth}
    started = client.post(
        "/api/adapters/alice/nested/uploads",
        json={"files": [{"path": p, "sha256": _sha(d), "size": len(d)} for p, d in files.items()]},
        headers=alice.headers,
    )
    extra = next(blob["url"] for blob in started.json()["missing"] if blob["path"] == "extra.json")
    before, clock = stored_state(app), time.monotonic()
    body = assert_error(client.put(extra, content=files["extra.json"], headers=alice.headers), 400, "InvalidTextFile")
    assert time.monotonic() - clock < 1
    assert "extra.json" in body["message"] and "128" in body["message"]
    assert stored_state(app) == before


def test_json_at_the_depth_limit_and_brackets_in_strings_are_accepted(client, alice):
    deep = b"[" * 128 + b"]" * 128
    brackets_in_text = b'{"a": "' + b"[" * 1_000 + b'", "b": "\\"[[[\\\\"}'
    files = {**tiny_lora_files(), "deep.json": deep, "text.json": brackets_in_text}
    response = publish(client, alice, "alice/deep", files)
    assert response.status_code == 201, response.text


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# --- item 20: form bodies the parser refuses are a 4xx with a code, and the paste limit holds ---------

COMPAT = "/alice/llama/compat"


def _module_lines(count: int) -> str:
    adapted = [f"model.layers.{i}.self_attn.{m} 64 {o}" for i in range(2) for m, o in (("q_proj", 64), ("v_proj", 32))]
    return "\n".join(adapted + [f"model.extra.{i}.proj 64 64" for i in range(count)])


@pytest.fixture
def compat_form(client, alice) -> str:
    assert publish(client, alice, "alice/llama", tiny_lora_files()).status_code == 201
    return csrf_of(client, "/alice/llama")


def test_a_paste_over_one_megabyte_is_checked(client, compat_form):
    structure = _module_lines(60_000)
    assert 1_400_000 < len(structure) < 2_000_000
    response = client.post(COMPAT, data={"structure": structure, "csrf": compat_form}, headers=HTML)
    assert response.status_code == 200, response.text[:500]
    assert "<strong>Compatible</strong> with the pasted structure" in response.text


def test_a_paste_over_the_limit_is_refused_with_a_code(client, compat_form):
    over = _module_lines(90_000)
    assert len(over) > 2_000_000
    refused = client.post(COMPAT, data={"structure": over, "csrf": compat_form})
    body = assert_error(refused, 422, "InvalidRequest")
    assert "2000000" in body["message"]
    styled = client.post(COMPAT, data={"structure": over, "csrf": compat_form}, headers=HTML)
    assert styled.status_code == 422 and styled.headers["content-type"].startswith("text/html")
    # Past what the form parser holds at all (3 bytes per character): refused while parsing, with the same code.
    huge = client.post(COMPAT, data={"structure": "x" * 7_000_000, "csrf": compat_form}, headers=HTML)
    assert huge.status_code == 422 and huge.headers["X-Error-Code"] == "InvalidRequest"
    assert "maximum size" in huge.text and huge.headers["content-type"].startswith("text/html")


MALFORMED_BODIES = {
    "multipart without a boundary": ({"Content-Type": "multipart/form-data"}, b"csrf=x"),
    "multipart with a broken part": (
        {"Content-Type": "multipart/form-data; boundary=b"},
        b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nx\r\n--b\r\nnonsense\r\n\r\n',
    ),
    # Over 1 MB (Starlette's default) for most forms, over the 6 MB the compat paste takes (3 bytes a character).
    "urlencoded field over the limit": (
        {"Content-Type": "application/x-www-form-urlencoded"},
        b"csrf=" + b"x" * 6_000_001,
    ),
    "urlencoded with 1,001 fields": (
        {"Content-Type": "application/x-www-form-urlencoded"},
        "&".join(f"f{i}=1" for i in range(1_001)).encode(),
    ),
}
FORM_ROUTES = ["/login", "/logout", "/tokens", "/tokens/1/revoke", "/new", COMPAT]


@pytest.mark.parametrize("route", FORM_ROUTES)
@pytest.mark.parametrize("kind", MALFORMED_BODIES)
def test_every_web_form_refuses_a_body_it_cannot_read_with_a_code(client, alice, route, kind):
    if route == COMPAT:  # the others need no adapter
        assert publish(client, alice, "alice/llama", tiny_lora_files()).status_code == 201
    sign_in(client, alice)
    headers, body = MALFORMED_BODIES[kind]
    machine = client.post(route, content=body, headers=headers)
    assert_error(machine, 422, "InvalidRequest")
    page = client.post(route, content=body, headers={**headers, **HTML})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert page.headers["X-Error-Code"] == "InvalidRequest" and "No such route" not in page.text


# --- item 21: If-Range ------------------------------------------------------------------------------

DATE = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize("surface", SURFACES)
def test_if_range_gives_the_part_only_for_the_same_file(client, weights, surface):
    data = weights[1]
    etag = client.head(url(surface, "alice/open")).headers["ETag"]
    same = client.get(url(surface, "alice/open"), headers={"Range": "bytes=8-99", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[8:100]
    for stale in ('"' + "0" * 64 + '"', f"W/{etag}", DATE, "garbage"):
        whole = client.get(url(surface, "alice/open"), headers={"Range": "bytes=8-99", "If-Range": stale})
        assert whole.status_code == 200, stale
        assert whole.content == data and "Content-Range" not in whole.headers
        assert whole.headers["Content-Length"] == str(len(data))
    # A range outside the file is not checked when If-Range asks for the whole file anyway.
    outside = client.get(url(surface, "alice/open"), headers={"Range": f"bytes={len(data)}-", "If-Range": DATE})
    assert outside.status_code == 200 and outside.content == data
    # Without a Range, If-Range means nothing (RFC 9110 13.1.5).
    assert client.get(url(surface, "alice/open"), headers={"If-Range": etag}).status_code == 200


class TestWithRedirectsToStorage:
    """HUB_S3_REDIRECT_DOWNLOADS: the client repeats its Range to the storage, which knows nothing of If-Range
    against the hub's ETag, so a Range the hub ignores is streamed whole by the hub instead of redirected."""

    @pytest.fixture
    def backend(self) -> str:
        return "postgres-s3"  # the only backend whose storage presigns

    @pytest.fixture
    def settings(self, settings):
        return settings.model_copy(update={"s3_redirect_downloads": True})

    @pytest.mark.parametrize("surface", SURFACES)
    def test_a_stale_if_range_is_served_whole_by_the_hub(self, client, weights, surface):
        data, address = weights[1], url(surface, "alice/open")
        etag = client.head(address).headers["ETag"]
        matching = client.get(address, headers={"Range": "bytes=8-99", "If-Range": etag}, follow_redirects=False)
        assert matching.status_code == 302  # storage serves the range, as without If-Range
        for stale in ('"' + "0" * 64 + '"', DATE):
            headers = {"Range": "bytes=8-99", "If-Range": stale}
            whole = client.get(address, headers=headers, follow_redirects=False)
            assert whole.status_code == 200 and whole.content == data, stale
        assert client.get(address, follow_redirects=False).status_code == 302
