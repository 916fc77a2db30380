"""Downloads (streamed, ranged, counted) and search (facets, full text, sort, cursor) on both backends."""

from __future__ import annotations

import hashlib

from tests.helpers import assert_error, flush_downloads, gpt2_ia3_files, publish, tiny_lora_files


def test_every_file_downloads_byte_identical(client, alice):
    files = tiny_lora_files()
    version = publish(client, alice, "alice/dl", files).json()
    for entry in version["files"]:
        response = client.get(entry["url"])
        assert response.status_code == 200
        assert response.content == files[entry["path"]]
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
        assert response.headers["ETag"] == f'"{entry["sha256"]}"'
        assert response.headers["X-Repo-Commit"] == version["revision"]


def test_ranges_heads_and_416(client, alice):
    files = tiny_lora_files()
    publish(client, alice, "alice/ranges", files)
    url = "/api/adapters/alice/ranges/versions/main/files/adapter_model.safetensors"
    data = files["adapter_model.safetensors"]
    part = client.get(url, headers={"Range": "bytes=8-99"})
    assert part.status_code == 206 and part.content == data[8:100]
    assert part.headers["Content-Range"] == f"bytes 8-99/{len(data)}"
    assert client.get(url, headers={"Range": "bytes=-10"}).content == data[-10:]
    assert client.get(url, headers={"Range": f"bytes={len(data) - 5}-"}).content == data[-5:]
    head = client.head(url)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data)) and head.content == b""
    beyond = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert_error(beyond, 416, "RangeNotSatisfiable")
    assert beyond.headers["Content-Range"] == f"bytes */{len(data)}"


def test_downloads_are_counted_once_per_config_fetch(client, alice):
    publish(client, alice, "alice/counted", tiny_lora_files())
    base = "/api/adapters/alice/counted/versions/v1/files/"
    client.get(base + "adapter_config.json")
    client.get(base + "adapter_model.safetensors")
    client.head(base + "adapter_config.json")
    client.get(base + "adapter_config.json", headers={"Range": "bytes=5-10"})
    client.get(base + "adapter_config.json")
    flush_downloads(client)
    assert client.get("/api/adapters/alice/counted").json()["downloads"] == 2


def test_unknown_adapter_version_and_file_are_404_with_codes(client, alice):
    publish(client, alice, "alice/known", tiny_lora_files())
    assert_error(client.get("/api/adapters/alice/unknown"), 404, "AdapterNotFound")
    assert_error(client.get("/api/adapters/nobody/known"), 404, "AdapterNotFound")
    assert_error(client.get("/api/adapters/alice/known/versions/v9"), 404, "RevisionNotFound")
    assert_error(client.get("/api/adapters/alice/known/versions/" + "a" * 40), 404, "RevisionNotFound")
    assert_error(client.get("/api/adapters/alice/known/versions/v1/files/nope.json"), 404, "FileNotFound")
    assert_error(client.get("/api/nothing-here"), 404, "NotFound")


def _seed_catalogue(client, alice, bob):
    publish(
        client,
        alice,
        "alice/llama-sql",
        tiny_lora_files(),
        task="text-generation",
        tags=["sql", "code"],
        base_model_type="llama",
        license="apache-2.0",
        description="Text to SQL",
    )
    publish(
        client,
        alice,
        "alice/gpt2-imdb",
        gpt2_ia3_files(),
        base_model="openai-community/gpt2",
        base_model_type="gpt2",
        license="mit",
        tags=["sentiment"],
    )
    publish(
        client,
        bob,
        "bob/llama-chat",
        tiny_lora_files(rank=8, targets=("q_proj",)),
        task="chat",
        base_model_type="llama",
        license="apache-2.0",
        tags=["chat"],
    )


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(a["id"] for a in response.json()["adapters"])


def test_search_by_each_facet_and_text(client, alice, bob):
    _seed_catalogue(client, alice, bob)
    search = lambda **params: _ids(client.get("/api/adapters", params=params))  # noqa: E731
    assert search() == ["alice/gpt2-imdb", "alice/llama-sql", "bob/llama-chat"]
    assert search(base_model="openai-community/gpt2") == ["alice/gpt2-imdb"]
    assert search(task="chat") == ["bob/llama-chat"]
    assert search(architecture="llama") == ["alice/llama-sql", "bob/llama-chat"]
    assert search(method="ia3") == ["alice/gpt2-imdb"]
    assert search(library="peft", license="mit") == ["alice/gpt2-imdb"]
    assert search(tag="sql") == ["alice/llama-sql"]
    assert search(q="SQL") == ["alice/llama-sql"]
    assert search(q="llama chat") == ["bob/llama-chat"]
    assert search(q="100%_") == []  # LIKE wildcards are escaped


def test_facet_counts_are_disjunctive(client, alice, bob):
    _seed_catalogue(client, alice, bob)
    body = client.get("/api/adapters", params={"method": "lora"}).json()
    methods = {f["value"]: f["count"] for f in body["facets"]["method"]}
    assert methods == {"lora": 2, "ia3": 1}  # the method facet ignores its own filter
    architectures = {f["value"]: f["count"] for f in body["facets"]["architecture"]}
    assert architectures == {"llama": 2}
    assert body["total"] == 2


def test_sorts_and_cursor_pages_cover_everything_once(client, alice, bob):
    _seed_catalogue(client, alice, bob)
    client.get("/api/adapters/bob/llama-chat/versions/v1/files/adapter_config.json")
    flush_downloads(client)
    top = client.get("/api/adapters", params={"sort": "downloads"}).json()["adapters"][0]
    assert top["id"] == "bob/llama-chat"
    names = [a["id"] for a in client.get("/api/adapters", params={"sort": "name"}).json()["adapters"]]
    assert names == ["alice/gpt2-imdb", "bob/llama-chat", "alice/llama-sql"]  # by adapter name
    for sort in ("downloads", "recent", "name"):
        seen, cursor = [], None
        while True:
            params = {"sort": sort, "limit": 1, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/adapters", params=params).json()
            seen += [a["id"] for a in page["adapters"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == ["alice/gpt2-imdb", "alice/llama-sql", "bob/llama-chat"], sort


def test_bad_search_parameters(client):
    assert_error(client.get("/api/adapters", params={"cursor": "!!not-a-cursor"}), 400, "InvalidCursor")
    assert_error(client.get("/api/adapters", params={"sort": "random"}), 422, "InvalidRequest")
    assert_error(client.get("/api/adapters", params={"limit": 1000}), 422, "InvalidRequest")
