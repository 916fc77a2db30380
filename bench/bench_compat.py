"""Compatibility check of a published adapter against a Llama-2-7B-shaped model built on the meta device (no
weights in memory): `model_structure` + `check_compatibility` on the version's facts, target under 10 ms, and
`Hub.check` end to end, which must download no weight byte. No baseline: the figure is absolute.

The adapter is a LoRA r=16 on all seven linear layers of the 7B shape (float16 zeros, ~80 MB), published once.

    python -m bench.bench_compat [--repeat 50]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bench._local_hub import Wire, local_hub
from bench._results import Result, print_results, timed_result
from bench._rig import timed_once
from bench.common import summary
from sdk import Hub
from sdk.formats.safetensors import write_safetensors

os.environ.setdefault("HF_HUB_OFFLINE", "1")

LLAMA_7B = {
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
}
PROJECTIONS = {  # module -> (in, out)
    "self_attn.q_proj": (4096, 4096),
    "self_attn.k_proj": (4096, 4096),
    "self_attn.v_proj": (4096, 4096),
    "self_attn.o_proj": (4096, 4096),
    "mlp.gate_proj": (4096, 11008),
    "mlp.up_proj": (4096, 11008),
    "mlp.down_proj": (11008, 4096),
}
RANK = 16
NAME = "bench/llama-2-7b-lora"


def meta_llama_7b() -> Any:
    import torch
    import transformers

    with torch.device("meta"):
        return transformers.LlamaForCausalLM(transformers.LlamaConfig(**LLAMA_7B))


def write_7b_lora(folder: Path) -> Path:
    tensors: dict[str, tuple[str, list[int], bytes]] = {}
    for layer in range(LLAMA_7B["num_hidden_layers"]):
        for module, (fan_in, fan_out) in PROJECTIONS.items():
            prefix = f"base_model.model.model.layers.{layer}.{module}"
            tensors[f"{prefix}.lora_A.weight"] = ("F16", [RANK, fan_in], bytes(2 * RANK * fan_in))
            tensors[f"{prefix}.lora_B.weight"] = ("F16", [fan_out, RANK], bytes(2 * RANK * fan_out))
    config = {
        "base_model_name_or_path": "meta-llama/Llama-2-7b-hf",
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": RANK,
        "lora_alpha": 2 * RANK,
        "target_modules": sorted(module.rsplit(".", 1)[-1] for module in PROJECTIONS),
        "bias": "none",
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps(config))
    (folder / "adapter_model.safetensors").write_bytes(write_safetensors(tensors, {"format": "pt"}))
    return folder


def run(repeat: int = 50) -> list[Result]:
    model = meta_llama_7b()
    with tempfile.TemporaryDirectory(prefix="hubbench-") as workdir, local_hub(Path(workdir) / "hub") as server:
        hub = Hub(server.url, token=server.token, cache_dir=Path(workdir) / "cache")
        try:
            hub.publish(write_7b_lora(Path(workdir) / "adapter"), NAME, base_model_type="llama")
            server.wire.reset()
            return measure(hub, server.wire, model, repeat)
        finally:
            hub.close()


def measure(hub: Hub, wire: Wire, model: Any, repeat: int) -> list[Result]:
    from sdk.formats.compat import check_compatibility
    from sdk.torch.structure import model_structure

    version = hub.version(NAME)

    def check() -> Any:
        structure = model_structure(model)
        return check_compatibility(version["facts"], structure, base_model_type=version["base_model_type"])

    report = check()
    local = [timed_once(check) for _ in range(repeat)]
    end_to_end = [timed_once(lambda: hub.check(NAME, model)) for _ in range(repeat)]
    verdict = "compatible" if report.ok else f"NOT compatible: {report}"
    note = f"{verdict}; {wire.requests} requests, {wire.file_bytes_sent} file bytes in all"
    return [
        timed_result("compat check vs Llama-2-7B on meta", local, None, 10.0, note),
        Result("Hub.check end to end (1 metadata GET)", "ms", *summary(end_to_end), note="informative: no target"),
        Result(
            "compat check: weight bytes downloaded",
            "bytes",
            float(wire.file_bytes_sent),
            target="0",
            met=wire.file_bytes_sent == 0,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print_results(run(args.repeat), f"Compatibility check, Llama-2-7B shape on the meta device ({args.repeat} runs)")


if __name__ == "__main__":
    main()
