"""HTTP caching of the JSON reads (hub/api/caching.py), API and Hugging Face routes, on both backends.

A strong ETag per document and 304 on a matching If-None-Match; a new ETag after a publish or a tag move;
Cache-Control by route kind (pinned revision or moving name) and visibility; Vary: Authorization; HEAD.
"""

from __future__ import annotations

from tests.helpers import publish, tiny_lora_files

IMMUTABLE = "public, max-age=31536000, immutable"
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"


def _publish_two(client, alice, adapter: str = "alice/cached") -> tuple[str, str]:
    first = publish(client, alice, adapter, tiny_lora_files(seed=1)).json()["revision"]
    second = publish(client, alice, adapter, tiny_lora_files(seed=2)).json()["revision"]
    return first, second


def _moving_urls(adapter: str = "alice/cached") -> list[str]:
    return [
        "/api/adapters?q=cached",
        f"/api/adapters/{adapter}",
        f"/api/adapters/{adapter}/versions/main",
        f"/api/adapters/{adapter}/versions/v1",
        f"/api/models/{adapter}",
        f"/api/models/{adapter}/revision/main",
        f"/api/models/{adapter}/tree/main",
    ]


def _pinned_urls(revision: str, adapter: str = "alice/cached") -> list[str]:
    return [
        f"/api/adapters/{adapter}/versions/{revision}",
        f"/api/models/{adapter}/revision/{revision}",
        f"/api/models/{adapter}/tree/{revision}",
    ]


def test_every_json_read_answers_304_to_a_matching_if_none_match(client, alice):
    first, _ = _publish_two(client, alice)
    for url in _moving_urls() + _pinned_urls(first):
        answer = client.get(url)
        etag = answer.headers["ETag"]
        assert answer.status_code == 200 and etag.startswith('"') and answer.content, url
        for header in (etag, f'"other", W/{etag}', "*", f'W/{etag}, "x"'):
            again = client.get(url, headers={"If-None-Match": header})
            assert again.status_code == 304 and again.content == b"", (url, header)
            assert again.headers["ETag"] == etag and again.headers["Vary"] == "Authorization", url
            assert again.headers["Cache-Control"] == answer.headers["Cache-Control"], url
        assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200, url
    # Only a document that exists is "not modified": a missing one is still its 404.
    assert client.get("/api/adapters/alice/nothing", headers={"If-None-Match": "*"}).status_code == 404
    assert client.get("/api/models/alice/cached/revision/v9", headers={"If-None-Match": "*"}).status_code == 404


def test_the_same_document_has_the_same_etag_and_the_body_is_unchanged(client, alice):
    first, _ = _publish_two(client, alice)
    url = f"/api/adapters/alice/cached/versions/{first}"
    one, two = client.get(url), client.get(url)
    assert one.headers["ETag"] == two.headers["ETag"]
    assert one.json()["revision"] == first and one.headers["content-type"] == "application/json"


def test_a_publish_gives_every_moving_document_a_new_etag(client, alice):
    publish(client, alice, "alice/cached", tiny_lora_files(seed=1))
    old = {url: client.get(url).headers["ETag"] for url in _moving_urls() if not url.endswith("/v1")}
    publish(client, alice, "alice/cached", tiny_lora_files(seed=2))
    for url, etag in old.items():
        answer = client.get(url, headers={"If-None-Match": etag})
        assert answer.status_code == 200 and answer.headers["ETag"] != etag, url


def test_a_tag_move_gives_the_tag_a_new_etag_and_the_new_version(client, alice):
    first, second = _publish_two(client, alice)
    urls = ["/api/adapters/alice/cached/versions/stable", "/api/models/alice/cached/revision/stable"]
    assert client.put(
        "/api/adapters/alice/cached/refs/stable", json={"revision": "v1"}, headers=alice.headers
    ).is_success
    before = {url: client.get(url) for url in urls}
    moved = client.put("/api/adapters/alice/cached/refs/stable", json={"revision": "v2"}, headers=alice.headers)
    assert moved.is_success
    for url, answer in before.items():
        after = client.get(url, headers={"If-None-Match": answer.headers["ETag"]})
        assert after.status_code == 200 and after.headers["ETag"] != answer.headers["ETag"], url
        assert after.headers["Cache-Control"] == "no-cache", url
    assert before[urls[0]].json()["revision"] == first
    assert client.get(urls[0]).json()["revision"] == client.get(urls[1]).json()["sha"] == second


def test_cache_control_is_immutable_for_pinned_revisions_and_no_cache_for_moving_names(client, alice):
    first, _ = _publish_two(client, alice)
    for url in _pinned_urls(first):
        assert client.get(url).headers["Cache-Control"] == IMMUTABLE, url
    for url in _moving_urls():
        assert client.get(url).headers["Cache-Control"] == "no-cache", url
    # The documents follow the downloads' rule (hub.api.files.cache_control), which stays as it was.
    pinned = client.get(f"/api/adapters/alice/cached/versions/{first}/files/adapter_config.json")
    moving = client.get("/api/adapters/alice/cached/versions/main/files/adapter_config.json")
    assert (pinned.headers["Cache-Control"], moving.headers["Cache-Control"]) == (IMMUTABLE, "no-cache")
    assert client.head(f"/alice/cached/resolve/{first}/adapter_config.json").headers["Cache-Control"] == IMMUTABLE


def test_a_private_adapters_documents_are_private_and_vary_by_authorization(client, alice, bob):
    first, _ = _publish_two(client, alice)
    assert client.patch("/api/adapters/alice/cached", json={"private": True}, headers=alice.headers).is_success
    for url in _pinned_urls(first):
        answer = client.get(url, headers=alice.headers)
        assert answer.status_code == 200 and answer.headers["Cache-Control"] == PRIVATE_IMMUTABLE, url
        assert answer.headers["Vary"] == "Authorization", url
        assert client.get(url).status_code == client.get(url, headers=bob.headers).status_code == 404, url
    for url in _moving_urls()[1:]:  # search answers every caller; its listing differs instead
        answer = client.get(url, headers=alice.headers)
        assert answer.headers["Cache-Control"] == "private, no-cache" and answer.headers["Vary"] == "Authorization"
    member, stranger = client.get("/api/adapters?q=cached", headers=alice.headers), client.get("/api/adapters?q=cached")
    assert member.json()["total"] == 1 and stranger.json()["total"] == 0
    assert member.headers["ETag"] != stranger.headers["ETag"] and stranger.headers["Vary"] == "Authorization"


def test_every_json_read_answers_head_with_the_get_headers(client, alice):
    first, _ = _publish_two(client, alice)
    for url in _moving_urls() + _pinned_urls(first):
        got, head = client.get(url), client.head(url)
        assert head.status_code == 200 and head.content == b"", url
        assert head.headers["ETag"] == got.headers["ETag"], url
        assert head.headers["Content-Length"] == str(len(got.content)), url
        assert client.head(url, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304, url
    assert client.head("/api/adapters/alice/nothing").status_code == 404
