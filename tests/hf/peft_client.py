"""Loads an adapter of the hub into a tiny base with peft, in a fresh process, and saves the logits.

Usage: python peft_client.py '<json>' with {"how": ..., "base": folder, "repo_id": ..., "hub_url": ..., "out": file}.
how: "hf_endpoint", the zero-code path, PeftModel.from_pretrained(base, repo_id) with HF_ENDPOINT set by the test;
"transformers", base.load_adapter(repo_id) (transformers' own PEFT integration), also with HF_ENDPOINT;
"sdk", sdk.hf.peft_model_from_hub(..., hub_url=...) with no HF_* variable at all.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import torch
from transformers import AutoModelForCausalLM

INPUT_IDS = torch.arange(24).reshape(2, 12) % 100


def load(spec: dict[str, Any]) -> Any:
    # A local folder (no request to any hub), or a repository id that HF_ENDPOINT's hub passes through upstream.
    base = AutoModelForCausalLM.from_pretrained(spec["base"])
    if spec["how"] == "sdk":
        from sdk.hf import peft_model_from_hub

        return peft_model_from_hub(base, spec["repo_id"], hub_url=spec["hub_url"])
    if spec["how"] == "transformers":
        base.load_adapter(spec["repo_id"])
        return base
    from peft import PeftModel

    return PeftModel.from_pretrained(base, spec["repo_id"])


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    model = load(spec).eval()
    with torch.no_grad():
        torch.save(model(input_ids=INPUT_IDS).logits, spec["out"])
