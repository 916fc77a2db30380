"""AdapterHub `adapters` folders (``model.save_adapter``): config and tensors checked, and the facts a hub indexes.

Layout (docs/adapter-formats.md 2.1): adapter_config.json {config, name, model_type, hidden_size, ...},
adapter.safetensors (or the pickle pytorch_adapter.bin, which the SDK converts), optionally head_config.json +
model_head.safetensors. Keys keep the adapter's name and the model's own module paths, e.g.
``encoder.layer.0.output.adapters.<name>.adapter_down.0.weight`` [bottleneck, hidden] or
``encoder.layer.0.attention.self.query.loras.<name>.lora_A`` [r, in]; a head model prefixes them ("bert.").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sdk.formats._adapters_config import AdaptersSettings, config_id, lora_alpha, read_adapters_settings
from sdk.formats._common import show
from sdk.formats._peft_config import LAYER_SEGMENTS
from sdk.formats._peft_keys import ModuleInfo, Modules, check_key_lengths, layer_index
from sdk.formats.detect import ADAPTERS_WEIGHTS
from sdk.formats.errors import AdapterConfigError, InconsistentAdapterError
from sdk.formats.peft import AdapterFacts
from sdk.formats.safetensors import SafetensorsHeader, TensorInfo

__all__ = ["AdaptersFacts", "HeadFiles", "describe_adapters_adapter"]

# The module containers adapters' loader filters on (loading.py: AdapterLoader.filter_func).
CONTAINERS = frozenset({"adapters", "loras", "prefix_tunings", "prompt_tunings", "refts", "shared_parameters",
                        "invertible_adapters"})  # fmt: skip
# Families whose bottleneck locations (BertSelfOutput, BertOutput) end in a `dense` Linear of size hidden, and
# whose word embeddings sit at `embeddings.word_embeddings`: there the check can name concrete modules.
BERT_LIKE = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra", "data2vec-text", "xmod"})


@dataclass(frozen=True)
class AdaptersFacts(AdapterFacts):
    """AdapterFacts plus what AdapterHub records: config id, base model type and hidden size, head."""

    config_id: str | None = None
    architecture: str | None = None
    model_type: str | None = None
    model_class: str | None = None
    hidden_size: int | None = None
    adapter_name: str | None = None
    components: list[str] = field(default_factory=list)
    reduction_factor: float | None = None
    non_linearity: str | None = None
    head: dict[str, object] | None = None


@dataclass(frozen=True)
class HeadFiles:
    """head_config.json (parsed) and the header of model_head.safetensors, when the folder has a head."""

    config: Mapping[str, object]
    header: SafetensorsHeader | None


@dataclass
class _Parsed:
    """Tensors sorted by where they sit: module path -> {parameter: tensor}, per container."""

    by_container: dict[str, dict[str, dict[str, TensorInfo]]] = field(default_factory=dict)


def describe_adapters_adapter(
    document: Mapping[str, object], header: SafetensorsHeader, head: HeadFiles | None = None
) -> AdaptersFacts:
    """Check that adapter_config.json and adapter.safetensors agree; derive the facts.

    Raises AdapterConfigError for a malformed config, InconsistentAdapterError (naming the tensor) when a
    tensor belongs to another adapter, sits in a left-out layer, or has sizes the config rules out.
    """
    if not isinstance(document, Mapping):
        raise AdapterConfigError("adapter_config.json must be a JSON object")
    settings = read_adapters_settings(document)
    check_key_lengths(header.tensors)
    parsed = _parse_keys(header.tensors, settings.name)
    modules = _modules(parsed, settings)
    layers = _layers(parsed)
    _check_leave_out(settings, layers)
    lora = settings.config if settings.architecture == "lora" else {}
    return AdaptersFacts(
        library="adapters",
        library_version=settings.library_version,
        method=settings.method,
        task_type=None,
        base_model=settings.model_name,
        base_revision=None,
        target_modules=_targets(parsed),
        rank=_rank(parsed, settings),
        alpha=lora_alpha(document),
        use_rslora=False,
        use_dora=bool(lora.get("use_dora")),
        fan_in_fan_out=False,
        trainable_params=sum(info.numel for info in header.tensors.values()),
        layers=layers,
        modules=modules,
        extra_tensors=[],
        config_id=config_id(settings.config),
        architecture=settings.architecture,
        model_type=settings.model_type,
        model_class=settings.model_class,
        hidden_size=settings.hidden_size,
        adapter_name=settings.name,
        components=settings.components,
        reduction_factor=_number(settings.config.get("reduction_factor")),
        non_linearity=_text(settings.config.get("non_linearity")),
        head=_head_facts(head) if head is not None else None,
    )


def _parse_keys(tensors: Mapping[str, TensorInfo], name: str) -> _Parsed:
    """Sort every tensor under its container; refuse tensors of other adapters and unknown keys."""
    parsed = _Parsed()
    for key, info in tensors.items():
        segments = key.split(".")
        position = next((i for i, part in enumerate(segments[:-2]) if part in CONTAINERS), None)
        if position is None:
            raise InconsistentAdapterError(f"tensor {show(key)} is not an adapter weight (no adapters/loras/... part)")
        owner = segments[position + 1]
        if owner != name:
            raise InconsistentAdapterError(
                f"tensor {show(key)} belongs to adapter {show(owner)}, but adapter_config.json names {show(name)} "
                "(adapters would silently skip it)"
            )
        path = ".".join(segments[:position])
        parameter = ".".join(segments[position + 2 :])
        parsed.by_container.setdefault(segments[position], {}).setdefault(path, {})[parameter] = info
    if not parsed.by_container:
        raise InconsistentAdapterError(f"{ADAPTERS_WEIGHTS} holds no tensor")
    return parsed


def _modules(parsed: _Parsed, settings: AdaptersSettings) -> Modules:
    """Base-model modules the adapter constrains, with the sizes its tensors reveal."""
    modules: Modules = {}
    for path, params in parsed.by_container.get("loras", {}).items():
        modules[path] = _lora_module(path, params, settings)
    for path, params in parsed.by_container.get("adapters", {}).items():
        module = _bottleneck_module(path, params, settings)
        if module is not None and settings.model_type in BERT_LIKE:
            modules[f"{path}.dense"] = module
    for path, params in parsed.by_container.get("prompt_tunings", {}).items():
        module = _prompt_module(params, settings)
        if settings.model_type in BERT_LIKE and path.endswith("prompt_tuning"):
            modules[path.removesuffix("prompt_tuning") + "embeddings.word_embeddings"] = module
    return modules


def _lora_module(path: str, params: Mapping[str, TensorInfo], settings: AdaptersSettings) -> ModuleInfo:
    """LoRA: lora_A [r, in], lora_B [out, r]; IA3 (composition "scale"): lora_B [out, 1] alone."""
    a, b = params.get("lora_A"), params.get("lora_B")
    if b is None or len(b.shape) != 2:
        raise InconsistentAdapterError(f"module {show(path)}: lora_B is missing or not a matrix")
    if settings.method == "ia3":
        if b.shape[1] != 1:
            raise InconsistentAdapterError(f"tensor {show(b.name)} has shape {list(b.shape)}; (IA)^3 needs [out, 1]")
        return ModuleInfo("ia3", None, b.shape[0], None)
    if a is None or len(a.shape) != 2:
        raise InconsistentAdapterError(f"module {show(path)}: lora_A is missing or not a matrix")
    rank = settings.config.get("r")
    if a.shape[0] != b.shape[1] or (type(rank) is int and a.shape[0] != rank):
        raise InconsistentAdapterError(
            f"module {show(path)}: lora_A {list(a.shape)} and lora_B {list(b.shape)} do not share rank r={rank}"
        )
    return ModuleInfo("linear", a.shape[1], b.shape[0], a.shape[0])


def _bottleneck_module(path: str, params: Mapping[str, TensorInfo], settings: AdaptersSettings) -> ModuleInfo | None:
    """adapter_down.0.weight [bottleneck, hidden] and adapter_up.weight [hidden, bottleneck], hidden as the
    config says; None for layouts without them (Compacter's PHM layers)."""
    down, up = params.get("adapter_down.0.weight"), params.get("adapter_up.weight")
    if down is None or up is None:
        return None
    if len(down.shape) != 2 or len(up.shape) != 2 or down.shape[0] != up.shape[1] or down.shape[1] != up.shape[0]:
        raise InconsistentAdapterError(
            f"location {show(path)}: adapter_down {list(down.shape)} and adapter_up {list(up.shape)} "
            "are not [bottleneck, hidden] and [hidden, bottleneck]"
        )
    _check_hidden(settings, down.shape[1], down.name)
    return ModuleInfo("bottleneck", None, down.shape[1], down.shape[0])


def _prompt_module(params: Mapping[str, TensorInfo], settings: AdaptersSettings) -> ModuleInfo:
    embedding = params.get("prompt_embedding.weight")
    if embedding is None or len(embedding.shape) != 2:
        raise InconsistentAdapterError("prompt tuning: prompt_embedding.weight is missing or not a matrix")
    length = settings.config.get("prompt_length")
    if type(length) is int and embedding.shape[0] != length:
        raise InconsistentAdapterError(
            f"tensor {show(embedding.name)} has {embedding.shape[0]} rows; prompt_length is {length}"
        )
    _check_hidden(settings, embedding.shape[1], embedding.name)
    return ModuleInfo("embedding", None, embedding.shape[1], None)


def _check_hidden(settings: AdaptersSettings, size: int, tensor: str) -> None:
    if settings.hidden_size is not None and size != settings.hidden_size:
        raise InconsistentAdapterError(
            f"tensor {show(tensor)} works on size {size}, but adapter_config.json says hidden_size "
            f"{settings.hidden_size}"
        )


def _layers(parsed: _Parsed) -> list[int]:
    paths = [path for by_path in parsed.by_container.values() for path in by_path]
    return sorted({index for path in paths if (index := layer_index(path, LAYER_SEGMENTS)) is not None})


def _check_leave_out(settings: AdaptersSettings, layers: list[int]) -> None:
    """Tensors in a left-out layer would never be loaded (the model builds no adapter there)."""
    left_out = settings.config.get("leave_out") or []
    if not isinstance(left_out, list):
        raise AdapterConfigError(f"adapter_config.json: config.leave_out must be a list, got {show(left_out)}")
    both = sorted(set(layers) & {index for index in left_out if type(index) is int})
    if both:
        raise InconsistentAdapterError(f"the tensors cover layers {both}, which config.leave_out leaves out")


def _targets(parsed: _Parsed) -> list[str]:
    """Where the adapter sits: LoRA's modules by name as PEFT lists them (query, value); other methods by
    location without the layer prefix (output, attention.output), or by container (prompt_tuning)."""
    names = set()
    for container, by_path in parsed.by_container.items():
        for path in by_path:
            names.add(path.rpartition(".")[2] if container == "loras" else _after_layer(path) or container)
    return sorted(names)


def _after_layer(path: str) -> str:
    segments = path.split(".")
    for position in range(len(segments) - 1):
        if segments[position] in LAYER_SEGMENTS and segments[position + 1].isdigit():
            return ".".join(segments[position + 2 :])
    return segments[-1] if path else ""


def _rank(parsed: _Parsed, settings: AdaptersSettings) -> int | None:
    """LoRA's r, or the largest bottleneck size; none for (IA)^3 and prompts."""
    if settings.method == "ia3":
        return None
    sizes = [info.shape[0] for by_path in parsed.by_container.get("loras", {}).values()
             if (info := by_path.get("lora_A")) is not None]  # fmt: skip
    sizes += [info.shape[0] for by_path in parsed.by_container.get("adapters", {}).values()
              if (info := by_path.get("adapter_down.0.weight")) is not None]  # fmt: skip
    return max(sizes, default=None)


def _head_facts(head: HeadFiles) -> dict[str, object]:
    """The prediction head: its name, type and label count, and the size of its weights.

    A flexible head (XAdapterModel) has a name and keys under ``heads.<name>.``; a static head (the
    ``classifier`` of an XForSequenceClassification) has neither name nor config, and its own module keys.
    """
    inner = head.config.get("config")
    inner = inner if isinstance(inner, Mapping) else {}
    name = head.config.get("name")
    tensors = head.header.tensors if head.header is not None else {}
    if name is not None:
        prefix = f"heads.{name}."
        stray = next((key for key in tensors if not key.startswith(prefix)), None)
        if stray is not None:
            raise InconsistentAdapterError(f"head tensor {show(stray)} is not under {show(prefix)} (head_config.json)")
    labels = inner.get("num_labels", head.config.get("num_labels"))
    return {
        "name": _text(name),
        "head_type": _text(inner.get("head_type")) or ("static" if name is None else None),
        "num_labels": labels if type(labels) is int else None,
        "params": sum(info.numel for info in tensors.values()),
    }


def _number(value: object) -> float | None:
    return float(value) if type(value) in (int, float) and abs(value) < 2**53 else None  # type: ignore[arg-type]


def _text(value: object) -> str | None:
    return value[:64] if isinstance(value, str) and value else None
