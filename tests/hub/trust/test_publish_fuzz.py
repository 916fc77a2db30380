"""Property: the whole HTTP publish path (start -> PUT blobs -> commit) never answers 5xx and never
leaves a partial version, whatever mutated adapter it is fed.

Inputs are valid adapters with random byte flips or a truncation in the safetensors header region,
random JSON configs (keys replaced, removed or the whole document swapped) and random tags. After
each example either the commit answered 201 and the version is complete and byte-identical, or
nothing new is visible. SQLite only: the engine does not matter to the validators, and it is fast.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.helpers import declare, flush_downloads, stored_state, tiny_lora_files

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
ORIGINAL = tiny_lora_files()
HEADER_END = 8 + struct.unpack("<Q", ORIGINAL[WEIGHTS][:8])[0]
CONFIG_KEYS = [*sorted(json.loads(ORIGINAL[CONFIG])), "peft_type", "r", "target_modules", "layers_to_transform"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
flips = st.lists(st.tuples(st.integers(0, HEADER_END - 1), st.integers(1, 255)), min_size=1, max_size=8)


@st.composite
def weights(draw) -> bytes:
    data = bytearray(ORIGINAL[WEIGHTS])
    kind = draw(st.sampled_from(["intact", "flip", "intact", "truncate", "intact", "flip+truncate"]))
    if "flip" in kind:
        for index, mask in draw(flips):
            data[index] ^= mask
    if "truncate" in kind:
        del data[draw(st.integers(0, len(data) - 1)) :]
    return bytes(data)


@st.composite
def configs(draw) -> bytes:
    kind = draw(st.sampled_from(["edit", "edit", "edit", "edit", "replace", "bytes"]))
    if kind == "replace":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    document = json.loads(ORIGINAL[CONFIG])
    for key in draw(st.lists(st.sampled_from(CONFIG_KEYS), max_size=4)):
        if draw(st.booleans()):
            document[key] = draw(json_values)
        else:
            document.pop(key, None)
    return json.dumps(document).encode()


commit_bodies = st.fixed_dictionaries(
    {"base_model": st.just("tiny/llama-test")},
    optional={
        "tags": st.lists(st.text(max_size=10), max_size=3),
        "task": st.text(max_size=10),
        "private": st.booleans(),
    },
)


@pytest.fixture
def backend() -> str:  # overrides the two-backend parametrization: SQLite only
    return "sqlite-local"


def _versions(client, account, adapter: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/adapters/{adapter}", headers=account.headers)
    assert response.status_code in (200, 404), response.text
    return response.json()["versions"] if response.status_code == 200 else []


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(weights=weights(), config=configs(), body=commit_bodies)
def test_mutated_publishes_never_fail_the_server(app, client, alice, weights, config, body):
    files = {**ORIGINAL, WEIGHTS: weights, CONFIG: config}
    adapter = "alice/fuzzed"
    flush_downloads(client)  # the last example's downloads, so the flusher thread changes no count meanwhile
    before_versions = _versions(client, alice, adapter)
    before = stored_state(app)

    started = client.post(f"/api/adapters/{adapter}/uploads", json={"files": declare(files)}, headers=alice.headers)
    assert started.status_code < 500, started.text
    if started.status_code != 201:
        event(f"refused at start: {started.headers.get('X-Error-Code')}")
        assert stored_state(app) == before
        return
    by_sha = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
    for blob in started.json()["missing"]:
        put = client.put(blob["url"], content=by_sha[blob["sha256"]], headers=alice.headers)
        assert put.status_code < 500, put.text
        if put.status_code != 200:
            event(f"PUT refused: {put.headers.get('X-Error-Code')}")
    committed = client.post(started.json()["commit_url"], json=body, headers=alice.headers)
    assert committed.status_code < 500, committed.text
    after_versions = _versions(client, alice, adapter)
    event(f"commit: {committed.status_code} {committed.headers.get('X-Error-Code', '')}")

    if committed.status_code == 200:  # the same files and metadata as the latest version: none is made
        assert committed.json()["unchanged"] is True and after_versions == before_versions
        return
    if committed.status_code != 201:
        assert committed.headers.get("X-Error-Code"), committed.text
        assert after_versions == before_versions  # no partial version
        assert {k: v for k, v in stored_state(app).items() if k != "blobs" and k != "keys"} == {
            k: v for k, v in before.items() if k != "blobs" and k != "keys"
        }
        return
    version = committed.json()
    assert [v["version"] for v in after_versions] == [version["version"]] + [v["version"] for v in before_versions]
    assert sorted(f["path"] for f in version["files"]) == sorted(files)
    for path, data in files.items():
        url = f"/api/adapters/{adapter}/versions/{version['revision']}/files/{path}"
        download = client.get(url, headers=alice.headers)
        assert download.status_code == 200 and download.content == data, path
