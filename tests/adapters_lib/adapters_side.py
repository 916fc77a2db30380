"""Run in the second venv (.venv-adapters: `adapters` 1.3.0, transformers 4.57) by the tests beside it.

Reads a job on stdin ({"work": folder, "cases": [...], "refuse": {...}}), talks to the live hub named by
HUB_URL/HUB_TOKEN through the SDK, and prints one JSON document on its last stdout line. For each case: save
an adapter with the real `adapters` library on a tiny random BERT (weights perturbed, so that an adapter
that was not applied shows), publish the folder, pull it into a fresh model, and compare the outputs with the
saved folder loaded by `adapters` itself. Any failure is an exception (non-zero exit, traceback on stderr).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import adapters
import torch
from adapters.utils import get_adapter_config_hash
from transformers import BertConfig, BertModel

import sdk
from sdk.torch.errors import IncompatibleAdapterError
from sdk.torch.loaders import pull_folder

NAME = "ad"  # the adapter's name inside `adapters` when it is saved


def tiny_config(hidden: int = 64) -> BertConfig:
    return BertConfig(
        hidden_size=hidden, num_hidden_layers=2, num_attention_heads=4, intermediate_size=2 * hidden, vocab_size=100
    )


def fresh_base(base_dir: Path) -> BertModel:
    model = BertModel.from_pretrained(base_dir).eval()
    model.config.name_or_path = "tiny/bert-test"  # save_adapter records it as model_name (not the local path)
    return model


def save_trained(base_dir: Path, method: str, folder: Path, safetensors: bool) -> torch.Tensor:
    """An adapter with random (not initial) weights, saved by `adapters`; the output of the trained model."""
    model = fresh_base(base_dir)
    adapters.init(model)
    model.add_adapter(NAME, config=method)
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if f".{NAME}." in f".{name}.":
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.2)
    model.set_active_adapters(NAME)
    folder.mkdir(parents=True)
    model.save_adapter(str(folder), NAME, use_safetensors=safetensors)
    return run(model)


def run(model: torch.nn.Module) -> torch.Tensor:
    ids = torch.randint(0, 100, (2, 7), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return model(input_ids=ids).last_hidden_state


def loaded_by_adapters(base_dir: Path, folder: Path, safetensors: bool) -> torch.Tensor:
    """The saved folder as `adapters` loads it, under its saved name: adapters 1.3.0 leaves a prompt tuning
    loaded with load_as=<another name> at its random initialisation (sdk/torch/adapters_lib.py)."""
    model = fresh_base(base_dir)
    adapters.init(model)
    model.load_adapter(str(folder), set_active=True, use_safetensors=safetensors)
    return run(model)


def one_case(hub: sdk.Hub, base_dir: Path, work: Path, case: dict[str, Any]) -> dict[str, Any]:
    method, repo, safetensors = case["method"], case["repo"], case.get("safetensors", True)
    folder = work / repo.replace("/", "--")
    trained = save_trained(base_dir, method, folder, safetensors)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        published = hub.publish(folder, repo, license="apache-2.0")
    reference = loaded_by_adapters(base_dir, folder, safetensors)
    pulled_model = fresh_base(base_dir)
    hub.pull(repo, into=pulled_model)
    pulled = run(pulled_model)
    result = {
        "method": method,
        "saved_files": sorted(path.name for path in folder.iterdir()),
        "published_files": sorted(entry["path"] for entry in published["files"]),
        "facts": published["facts"],
        "base_model": published.get("base_model"),
        "base_model_type": published.get("base_model_type"),
        "library_config_id": get_adapter_config_hash(_saved_config(folder)["config"]),
        "warnings": [str(warning.message) for warning in caught],
        "route": "native" if getattr(pulled_model, "hub_adapters", {}) else "adapters",
        "diff_reference": (pulled - reference).abs().max().item(),
        "diff_trained": (pulled - trained).abs().max().item(),
        "adapter_effect": _effect(reference, run(fresh_base(base_dir))),
    }
    if case.get("via_library_too"):
        through_library = fresh_base(base_dir)
        pull_folder(through_library, hub.download(repo), via="adapters")
        result["diff_via_library"] = (run(through_library) - reference).abs().max().item()
    return result


def _saved_config(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "adapter_config.json").read_text())


def _effect(adapted: torch.Tensor, base: torch.Tensor) -> float:
    # Prompt tuning prepends its virtual tokens: compare the positions of the input tokens.
    return (adapted[:, -base.shape[1] :] - base).abs().max().item()


def refusal(hub: sdk.Hub, repo: str, hidden: int) -> dict[str, Any]:
    """Pull a published adapter into a BERT of another hidden size: the hub's check must refuse it."""
    torch.manual_seed(0)
    model = BertModel(tiny_config(hidden)).eval()
    try:
        hub.pull(repo, into=model)
    except IncompatibleAdapterError as error:
        return {"refused": True, "message": str(error), "kinds": sorted({p.kind for p in error.report.errors})}
    return {"refused": False}


def main(job: dict[str, Any]) -> dict[str, Any]:
    work = Path(job["work"])
    base_dir = work / "base"
    torch.manual_seed(0)
    base = BertModel(tiny_config())
    base.save_pretrained(base_dir)
    hub = sdk.Hub(retries=1, backoff=0.01)  # HUB_URL, HUB_TOKEN, HUB_CACHE from the environment
    cases = [one_case(hub, base_dir, work, case) for case in job.get("cases", [])]
    refused = refusal(hub, job["refuse"]["repo"], job["refuse"]["hidden"]) if job.get("refuse") else None
    return {"cases": cases, "refusal": refused, "sdk_file": sdk.__file__, "transformers": _version("transformers")}


def _version(package: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(package)


if __name__ == "__main__":
    print(json.dumps(main(json.load(sys.stdin))))
