"""On-demand GPU check: vLLM serves a hub adapter by name through the plugin, and generates what peft generates.

Never run by CI or collected by pytest (bench/ is outside testpaths; this needs a CUDA GPU and vLLM).

    python bench/gpu/vllm_serve.py [--dtype float32] [--keep]

Unattended, in under 8 minutes, with nothing downloaded from a model hub:
1. builds a small Llama (4 layers, hidden 256, head_dim 64) from a config with random weights, plus a
   word-level tokenizer, and saves both to a folder;
2. makes a LoRA on it with real peft (random A and B, so the adapter changes the output);
3. starts a hub (`hub serve`, SQLite in a temporary folder), publishes the LoRA, tags it `stable`;
4. starts `vllm serve <folder> --enable-lora` with VLLM_PLUGINS=adapter_hub and
   VLLM_ALLOW_RUNTIME_LORA_UPDATING=true, and asks for greedy completions of the same prompt token ids
   from the base and from `bench/tiny-lora@stable` (a name vLLM does not know: the resolver fetches it);
5. passes when the adapter's tokens differ from the base's and equal transformers + peft greedy generation.

On a machine without a GPU it refuses at once: one line on stderr, exit status 2. It needs, in one
environment: vLLM (with its GPU dependencies), and this checkout installed with the server and dev extras
(`pip install -e '.[server,dev]'`), so that the plugin's entry point is registered.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUDGET_SECONDS = 8 * 60
ADAPTER = "bench/tiny-lora"
PROMPT = [1, 17, 42, 99, 7, 230, 5, 64]  # token ids (no tokenizer quirks between the two engines)
NEW_TOKENS = 16
VOCAB = 256
REFUSED = 2


def gpu_missing() -> str | None:
    """Why this machine cannot run the check (None when it can): torch must see a CUDA device."""
    smi = shutil.which("nvidia-smi")
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"torch.cuda.is_available() is False (nvidia-smi: {'found' if smi else 'not found'})"
    return None


def setup_missing() -> str | None:
    """Why the environment cannot run it (vLLM, the plugin's entry point, peft, the hub server)."""
    from importlib.metadata import entry_points
    from importlib.util import find_spec

    for module, install in (("vllm", "pip install vllm"), ("peft", "pip install -e '.[server,dev]'"),
                            ("fastapi", "pip install -e '.[server,dev]'")):  # fmt: skip
        if find_spec(module) is None:
            return f"{module} is not installed ({install})"
    if not any(entry.name == "adapter_hub" for entry in entry_points(group="vllm.general_plugins")):
        return "the adapter_hub vLLM plugin is not registered (pip install -e . in this environment)"
    return None


def build_base(folder: Path) -> Path:
    """A Llama with random weights and a word-level tokenizer, saved to `folder` (nothing downloaded)."""
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    torch.manual_seed(0)
    config = transformers.LlamaConfig(hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                                      num_attention_heads=4, num_key_value_heads=2, vocab_size=VOCAB,
                                      max_position_embeddings=256, bos_token_id=1, eos_token_id=2,
                                      tie_word_embeddings=False)  # fmt: skip
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2} | {f"w{i}": i for i in range(3, VOCAB)}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>",
                                                eos_token="</s>")  # fmt: skip
    fast.save_pretrained(folder)
    return folder


def build_lora(base: Path, folder: Path) -> Path:
    """A real peft LoRA with random A and B (init_lora_weights=False): its effect on greedy output shows."""
    import peft
    import torch
    import transformers

    torch.manual_seed(1)
    model = transformers.LlamaForCausalLM.from_pretrained(base)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    config = peft.LoraConfig(r=8, lora_alpha=32, target_modules=targets, init_lora_weights=False)
    peft.get_peft_model(model, config).save_pretrained(folder)
    return folder


def peft_greedy(base: Path, adapter: Path | None, device: str = "cuda") -> list[int]:
    """transformers (+ peft) greedy generation of NEW_TOKENS tokens after PROMPT, in float32."""
    import peft
    import torch
    import transformers

    model = transformers.LlamaForCausalLM.from_pretrained(base, dtype=torch.float32)
    if adapter is not None:
        model = peft.PeftModel.from_pretrained(model, str(adapter))
    model = model.eval().to(device)
    ids = torch.tensor([PROMPT], device=device)
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    return out[0, len(PROMPT) :].tolist()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hub_command(python: str, *args: str) -> list[str]:
    return [python, "-c", "import sys; from hub.cli import main; sys.exit(main())", *args]


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for(url: str, process: subprocess.Popen[bytes], deadline: float, log: Path) -> None:
    import httpx

    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"vllm_serve: {log.name} exited with {process.returncode}; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise SystemExit(f"vllm_serve: {url} did not answer within the time budget; see {log}")


def start_hub(work: Path, python: str, env: dict[str, str]) -> tuple[list[str], dict[str, str], str]:
    """`hub db upgrade`, `hub token create bench`: the command to serve it, its environment and the token."""
    hub_env = env | {"HUB_DATA_DIR": str(work / "hub")}
    subprocess.run(hub_command(python, "db", "upgrade"), env=hub_env, check=True, capture_output=True)
    token = subprocess.run(hub_command(python, "token", "create", "bench"), env=hub_env, check=True,
                           capture_output=True, text=True).stdout.strip()  # fmt: skip
    return hub_command(python, "serve", "--port", str(free_port())), hub_env, token


def publish(url: str, token: str, adapter: Path, cache: Path) -> str:
    from sdk import Hub

    with Hub(url, token=token, cache_dir=cache) as hub:
        version = hub.publish(adapter, ADAPTER, base_model="bench/tiny-llama", license="apache-2.0")
        hub.move_tag(ADAPTER, "stable", version["version"])
    return version["revision"]


def complete(url: str, model: str) -> list[int]:
    import httpx

    body = {"model": model, "prompt": PROMPT, "max_tokens": NEW_TOKENS, "temperature": 0, "ignore_eos": True,
            "return_token_ids": True}  # fmt: skip
    response = httpx.post(f"{url}/v1/completions", json=body, timeout=120)
    if response.status_code != 200:
        raise SystemExit(f"vllm_serve: completion for {model!r} failed: HTTP {response.status_code} {response.text}")
    return response.json()["choices"][0]["token_ids"]


def vllm_command(base: Path, port: int, dtype: str) -> list[str]:
    lora = ["--enable-lora", "--max-lora-rank", "8"]
    small = ["--max-model-len", "128", "--gpu-memory-utilization", "0.3", "--enforce-eager"]
    return ["vllm", "serve", str(base), "--port", str(port), "--dtype", dtype, *lora, *small]


def run(work: Path, dtype: str, hub_python: str) -> dict[str, Any]:
    deadline = time.monotonic() + BUDGET_SECONDS
    base, adapter = build_base(work / "tiny-llama"), build_lora(work / "tiny-llama", work / "tiny-lora")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    serve_hub, hub_env, token = start_hub(work, hub_python, env)
    hub_url = f"http://127.0.0.1:{serve_hub[-1]}"
    with running(serve_hub, hub_env, work / "hub.log") as hub_process:
        wait_for(f"{hub_url}/healthz", hub_process, deadline, work / "hub.log")
        revision = publish(hub_url, token, adapter, work / "publisher-cache")
        port = free_port()
        vllm_env = env | {"VLLM_PLUGINS": "adapter_hub", "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true",
                          "HUB_URL": hub_url, "HUB_TOKEN": token, "HUB_CACHE": str(work / "vllm-cache")}  # fmt: skip
        with running(vllm_command(base, port, dtype), vllm_env, work / "vllm.log") as vllm_process:
            wait_for(f"http://127.0.0.1:{port}/health", vllm_process, deadline, work / "vllm.log")
            served_base = complete(f"http://127.0.0.1:{port}", str(base))
            served_lora = complete(f"http://127.0.0.1:{port}", f"{ADAPTER}@stable")
    reference_base, reference_lora = peft_greedy(base, None), peft_greedy(base, adapter)
    checks = {
        "adapter_changes_output": served_lora != served_base,
        "adapter_matches_peft": served_lora == reference_lora,
        "base_matches_transformers": served_base == reference_base,
        "within_budget": time.monotonic() < deadline,
    }
    return {"revision": revision, "checks": checks, "vllm_base": served_base, "vllm_lora": served_lora,
            "peft_lora": reference_lora, "transformers_base": reference_base}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", default="float32", help="vLLM's --dtype (float32 keeps greedy ties away)")
    parser.add_argument("--hub-python", default=sys.executable, help="the python that runs `hub serve`")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, model, caches)")
    args = parser.parse_args(argv)
    if why := gpu_missing():
        print(f"vllm_serve: needs a CUDA GPU, and this machine has none usable: {why}", file=sys.stderr)
        return REFUSED
    if why := setup_missing():
        print(f"vllm_serve: cannot start: {why}", file=sys.stderr)
        return REFUSED
    work = Path(tempfile.mkdtemp(prefix="vllm-serve-"))
    started = time.monotonic()
    try:
        result = run(work, args.dtype, args.hub_python)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
