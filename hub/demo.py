"""`hub demo`: publish a handful of realistic PEFT adapters through the normal publish path, without torch.

Shapes follow real base models (GPT-2 small, SmolLM2-135M, TinyLlama-1.1B), so the compatibility
check and the metadata pages show true numbers. Values are small pseudo-random floats: the point
is browsing and pulling, not quality.
"""

from __future__ import annotations

import io
import json
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from hub.accounts.permissions import acting_as
from hub.accounts.service import AccountService
from hub.db import unit_of_work
from hub.errors import AdapterNotFound
from hub.registry.catalog.lifecycle import move_ref
from hub.registry.catalog.reads import CatalogService
from hub.registry.publish.limits import Limits
from hub.registry.publish.local import publish_local_files
from hub.registry.publish.metadata import PublishMetadata
from hub.storage import BlobStorage
from sdk.formats.safetensors import write_safetensors

DEMO_USER = "demo"
_BLOCK = struct.pack("<4096f", *(random.Random(0).gauss(0, 0.02) for _ in range(4096)))


@dataclass(frozen=True)
class Base:
    model_id: str
    model_type: str
    layers: int
    prefix: str  # module path of layer i, with {i}
    shapes: dict[str, tuple[int, int]]  # module -> (in, out), relative to the layer prefix


GPT2 = Base(
    "openai-community/gpt2",
    "gpt2",
    12,
    "transformer.h.{i}.",
    {
        "attn.c_attn": (768, 2304),
        "attn.c_proj": (768, 768),
        "mlp.c_fc": (768, 3072),
        "mlp.c_proj": (3072, 768),
    },
)
_LLAMA_ATTN = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj")


def _llama(model_id: str, layers: int, hidden: int, kv: int, inter: int) -> Base:
    attn = dict(zip(_LLAMA_ATTN, [(hidden, hidden), (hidden, kv), (hidden, kv), (hidden, hidden)], strict=True))
    mlp = {"mlp.gate_proj": (hidden, inter), "mlp.up_proj": (hidden, inter), "mlp.down_proj": (inter, hidden)}
    return Base(model_id, "llama", layers, "model.layers.{i}.", {**attn, **mlp})


SMOLLM2 = _llama("HuggingFaceTB/SmolLM2-135M", 30, 576, 192, 1536)
TINYLLAMA = _llama("TinyLlama/TinyLlama-1.1B-Chat-v1.0", 22, 2048, 256, 5632)


@dataclass
class DemoAdapter:
    name: str
    base: Base
    method: str  # "lora" or "ia3"
    targets: list[str]  # last name components
    task_type: str
    card: str
    meta: PublishMetadata
    rank: int = 8
    rank_pattern: dict[str, int] = field(default_factory=dict)
    feedforward: list[str] = field(default_factory=list)
    seed: int = 0


def _floats(count: int, seed: int) -> bytes:
    offset = (seed * 7919) % 4096 * 4
    data = (_BLOCK[offset:] + _BLOCK) * (count * 4 // len(_BLOCK) + 2)
    return data[: count * 4]


def _modules(adapter: DemoAdapter) -> Iterator[tuple[str, str, int, int]]:
    base = adapter.base
    for i in range(base.layers):
        for module, (fan_in, fan_out) in base.shapes.items():
            short = module.rsplit(".", 1)[-1]
            if short in adapter.targets:
                yield f"base_model.model.{base.prefix.format(i=i)}{module}", short, fan_in, fan_out


def _tensors(adapter: DemoAdapter) -> dict[str, tuple[str, list[int], bytes]]:
    tensors: dict[str, tuple[str, list[int], bytes]] = {}
    for n, (path, short, fan_in, fan_out) in enumerate(_modules(adapter)):
        if adapter.method == "lora":
            r = adapter.rank_pattern.get(short, adapter.rank)
            tensors[f"{path}.lora_A.weight"] = ("F32", [r, fan_in], _floats(r * fan_in, n))
            tensors[f"{path}.lora_B.weight"] = ("F32", [fan_out, r], _floats(fan_out * r, n + 1))
        else:
            shape = [1, fan_in] if short in adapter.feedforward else [fan_out, 1]
            values = struct.pack(f"<{shape[0] * shape[1]}f", *[1.0] * (shape[0] * shape[1]))
            tensors[f"{path}.ia3_l"] = ("F32", shape, values)
    return tensors


def _config(adapter: DemoAdapter) -> dict[str, object]:
    common = {
        "base_model_name_or_path": adapter.base.model_id,
        "inference_mode": True,
        "peft_version": "0.21.2",
        "revision": None,
        "target_modules": adapter.targets,
        "task_type": adapter.task_type,
        "modules_to_save": None,
        "auto_mapping": None,
        "exclude_modules": None,
    }
    if adapter.method == "ia3":
        return {
            **common,
            "peft_type": "IA3",
            "feedforward_modules": adapter.feedforward,
            "fan_in_fan_out": adapter.base.model_type == "gpt2",
            "init_ia3_weights": True,
        }
    return {
        **common,
        "peft_type": "LORA",
        "r": adapter.rank,
        "lora_alpha": 2 * adapter.rank,
        "lora_dropout": 0.05,
        "bias": "none",
        "fan_in_fan_out": adapter.base.model_type == "gpt2",
        "use_rslora": False,
        "use_dora": False,
        "rank_pattern": adapter.rank_pattern,
        "alpha_pattern": {},
        "init_lora_weights": True,
        "layers_to_transform": None,
        "layers_pattern": None,
    }


def _card(adapter: DemoAdapter) -> str:
    front = f"---\nbase_model: {adapter.base.model_id}\nlibrary_name: peft\nlicense: {adapter.meta.license}\n---\n\n"
    return front + adapter.card.strip() + "\n"


def adapter_files(adapter: DemoAdapter) -> dict[str, bytes]:
    """The folder PEFT's save_pretrained would write for this adapter."""
    return {
        "adapter_config.json": json.dumps(_config(adapter), indent=2, sort_keys=True).encode(),
        "adapter_model.safetensors": write_safetensors(_tensors(adapter), {"format": "pt"}),
        "README.md": _card(adapter).encode(),
    }


def demo_adapters() -> list[DemoAdapter]:
    from hub.demo_catalog import DEMO_CATALOG

    return DEMO_CATALOG


def publish_files(
    session: Session,
    storage: BlobStorage,
    limits: Limits,
    user_name: str,
    name: str,
    files: dict[str, bytes],
    meta: PublishMetadata,
) -> int:
    """Publish as `user_name` through the same entry point as the web form; returns the new version number."""
    user = AccountService(session).ensure_user(user_name)
    session.flush()  # need user.id and its namespace
    local = [(path, io.BytesIO(data)) for path, data in files.items()]
    caller = acting_as(session, user)
    return publish_local_files(session, storage, limits, caller, (user.namespace.name, name), local, meta).number


def load_demo(factory: sessionmaker[Session], storage: BlobStorage, limits: Limits) -> list[str]:
    """Publish every demo adapter that is not there yet (a second run changes nothing)."""
    published = []
    for adapter in demo_adapters():
        with unit_of_work(factory) as session:
            if _exists(session, adapter.name):
                continue
            publish_files(session, storage, limits, DEMO_USER, adapter.name, adapter_files(adapter), adapter.meta)
        published.append(f"{DEMO_USER}/{adapter.name}")
    _tag_stable(factory)
    return published


def _exists(session: Session, name: str) -> bool:
    try:
        CatalogService(session).adapter(DEMO_USER, name)
    except AdapterNotFound:
        return False
    return True


def _tag_stable(factory: sessionmaker[Session]) -> None:
    with unit_of_work(factory) as session:
        catalog = CatalogService(session)
        for adapter in (catalog.adapter(DEMO_USER, demo.name) for demo in demo_adapters()):
            if not any(ref.name == "stable" for ref in adapter.refs):
                caller = acting_as(session, AccountService(session).ensure_user(DEMO_USER))
                move_ref(session, adapter, "stable", catalog.resolve(adapter, "v1"), caller)
