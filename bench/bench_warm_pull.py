"""Warm pull (the adapter already in the cache) into a Llama-style model: hidden 1024, 8 layers, LoRA r=16 on
every linear layer, random weights built from a config. `Hub.pull` (compatibility check included) against
`PeftModel.from_pretrained` from a local folder holding the same adapter, into the same base. Samples are
interleaved; each adapter is unloaded again outside the timed part. The hub counts what crosses the wire.

    python -m bench.bench_warm_pull [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from bench._local_hub import local_hub
from bench._results import Result, print_results, timed_result
from bench._rig import timed_once
from sdk import Hub

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the base is built from a config: nothing to fetch

NAME = "bench/llama-1024-lora"
LLAMA = {
    "hidden_size": 1024,
    "intermediate_size": 2816,
    "num_hidden_layers": 8,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "vocab_size": 32000,
}


def build_base() -> Any:
    import torch
    import transformers

    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**LLAMA)).eval()


def save_adapter(base: Any, folder: Path) -> Path:
    """A LoRA r=16 on all linear layers, saved by peft itself, with non-zero B (peft starts it at zero)."""
    import peft
    import torch

    config = peft.LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    model = peft.get_peft_model(base, config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.01)
    model.save_pretrained(folder)
    model.unload()  # the base gets its original modules back
    return folder


def sdk_pull(hub: Hub, name: str, base: Any) -> float:
    elapsed = timed_once(lambda: hub.pull(name, into=base))
    base.hub_adapters["default"].unload()
    return elapsed


def peft_load(folder: Path, base: Any) -> float:
    from peft import PeftModel

    loaded: list[Any] = []
    elapsed = timed_once(lambda: loaded.append(PeftModel.from_pretrained(base, folder)))
    loaded[0].unload()
    return elapsed


def run(repeat: int = 20) -> list[Result]:
    base = build_base()
    with tempfile.TemporaryDirectory(prefix="hubbench-") as workdir, local_hub(Path(workdir) / "hub") as server:
        folder = save_adapter(base, Path(workdir) / "adapter")
        with Hub(server.url, token=server.token, cache_dir=Path(workdir) / "cache") as hub:
            revision = hub.publish(folder, NAME, base=base, base_model="bench/llama-1024")["revision"]
            hub.download(f"{NAME}@{revision}")  # the cold pull, not measured here
            return measure(hub, server, folder, base, revision, repeat)


def measure(hub: Hub, server: Any, folder: Path, base: Any, revision: str, repeat: int) -> list[Result]:
    samples: dict[str, list[float]] = {"pinned": [], "main": [], "peft": []}
    server.wire.reset()
    for number in range(repeat + 1):  # round 0 warms torch and the page cache: not counted
        round_ = {
            "peft": peft_load(folder, base),
            "pinned": sdk_pull(hub, f"{NAME}@{revision}", base),
            "main": sdk_pull(hub, NAME, base),  # a tag: one metadata request to learn what it names now
        }
        if number:
            for key, value in round_.items():
                samples[key].append(value)
    runs, wire = repeat + 1, server.wire
    note = f"{wire.file_bytes_sent} file bytes, {wire.requests} requests in {runs} x 2 pulls (all @main lookups)"
    return [
        timed_result("warm pull, pinned revision (0 requests)", samples["pinned"], samples["peft"], 1.0, note),
        timed_result("warm pull, @main (1 metadata GET)", samples["main"], samples["peft"], 1.0),
        Result(
            "warm pull: file bytes transferred",
            "bytes",
            float(wire.file_bytes_sent),
            target="0",
            met=wire.file_bytes_sent == 0,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    title = "Warm pull into Llama (hidden 1024, 8 layers), LoRA r=16 all-linear, vs PeftModel.from_pretrained"
    print_results(run(args.repeat), f"{title} ({args.repeat} runs)")


if __name__ == "__main__":
    main()
