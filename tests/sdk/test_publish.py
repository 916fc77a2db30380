"""hub.publish from a PEFT folder, a PeftModel, a (tensors, config) pair, and a pickled folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sdk import Hub
from sdk.errors import PickleRefused
from tests.helpers import tiny_lora_files
from tests.sdk.test_support import Traffic, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def _peft_gpt2(rank: int = 4):
    from peft import LoraConfig, get_peft_model

    from tests.sdk.formats.models import tiny_gpt2

    config = LoraConfig(r=rank, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM")
    return get_peft_model(tiny_gpt2(), config)


def test_publish_a_peft_folder(hub: Hub, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    version = hub.publish(folder, "alice/folder-lora", base_model="tiny/llama-test", license="mit", tags=["demo"])
    assert (version["adapter"], version["version"], version["method"]) == ("alice/folder-lora", "v1", "lora")
    assert {f["path"] for f in version["files"]} == {"adapter_config.json", "adapter_model.safetensors", "README.md"}
    assert version["task"] == "text-generation"  # from the config's task_type
    assert version["base_fingerprint"] is None and version["base_model_type"] is None  # no base object at hand
    info = hub.info("alice/folder-lora")
    assert info["license"] == "mit" and info["tags"] == ["demo"] and info["refs"] == {"main": "v1"}


def test_a_folders_eval_results_travel_and_other_dot_files_stay_home(hub: Hub, tmp_path: Path) -> None:
    results = "- {dataset: {id: glue, config: sst2}, task: text-generation, metric: accuracy, value: 0.9}\n"
    files = {**tiny_lora_files(), ".eval_results/glue.yaml": results.encode(), ".env": b"SECRET=1"}
    files[".eval_results/.notes.yaml"] = b"[]"
    version = hub.publish(write_folder(tmp_path / "adapter", files), "alice/evals", base_model="tiny/llama-test")
    assert ".eval_results/glue.yaml" in {f["path"] for f in version["files"]}
    assert not {".env", ".eval_results/.notes.yaml"} & {f["path"] for f in version["files"]}
    assert [(e["dataset"]["id"], e["metric"]["value"]) for e in version["evaluations"]] == [("glue", 0.9)]
    assert version["warnings"] == []


def test_republishing_the_same_files_uploads_no_blob_byte(hub: Hub, traffic: Traffic, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    hub.publish(folder, "alice/again", base_model="tiny/llama-test")
    assert traffic.upload_bytes > 0
    traffic.reset()
    second = hub.publish(folder, "alice/again", base_model="tiny/llama-test", allow_unchanged=True)
    assert second["version"] == "v2"
    assert [method for method, _ in traffic.requests] == ["POST", "POST"]  # declare, commit: no PUT
    assert traffic.upload_bytes < 2000  # only the two small JSON bodies


@pytest.mark.slow
def test_publish_a_peft_model_records_the_base(hub: Hub) -> None:
    from sdk.torch.fingerprint import base_fingerprint
    from tests.sdk.formats.models import tiny_gpt2

    model = _peft_gpt2()
    version = hub.publish(model, "alice/gpt2-lora", base_model="gpt2", task="text-generation")
    assert version["base_model_type"] == "gpt2"
    assert version["base_fingerprint"] == base_fingerprint(tiny_gpt2())  # adapter layers are left out
    assert version["facts"]["modules"]["transformer.h.0.attn.c_attn"]["rank"] == 4
    assert version["config"]["fan_in_fan_out"] is True


@pytest.mark.slow
def test_publish_a_folder_with_an_explicit_base(hub: Hub, tmp_path: Path) -> None:
    from tests.sdk.formats.models import tiny_llama

    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    version = hub.publish(folder, "alice/with-base", base_model="tiny/llama-test", base=tiny_llama())
    assert version["base_model_type"] == "llama" and len(version["base_fingerprint"]) == 64


@pytest.mark.slow
def test_publish_tensors_and_a_config(hub: Hub) -> None:
    import torch
    from peft import LoraConfig

    tensors = {
        "base_model.model.layer.lin.lora_A.weight": torch.randn(2, 8),
        "base_model.model.layer.lin.lora_B.weight": torch.zeros(16, 2),
    }
    config = LoraConfig(r=2, lora_alpha=4, target_modules=["lin"])  # a PEFT config object, or its to_dict()
    version = hub.publish((tensors, config), "alice/from-dict", base_model="acme/tiny-base")
    module = version["facts"]["modules"]["layer.lin"]
    assert (module["in_features"], module["out_features"], module["rank"]) == (8, 16, 2)
    plain = {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["lin"]}
    assert hub.publish((tensors, plain), "alice/from-dict", base_model="acme/tiny-base")["version"] == "v2"


@pytest.mark.slow
def test_a_pickled_folder_is_converted_with_a_warning(hub: Hub, tmp_path: Path) -> None:
    model = _peft_gpt2()
    model.save_pretrained(tmp_path / "pickled", safe_serialization=False)
    (tmp_path / "pickled" / "training_args.bin").write_bytes(b"\x80\x04 not for the hub")
    assert (tmp_path / "pickled" / "adapter_model.bin").exists()
    with pytest.warns(UserWarning) as warned:
        version = hub.publish(tmp_path / "pickled", "alice/was-pickled", base_model="gpt2")
    messages = " ".join(str(warning.message) for warning in warned)
    assert "converted to adapter_model.safetensors" in messages and "training_args.bin" in messages
    paths = {f["path"] for f in version["files"]}
    assert "adapter_model.safetensors" in paths and not any(path.endswith(".bin") for path in paths)
    assert version["facts"]["trainable_params"] == sum(p.numel() for n, p in model.named_parameters() if "lora" in n)


def test_an_unpublishable_source_is_refused_before_any_request(hub: Hub, traffic: Traffic, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Cannot publish a list"):
        hub.publish(["not", "an", "adapter"], "alice/nope")
    with pytest.raises(FileNotFoundError, match=r"adapter_config\.json"):
        hub.publish(tmp_path, "alice/nope")
    assert traffic.requests == []


def test_a_pickle_disguised_as_safetensors_never_reaches_storage(hub: Hub, traffic: Traffic, tmp_path: Path) -> None:
    files = {
        "adapter_config.json": json.dumps({"peft_type": "LORA"}).encode(),
        "adapter_model.safetensors": b"\x80\x05K",
    }
    with pytest.raises(PickleRefused):
        hub.publish(write_folder(tmp_path / "evil", files), "alice/evil", base_model="gpt2")
    assert hub.search(q="evil").total == 0
