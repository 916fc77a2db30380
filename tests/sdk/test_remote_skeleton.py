"""fetch_skeleton against a server speaking the Hugging Face protocol (tests/hf/upstream_server.py, which counts
the bytes it sends): config.json, the index, and each weights file cut to its header, read by Range requests."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from sdk.errors import AdapterNotFound, InvalidSafetensors
from sdk.remote_skeleton import fetch_skeleton
from tests.hf.upstream_server import Repo, Upstream, running

transformers = pytest.importorskip("transformers")
safetensors = pytest.importorskip("safetensors")
COMMIT = "5e1e70" * 6 + "5e1e"


@pytest.fixture(scope="module", params=["single", "sharded"])
def model_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.sdk.formats.models import tiny_llama

    folder = tmp_path_factory.mktemp(request.param)
    shard = {"max_shard_size": "400KB"} if request.param == "sharded" else {}
    tiny_llama(vocab_size=2000).save_pretrained(folder, **shard)
    return folder


def _tensors_of_header(path: Path) -> dict[str, tuple[str, list[int]]]:
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    return {name: (entry["dtype"], entry["shape"]) for name, entry in header.items() if name != "__metadata__"}


def _tensors_of_file(path: Path) -> dict[str, tuple[str, list[int]]]:
    with safetensors.safe_open(path, framework="pt") as opened:
        slices = {name: opened.get_slice(name) for name in opened.keys()}  # noqa: SIM118 - no iteration protocol
        return {name: (piece.get_dtype(), list(piece.get_shape())) for name, piece in slices.items()}


def test_the_skeleton_holds_every_header_and_costs_under_one_percent_of_the_weights(
    model_dir: Path, tmp_path: Path
) -> None:
    weights = sorted(model_dir.glob("*.safetensors"))
    weight_bytes = sum(path.stat().st_size for path in weights)
    with running(Upstream({"org/base": Repo.from_folder(model_dir, COMMIT)})) as upstream:
        skeleton = fetch_skeleton(upstream.url, "org/base", "main", tmp_path / "skeleton", token="t0ken")
        assert upstream.bytes_sent < weight_bytes / 100, (upstream.bytes_sent, weight_bytes)
        assert {headers.get("authorization") for _, path, headers in upstream.seen if "/resolve/" in path} == {
            "Bearer t0ken"
        }
    assert (skeleton / "config.json").read_bytes() == (model_dir / "config.json").read_bytes()
    index = model_dir / "model.safetensors.index.json"
    assert (skeleton / index.name).exists() == index.exists() == (len(weights) > 1)
    assert sorted(path.name for path in skeleton.glob("*.safetensors")) == [path.name for path in weights]
    for path in weights:
        cut = skeleton / path.name
        assert cut.stat().st_size < path.stat().st_size
        assert _tensors_of_header(cut) == _tensors_of_file(path)


def test_a_missing_repository_and_a_foreign_header_are_refused(model_dir: Path, tmp_path: Path) -> None:
    repo = Repo.from_folder(model_dir, COMMIT)
    name = next(path for path in repo.files if path.endswith(".safetensors"))
    repo.files[name] = struct.pack("<Q", 40) + b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'[:40]
    with running(Upstream({"org/base": repo})) as upstream:
        with pytest.raises(AdapterNotFound):
            fetch_skeleton(upstream.url, "org/missing", "main", tmp_path / "a")
        with pytest.raises(InvalidSafetensors):
            fetch_skeleton(upstream.url, "org/base", "main", tmp_path / "b")
