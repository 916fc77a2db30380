"""Hub.snapshot (the folder of a version already resolved) and the checks Hub.merge makes before any request."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdk import Hub
from sdk.errors import InvalidName, OfflineError
from tests.helpers import tiny_lora_files
from tests.sdk.test_support import Traffic, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def test_snapshot_fetches_the_resolved_version_without_looking_it_up_again(
    hub: Hub, traffic: Traffic, tmp_path: Path
) -> None:
    files = tiny_lora_files()
    hub.publish(write_folder(tmp_path / "src", files), "alice/snap", base_model="tiny/llama-test")
    version = hub.version("alice/snap")
    traffic.reset()
    folder = hub.snapshot(version)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == files
    assert traffic.requests == traffic.file_requests() and len(traffic.requests) == len(files)
    traffic.reset()
    assert hub.snapshot(version) == folder and traffic.requests == []  # cached: no request at all


def test_merge_refuses_a_bad_target_or_offline_before_any_request(hub: Hub, traffic: Traffic, tmp_path: Path) -> None:
    traffic.reset()
    with pytest.raises(InvalidName, match="Merge into 'alice/x'"):
        hub.merge(["alice/a", "alice/b"], name="alice/x@v2", method="cat")
    with pytest.raises(InvalidName):
        hub.merge(["alice/a", "not a name"], name="alice/x", method="cat")
    offline = Hub(hub.url, cache_dir=tmp_path / "offline", offline=True)
    with offline, pytest.raises(OfflineError, match="merge into alice/x"):
        offline.merge(["alice/a"], name="alice/x", method="cat")
    assert traffic.requests == []
