"""The hub with `adapters` and OpenDelta folders (hand-built, tests/adapters_lib/folders.py), on both backends:
facts recorded at publish, search by library and method, refusals naming the file, converted_from."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sdk import Hub
from sdk.errors import InconsistentAdapter, MissingAdapterFile
from tests.adapters_lib.folders import adapters_files, adapters_spec, opendelta_config, opendelta_spec
from tests.fixtures.hub import Account
from tests.helpers import declare
from tests.sdk.formats.builders import file_of
from tests.sdk.test_support import write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def opendelta_files() -> dict[str, bytes]:
    return {
        "config.json": json.dumps(opendelta_config()).encode(),
        "delta_model.safetensors": file_of(opendelta_spec()),
    }


def test_an_adapters_folder_records_its_facts(hub: Hub, tmp_path: Path) -> None:
    version = hub.publish(write_folder(tmp_path / "a", adapters_files("double_seq_bn")), "alice/houlsby")
    assert (version["library"], version["method"], version["library_version"]) == ("adapters", "double_seq_bn", "1.3.0")
    # No base_model given: the config's model_name and model_type fill base model and base model type.
    assert (version["base_model"], version["base_model_type"]) == ("tiny/bert-test", "bert")
    facts = version["facts"]
    assert (facts["config_id"], facts["model_type"], facts["hidden_size"]) == ("b1017368d7a97b11", "bert", 64)
    assert version["rank"] == 4 and version["target_modules"] == ["attention.output", "output"]
    assert version["config"]["config"]["mh_adapter"] is True  # adapter_config.json kept as written


def test_search_finds_adapters_by_library_and_method(hub: Hub, tmp_path: Path) -> None:
    for method in ("seq_bn", "lora", "prompt_tuning"):
        hub.publish(write_folder(tmp_path / method, adapters_files(method)), f"alice/bert-{method.replace('_', '-')}")
    hub.publish(write_folder(tmp_path / "delta", opendelta_files()), "alice/delta-lora", base_model="tiny/bert-test")
    assert [row["id"] for row in hub.search(library="adapters", method="seq_bn")] == ["alice/bert-seq-bn"]
    assert [row["id"] for row in hub.search(library="opendelta")] == ["alice/delta-lora"]
    results = hub.search(limit=None)
    assert {(row["id"], row["library"], row["method"]) for row in results} == {
        ("alice/bert-seq-bn", "adapters", "seq_bn"),
        ("alice/bert-lora", "adapters", "lora"),
        ("alice/bert-prompt-tuning", "adapters", "prompt_tuning"),
        ("alice/delta-lora", "opendelta", "lora"),
    }
    assert {item["value"]: item["count"] for item in results.facets["library"]} == {"adapters": 3, "opendelta": 1}
    assert {item["value"]: item["count"] for item in results.facets["method"]} == {
        "seq_bn": 1,
        "lora": 2,
        "prompt_tuning": 1,
    }
    page = httpx.get(f"{hub.url}/api/adapters", params={"library": "adapters", "method": "seq_bn"})
    assert [row["id"] for row in page.json()["adapters"]] == ["alice/bert-seq-bn"]


def test_an_opendelta_folder_records_its_facts(hub: Hub, tmp_path: Path) -> None:
    version = hub.publish(write_folder(tmp_path / "d", opendelta_files()), "alice/delta", base_model="tiny/bert-test")
    assert (version["library"], version["method"], version["rank"]) == ("opendelta", "lora", 4)
    facts = version["facts"]
    assert (facts["delta_type"], facts["backbone_class"]) == ("lora", "BertForSequenceClassification")
    assert facts["backbone_hash"] == "3f1c0f0c5d3c1a9fb1d2e0c4a7b6d5e4" and facts["library_version"] == "0.3.2"
    assert sorted(f["path"] for f in version["files"]) == ["config.json", "delta_model.safetensors"]


def test_tensors_of_another_adapter_are_refused_naming_them(hub: Hub, tmp_path: Path) -> None:
    files = adapters_files("seq_bn")
    files["adapter.safetensors"] = file_of(adapters_spec("seq_bn", name="other"))
    with pytest.raises(
        InconsistentAdapter, match=r"adapter\.safetensors disagree: tensor 'encoder\.layer\.0\..*'other'"
    ):
        hub.publish(write_folder(tmp_path / "a", files), "alice/mixed")
    assert hub.search().total == 0


def test_each_library_needs_its_weights_file(hub: Hub, tmp_path: Path) -> None:
    files = adapters_files("seq_bn")
    files["adapter_model.safetensors"] = files.pop("adapter.safetensors")
    with pytest.raises(MissingAdapterFile, match=r"keeps its weights in adapter\.safetensors"):
        hub.publish(write_folder(tmp_path / "a", files), "alice/misnamed")
    delta = {"config.json": json.dumps(opendelta_config()).encode(), "other.safetensors": file_of(opendelta_spec())}
    with pytest.raises(MissingAdapterFile, match=r"delta_model\.safetensors"):
        hub.publish(write_folder(tmp_path / "d", delta), "alice/delta", base_model="tiny/bert-test")
    model_config = {"config.json": b'{"model_type": "bert"}', "model.safetensors": file_of(opendelta_spec())}
    with pytest.raises(FileNotFoundError, match=r"nor an OpenDelta config\.json"):
        hub.publish(write_folder(tmp_path / "m", model_config), "alice/model", base_model="tiny/bert-test")


def _commit(hub: Hub, token: str, files: dict[str, bytes], body: dict[str, object]) -> httpx.Response:
    with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        started = http.post("/api/adapters/alice/raw/uploads", json={"files": declare(files)}).json()
        by_sha = {entry["sha256"]: files[entry["path"]] for entry in declare(files)}
        for blob in started["missing"]:
            http.put(blob["url"], content=by_sha[blob["sha256"]]).raise_for_status()
        return http.post(started["commit_url"], json=body)


def test_the_hub_refuses_pickles_and_checks_converted_from(hub: Hub, alice: Account) -> None:
    with httpx.Client(base_url=hub.url, headers=alice.headers) as http:
        declared = declare({"adapter_config.json": b"{}", "pytorch_adapter.bin": b"\x80\x04."})
        refused = http.post("/api/adapters/alice/raw/uploads", json={"files": declared})
    assert refused.status_code == 400 and refused.headers["x-error-code"] == "PickleRefused"
    assert "pytorch_adapter.bin" in refused.json()["error"]["message"]
    bad = _commit(hub, alice.token, adapters_files("seq_bn"), {"converted_from": ["adapter.safetensors"]})
    assert bad.status_code == 400 and bad.headers["x-error-code"] == "InvalidMetadata"
    good = _commit(hub, alice.token, adapters_files("seq_bn"), {"converted_from": ["pytorch_adapter.bin"]})
    assert good.status_code == 201, good.text
    assert good.json()["facts"]["converted_from"] == ["pytorch_adapter.bin"]


def test_the_sdk_converts_every_known_pickle_and_records_it(hub: Hub, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    folder = write_folder(tmp_path / "a", adapters_files("seq_bn"))
    torch.save(load_file(folder / "adapter.safetensors"), folder / "pytorch_adapter.bin")
    (folder / "adapter.safetensors").unlink()
    torch.save({"heads.x.1.weight": torch.ones(2, 64)}, folder / "pytorch_model_head.bin")
    (folder / "head_config.json").write_text(json.dumps({"config": {"head_type": "classification"}, "name": "x"}))
    with pytest.warns(UserWarning) as warned:
        version = hub.publish(folder, "alice/pickled")
    messages = " ".join(str(warning.message) for warning in warned)
    assert "pytorch_adapter.bin is a pickle; it was converted to adapter.safetensors" in messages
    assert "pytorch_model_head.bin is a pickle; it was converted to model_head.safetensors" in messages
    assert version["facts"]["converted_from"] == ["pytorch_adapter.bin", "pytorch_model_head.bin"]
    assert sorted(f["path"] for f in version["files"]) == [
        "adapter.safetensors",
        "adapter_config.json",
        "head_config.json",
        "model_head.safetensors",
    ]
    assert version["facts"]["head"] == {"name": "x", "head_type": "classification", "num_labels": None, "params": 128}


def test_a_pickle_holding_more_than_tensors_is_never_unpickled(hub: Hub, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    folder = write_folder(tmp_path / "d", {"config.json": json.dumps(opendelta_config()).encode()})
    torch.save({"w": torch.zeros(1), "payload": Path("/etc/passwd")}, folder / "pytorch_model.bin")
    with pytest.raises(Exception, match=r"Weights only load failed|Unsupported global"):
        hub.publish(folder, "alice/evil", base_model="tiny/bert-test")
    assert hub.search().total == 0
