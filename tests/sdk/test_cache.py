"""The cache: no byte twice, no partial or corrupt file ever served, and offline mode."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from sdk import Hub
from sdk.errors import DigestMismatch, HubConnectionError, OfflineError
from tests.helpers import tiny_lora_files
from tests.sdk.test_support import Traffic, cache_files, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


@pytest.fixture
def published(hub: Hub, traffic: Traffic, tmp_path: Path) -> dict:
    # Rank 64 makes the weights ~100 KB, so a transfer can be cut well before its end.
    folder = write_folder(tmp_path / "src", tiny_lora_files(rank=64))
    version = hub.publish(folder, "alice/cached", base_model="tiny/llama-test")
    traffic.reset()
    return version


def _weights_size(version: dict) -> int:
    return next(f["size"] for f in version["files"] if f["path"] == "adapter_model.safetensors")


def test_second_download_transfers_no_file_byte(hub: Hub, traffic: Traffic, published: dict) -> None:
    first = hub.download("alice/cached")
    assert traffic.file_bytes_sent == sum(f["size"] for f in published["files"])
    traffic.reset()
    assert hub.download("alice/cached") == first
    assert traffic.requests == [("GET", "/api/adapters/alice/cached/versions/main")]  # one small lookup of main
    assert traffic.file_bytes_sent == 0
    traffic.reset()
    assert hub.download(f"alice/cached@{published['revision']}") == first
    assert traffic.requests == []  # a full revision id that is complete in the cache needs no request at all


def test_a_new_version_reuses_the_blobs_it_shares(hub: Hub, traffic: Traffic, published: dict, tmp_path: Path) -> None:
    hub.download("alice/cached")
    files = tiny_lora_files(rank=64)
    files["README.md"] = b"# a new card, same weights"
    hub.publish(write_folder(tmp_path / "v2", files), "alice/cached", base_model="tiny/llama-test")
    traffic.reset()
    hub.download("alice/cached")
    assert [path.rsplit("/", 1)[-1] for _, path in traffic.file_requests()] == ["README.md"]
    assert traffic.file_bytes_sent == len(files["README.md"])


def test_an_interrupted_download_leaves_nothing_and_the_next_one_succeeds(
    hub: Hub, traffic: Traffic, published: dict
) -> None:
    traffic.cut_after = 10_000
    with pytest.raises(HubConnectionError) as caught:
        hub.download("alice/cached")
    message = str(caught.value)
    assert "alice/cached@main (v1, revision" in message and "adapter_model.safetensors" in message
    assert len(traffic.file_requests()) >= 3  # retried (resuming with Range) before giving up
    weights = next(f["sha256"] for f in published["files"] if f["path"] == "adapter_model.safetensors")
    kept = cache_files(hub.cache.root)
    assert not [name for name in kept if name.startswith("snapshots/") or "incomplete" in name or weights in name]
    assert len(kept) == 2  # the two small files arrived whole and verified: kept as blobs, reused below
    traffic.cut_after = None
    traffic.reset()
    folder = hub.download("alice/cached")
    assert len(traffic.file_requests()) == 1
    assert (folder / "adapter_model.safetensors").stat().st_size == _weights_size(published)


def test_a_cut_transfer_resumes_where_it_stopped(hub: Hub, traffic: Traffic, published: dict) -> None:
    size = _weights_size(published)
    traffic.cut_after = size // 2 + 1  # each attempt gets half: two attempts finish it with Range
    folder = hub.download("alice/cached")
    assert (folder / "adapter_model.safetensors").stat().st_size == size
    weight_requests = [path for _, path in traffic.file_requests() if path.endswith(".safetensors")]
    assert len(weight_requests) == 2
    assert traffic.file_bytes_sent == sum(f["size"] for f in published["files"])  # no byte fetched twice


def test_corrupt_bytes_are_never_cached(hub: Hub, traffic: Traffic, published: dict) -> None:
    traffic.corrupt = True
    with pytest.raises(DigestMismatch, match=r"alice/cached@main .*nothing was cached"):
        hub.download("alice/cached")
    assert cache_files(hub.cache.root) == []
    traffic.corrupt = False
    assert hub.download("alice/cached").is_dir()


def test_concurrent_downloads_of_one_version_agree(hub_url: str, published: dict, tmp_path: Path) -> None:
    results: list[Path] = []

    def download() -> None:
        with Hub(hub_url, cache_dir=tmp_path / "shared") as client:
            results.append(client.download("alice/cached"))

    threads = [threading.Thread(target=download) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert not [name for name in cache_files(tmp_path / "shared") if "incomplete" in name]


def test_offline_mode_serves_the_cache_and_fails_clearly(
    hub: Hub, traffic: Traffic, published: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    online = hub.download("alice/cached")
    traffic.reset()
    monkeypatch.setenv("HUB_OFFLINE", "1")
    offline = Hub(hub.url, cache_dir=hub.cache.root)
    assert offline.offline
    assert offline.download("alice/cached") == online  # "main" resolved from refs/
    assert offline.download(f"alice/cached@{published['revision']}") == online
    assert offline.version("alice/cached")["facts"]["method"] == "lora"
    with pytest.raises(OfflineError, match=r"alice/cached@v7 is not in the cache at .*HUB_OFFLINE=1"):
        offline.download("alice/cached@v7")
    with pytest.raises(OfflineError, match="alice/other@main"):
        offline.download("alice/other")
    with pytest.raises(OfflineError):
        offline.search()
    assert traffic.requests == []


def test_offline_without_the_files_names_the_version(hub: Hub, published: dict) -> None:
    hub.version("alice/cached")  # metadata cached (enough for check), files not
    offline = Hub(hub.url, cache_dir=hub.cache.root, offline=True)
    with pytest.raises(OfflineError, match=r"the files of alice/cached@main \(v1, revision [0-9a-f]{12}\)"):
        offline.download("alice/cached")


def test_snapshot_files_are_links_to_verified_blobs(hub: Hub, published: dict) -> None:
    folder = hub.download("alice/cached")
    for entry in published["files"]:
        blob = hub.cache.root / "blobs" / entry["sha256"]
        assert os.path.samefile(blob, folder / entry["path"])
    ref = hub.cache.hub_root / "refs" / "alice--cached" / "main"
    assert ref.read_text() == published["revision"]
