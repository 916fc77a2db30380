"""Per-method structural checks: LoRA/AdaLoRA, IA3, prompt learning, and a lenient pass for the rest.

Each check returns the adapted modules (path -> ModuleInfo) and the sorted names of the extra
tensors. Shapes are PEFT 0.21's (docs/adapter-formats.md 1.5): a check that passes means PEFT can
load the tensors into modules of the sizes reported.
"""

from __future__ import annotations

from collections.abc import Mapping

from sdk.formats._common import show
from sdk.formats._peft_config import PEFT_TYPE_TO_PREFIX, Config, PeftSettings, get_int
from sdk.formats._peft_keys import (
    ADALORA_ROLES,
    IA3_ROLES,
    LORA_ROLES,
    ModuleInfo,
    Modules,
    check_matching_work,
    check_nonempty,
    check_selected,
    classify_extras,
    group_tensors,
    is_allowed_extra,
    strip_prefix,
)
from sdk.formats.errors import InconsistentAdapterError
from sdk.formats.safetensors import TensorInfo

Tensors = Mapping[str, TensorInfo]
PROMPT_EMBEDDINGS = "prompt_embeddings"
MULTITASK_TENSORS = frozenset({"prefix_task_cols", "prefix_task_rows"})


def check_lora(tensors: Tensors, settings: PeftSettings) -> tuple[Modules, list[str]]:
    """LoRA and AdaLoRA: paired A/B per module, shapes, ranks, DoRA magnitudes, targets, extras."""
    adalora = settings.peft_type == "ADALORA"
    groups, others = group_tensors(tensors, ADALORA_ROLES if adalora else LORA_ROLES)
    embeddings = {path for path, group in groups.items() if "embedding_A" in group or "embedding_B" in group}
    what = "an AdaLoRA (bare lora_A, lora_B, lora_E)" if adalora else "a LoRA"
    extras = classify_extras(others, settings, embeddings, what)
    if not groups:
        raise InconsistentAdapterError(f"no {settings.peft_type} tensor (lora_A/lora_B) in the file")
    check_matching_work(groups.keys(), settings)
    modules = {path: _lora_module(path, group, settings) for path, group in sorted(groups.items())}
    return modules, extras


def _lora_module(path: str, group: dict[str, TensorInfo], settings: PeftSettings) -> ModuleInfo:
    """Check one LoRA module's tensors against each other and the config."""
    for info in group.values():
        check_nonempty(info)
    via_parameters = check_selected(path, settings, min(info.name for info in group.values()))
    _check_optional_roles(path, group, settings)
    if "embedding_A" in group or "embedding_B" in group:
        module = _embedding_module(path, group)
    else:
        module = _matrix_module(path, group)
    _check_rank(path, group, module, settings, via_parameters)
    _check_companions(path, group, module)
    return module


def _check_optional_roles(path: str, group: dict[str, TensorInfo], settings: PeftSettings) -> None:
    """lora_B.bias needs lora_bias; lora_magnitude_vector goes with use_dora, on every module."""
    if "B.bias" in group and not settings.lora_bias:
        raise InconsistentAdapterError(f"tensor {show(group['B.bias'].name)} is a LoRA bias but lora_bias is false")
    if "magnitude" in group and not settings.use_dora:
        name = group["magnitude"].name
        raise InconsistentAdapterError(f"tensor {show(name)} is a DoRA magnitude but use_dora is false")
    if settings.use_dora and "magnitude" not in group:
        raise InconsistentAdapterError(f"module {show(path)} has no lora_magnitude_vector but use_dora is true")


def _pair(path: str, group: dict[str, TensorInfo], first: str, second: str) -> tuple[TensorInfo, TensorInfo]:
    """Both tensors of a pair, or an error naming the one without its partner."""
    if first in group and second in group:
        return group[first], group[second]
    present, missing = (first, second) if first in group else (second, first)
    if present not in group:
        raise InconsistentAdapterError(f"module {show(path)} has {_role_names(group)} but no lora_A/lora_B")
    raise InconsistentAdapterError(
        f"tensor {show(group[present].name)} has no matching lora_{missing} for module {show(path)}"
    )


def _role_names(group: dict[str, TensorInfo]) -> str:
    return ", ".join(show(info.name) for info in group.values())


def _matrix_module(path: str, group: dict[str, TensorInfo]) -> ModuleInfo:
    """Linear (A [r, in], B [out, r]) or convolution (A [r, in, k...], B [out, r, 1...])."""
    a, b = _pair(path, group, "A", "B")
    if len(a.shape) == 2 and len(b.shape) == 2:
        kind = "linear"
    elif 3 <= len(a.shape) <= 5 and len(b.shape) == len(a.shape) and set(b.shape[2:]) == {1}:
        kind = "conv"
    else:
        raise InconsistentAdapterError(
            f"module {show(path)}: lora_A {list(a.shape)} and lora_B {list(b.shape)} are neither "
            "linear ([r, in] and [out, r]) nor convolution ([r, in, k, k] and [out, r, 1, 1]) shapes"
        )
    _check_pair_rank(path, a, b, b.shape[1])
    return ModuleInfo(kind=kind, in_features=a.shape[1], out_features=b.shape[0], rank=a.shape[0])


def _embedding_module(path: str, group: dict[str, TensorInfo]) -> ModuleInfo:
    """Embedding: lora_embedding_A [r, num_embeddings], lora_embedding_B [dim, r]."""
    if "A" in group or "B" in group:
        raise InconsistentAdapterError(f"module {show(path)} mixes lora_A/lora_B with lora_embedding_A/B")
    a, b = _pair(path, group, "embedding_A", "embedding_B")
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise InconsistentAdapterError(
            f"module {show(path)}: lora_embedding_A {list(a.shape)} and lora_embedding_B {list(b.shape)} "
            "must be [r, num_embeddings] and [dim, r]"
        )
    _check_pair_rank(path, a, b, b.shape[1])
    return ModuleInfo(kind="embedding", in_features=a.shape[1], out_features=b.shape[0], rank=a.shape[0])


def _check_pair_rank(path: str, a: TensorInfo, b: TensorInfo, b_rank: int) -> None:
    """The rank is A's first dimension and B's second."""
    if a.shape[0] != b_rank:
        raise InconsistentAdapterError(
            f"module {show(path)}: {show(a.name)} {list(a.shape)} has rank {a.shape[0]} "
            f"but {show(b.name)} {list(b.shape)} has rank {b_rank}"
        )


def _check_rank(
    path: str, group: dict[str, TensorInfo], module: ModuleInfo, settings: PeftSettings, via_parameters: bool
) -> None:
    """The rank on disk must be the one the config gives this module."""
    expected, source = _expected_rank(path, settings)
    if not expected:
        return
    rank = module.rank or 0
    # target_parameters wrappers stack one rank-r factor per expert: A has r * num_experts rows.
    matches = rank % expected == 0 if via_parameters else rank == expected
    if not matches:
        tensor = min(info.name for info in group.values())
        raise InconsistentAdapterError(
            f"module {show(path)}: {show(tensor)} has rank {rank} but the config's {source} is {expected}"
        )


def _expected_rank(path: str, settings: PeftSettings) -> tuple[int, str]:
    """(rank, config field) for a module; (0, "") when the config does not pin it."""
    if settings.peft_type == "ADALORA":
        # On disk AdaLoRA keeps init_r rows until a rank_pattern records the pruning (then sizes vary).
        return (0, "") if settings.has_rank_pattern else (settings.init_r, "init_r")
    pattern_rank = settings.rank_pattern.lookup(path)
    if pattern_rank is not None:
        return pattern_rank, "rank_pattern"
    return settings.r, "r"


def _check_companions(path: str, group: dict[str, TensorInfo], module: ModuleInfo) -> None:
    """DoRA magnitude [out], lora_B bias [out], AdaLoRA E [r, 1]."""
    out, rank = module.out_features, module.rank
    magnitude = group.get("magnitude")
    if magnitude is not None and (magnitude.numel != out or out not in magnitude.shape):
        raise InconsistentAdapterError(
            f"tensor {show(magnitude.name)} has shape {list(magnitude.shape)}; module {show(path)} needs [{out}]"
        )
    bias = group.get("B.bias")
    if bias is not None and bias.shape != (out,):
        raise InconsistentAdapterError(f"tensor {show(bias.name)} has shape {list(bias.shape)}, expected [{out}]")
    singular = group.get("E")
    if singular is not None and singular.shape != (rank, 1):
        raise InconsistentAdapterError(
            f"tensor {show(singular.name)} has shape {list(singular.shape)}, expected [{rank}, 1]"
        )


def check_ia3(tensors: Tensors, settings: PeftSettings) -> tuple[Modules, list[str]]:
    """IA3: one ia3_l vector per targeted module, oriented by feedforward_modules."""
    groups, others = group_tensors(tensors, IA3_ROLES)
    if not groups:
        raise InconsistentAdapterError("no IA3 tensor (ia3_l) in the file")
    check_matching_work(groups.keys(), settings)
    modules = {path: _ia3_module(path, group["ia3_l"], settings) for path, group in sorted(groups.items())}
    return modules, classify_extras(others, settings, set(), "an IA3")


def _ia3_module(path: str, info: TensorInfo, settings: PeftSettings) -> ModuleInfo:
    """[out, 1] scales a module's output; [1, in] (feedforward) scales its input; conv [1, C, 1, 1]."""
    check_nonempty(info)
    check_selected(path, settings, info.name)
    feedforward = settings.feedforward.matches(path)
    shape = info.shape
    if len(shape) == 2:
        size, ones = (shape[1], shape[0]) if feedforward else (shape[0], shape[1])
        valid = ones == 1
    else:
        size = shape[1] if len(shape) >= 3 else 0
        valid = len(shape) >= 3 and shape[0] == 1 and set(shape[2:]) == {1}
    if not valid:
        kind, layout = ("a feedforward", "[1, in]") if feedforward else ("a non-feedforward", "[out, 1]")
        raise InconsistentAdapterError(
            f"tensor {show(info.name)} has shape {list(shape)}; ia3_l of {kind} module must be {layout}"
        )
    return ModuleInfo("ia3", size if feedforward else None, None if feedforward else size, None)


def check_prompt(tensors: Tensors, settings: PeftSettings, config: Config) -> tuple[Modules, list[str]]:
    """Prompt learning: a single prompt_embeddings matrix (plus modules_to_save copies)."""
    embeddings = tensors.get(PROMPT_EMBEDDINGS)
    if embeddings is None:
        raise InconsistentAdapterError(f"{settings.peft_type} adapter has no {PROMPT_EMBEDDINGS!r} tensor")
    check_nonempty(embeddings)
    _check_prompt_shape(embeddings, settings.peft_type, config)
    extras = []
    for name in tensors:
        if name == PROMPT_EMBEDDINGS or (settings.peft_type == "MULTITASK_PROMPT_TUNING" and name in MULTITASK_TENSORS):
            continue
        if not is_allowed_extra(strip_prefix(name), settings, set()):
            raise InconsistentAdapterError(f"tensor {show(name)} is not part of a {settings.peft_type} adapter")
        extras.append(name)
    return {}, sorted(extras)


def _check_prompt_shape(info: TensorInfo, peft_type: str, config: Config) -> None:
    """Compare prompt_embeddings with num_virtual_tokens, token_dim and friends when the config has them."""
    tokens = get_int(config, "num_virtual_tokens", None)
    token_dim = get_int(config, "token_dim", None)
    if peft_type == "PREFIX_TUNING":
        layers = get_int(config, "num_layers", None)
        width = layers * 2 * token_dim if layers and token_dim else None
        expected, layout = (tokens, width), "[num_virtual_tokens, num_layers * 2 * token_dim]"
    else:
        seq2seq = config.get("task_type") == "SEQ_2_SEQ_LM"
        submodules = get_int(config, "num_transformer_submodules", None) or (2 if seq2seq else 1)
        expected = (tokens * submodules if tokens else None, token_dim)
        layout = "[num_virtual_tokens * num_transformer_submodules, token_dim]"
    actual = info.shape
    if len(actual) != 2 or any(want is not None and want != got for want, got in zip(expected, actual, strict=True)):
        shown = [("?" if want is None else want) for want in expected]
        raise InconsistentAdapterError(
            f"tensor {show(info.name)} has shape {list(actual)}; the config gives {layout} = {shown}"
        )


def check_other(tensors: Tensors, settings: PeftSettings) -> tuple[Modules, list[str]]:
    """Other methods: no structural checks; modules are read from the tuner's parameter prefix."""
    known = PEFT_TYPE_TO_PREFIX.get(settings.peft_type)
    prefixes = (known,) if known else tuple(set(PEFT_TYPE_TO_PREFIX.values()))
    modules: Modules = {}
    extras = []
    for name in tensors:
        key = strip_prefix(name)
        path = _module_before_prefix(key, prefixes)
        if path:
            modules[path] = ModuleInfo("other", None, None, None)
        elif is_allowed_extra(key, settings, set()):
            extras.append(name)
    return dict(sorted(modules.items())), sorted(extras)


def _module_before_prefix(key: str, prefixes: tuple[str, ...]) -> str | None:
    """Path before the first tuner-prefixed segment: a.b.q_proj.hada_w1_a -> a.b.q_proj."""
    segments = key.split(".")
    for index, segment in enumerate(segments[1:], start=1):
        if segment.startswith(prefixes):
            return ".".join(segments[:index])
    return None
