"""Will this adapter fit that model? A check from the adapter's facts alone, before any weight is fetched.

The adapter side is ``AdapterFacts.to_dict()`` (sdk/formats/peft.py: per-module in/out read from the
safetensors header); the model side is a ``ModelStructure`` (module path -> kind and sizes), computed from
a live or meta-device model by ``sdk.torch.structure.model_structure`` or pasted as text in the web UI.
Unlike PEFT, which ignores checkpoint keys that match no module, every adapter module must be found
(docs/adapter-formats.md 1.8 and 6.2).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from sdk.formats._align import align_facts
from sdk.formats._peft_config import LAYER_SEGMENTS
from sdk.formats._peft_keys import layer_index, strip_prefix

MODULE_KINDS = ("linear", "conv1d", "embedding", "conv2d", "other")
# In the order the report lists them.
PROBLEM_KINDS = ("layer_count", "missing_module", "shape_mismatch", "unsupported_module", "ignored_tensor",
                 "fingerprint_mismatch", "model_type_mismatch")  # fmt: skip
# Which base modules each kind of adapted module (ModuleInfo.kind in sdk/formats/_peft_keys.py) can sit on.
# LoRA's linear tensors fit nn.Linear and GPT-2's Conv1D alike; "other" base modules qualify only when
# they report channel counts (nn.Conv1d/Conv3d), never for norms and the like.
_TARGETABLE: dict[str, frozenset[str]] = {
    "linear": frozenset({"linear", "conv1d"}),
    "conv": frozenset({"conv2d", "other"}),
    "embedding": frozenset({"embedding"}),
    "ia3": frozenset({"linear", "conv1d", "conv2d", "other"}),
}
# Wrapper segments that own a saved extra tensor without being the base module itself.
_OWNER_SUFFIXES = (".base_layer", ".original_module", ".token_adapter")
_NONE_TOKENS = frozenset({"-", "?", "none", "null"})


@dataclass(frozen=True)
class ModuleShape:
    """A base-model module as the check sees it.

    embedding: in_features = num_embeddings, out_features = embedding_dim; conv2d: channels;
    conv1d is GPT-2's Conv1D (weight [in, out]), not torch's nn.Conv1d (which is "other").
    """

    kind: str
    in_features: int | None
    out_features: int | None

    def describe(self) -> str:
        return f"{self.kind} in={_size(self.in_features)} out={_size(self.out_features)}"


@dataclass(frozen=True)
class ModelStructure:
    """The modules of a base model (paths as in the base's named_modules()) and its identity."""

    modules: dict[str, ModuleShape]
    model_type: str | None = None
    fingerprint: str | None = None
    num_layers: int | None = None

    @classmethod
    def from_text(cls, text: str) -> ModelStructure:
        """Parse lines ``path in out`` (a linear) or ``path kind in out``; blank lines and ``#`` comments skip.

        A size may be ``-`` for an "other" module. ValueError names the line at fault.
        """
        modules: dict[str, ModuleShape] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            path, shape = _parse_line(words, number)
            if path in modules:
                raise ValueError(f"line {number}: module {path!r} is listed twice")
            modules[path] = shape
        if not modules:
            raise ValueError("no module listed (expected lines 'module.path in out' or 'module.path kind in out')")
        return cls(modules)

    def to_text(self) -> str:
        """The ``path kind in out`` form from_text reads back."""
        return "".join(
            f"{path} {shape.kind} {_size(shape.in_features, '-')} {_size(shape.out_features, '-')}\n"
            for path, shape in self.modules.items()
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: modules become {path: [kind, in, out]} to keep 7B-sized structures compact."""
        return {
            "model_type": self.model_type,
            "fingerprint": self.fingerprint,
            "num_layers": self.num_layers,
            "modules": {path: [s.kind, s.in_features, s.out_features] for path, s in self.modules.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ModelStructure:
        """Inverse of to_dict; ValueError on a malformed document (it may come from a web form)."""
        raw = data.get("modules")
        if not isinstance(raw, dict):
            raise ValueError("structure 'modules' must be an object of module path -> [kind, in, out]")
        modules = {path: _shape_from_json(path, value) for path, value in raw.items()}
        num_layers = data.get("num_layers")
        if num_layers is not None and (type(num_layers) is not int or num_layers < 0):
            raise ValueError(f"structure 'num_layers' must be a non-negative integer, got {num_layers!r}")
        return cls(modules, _optional_str(data, "model_type"), _optional_str(data, "fingerprint"), num_layers)


@dataclass(frozen=True)
class Problem:
    """One finding: the module concerned, what is wrong, and how bad."""

    module: str
    kind: str
    severity: str  # "error" | "warning"
    message: str


@dataclass
class CompatReport:
    """The outcome of check_compatibility; ``ok`` when no problem is an error."""

    problems: list[Problem] = field(default_factory=list)
    checked_modules: int = 0
    fingerprint_match: bool | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    def summary(self) -> str:
        """One line: "compatible" or "NOT compatible: N errors", with counts."""
        errors, warnings = len(self.errors), len(self.warnings)
        head = "compatible" if not errors else f"NOT compatible: {errors} error{'s' * (errors != 1)}"
        tail = f", {warnings} warning{'s' * (warnings != 1)}" if warnings else ""
        note = {True: "; base fingerprint equal", False: "; base fingerprint differs", None: ""}[self.fingerprint_match]
        return f"{head}{tail} ({self.checked_modules} adapter modules checked{note})"

    def refusal(self, force: bool = False) -> str | None:
        """Why loading must not go ahead, or None when it may: any error refuses, warnings unless `force`.

        Warnings (another base fingerprint or model type) only hint, since shapes are checked anyway;
        `force` loads despite them, never despite an error.
        """
        if self.errors:
            return str(self)
        if self.warnings and not force:
            return f"{self}\n(pass force=True to load despite these warnings)"
        return None

    def __str__(self) -> str:
        lines = [self.summary()]
        for severity, problems in (("errors", self.errors), ("warnings", self.warnings)):
            if problems:
                lines.append(f"{severity}:")
                ordered = sorted(problems, key=lambda problem: PROBLEM_KINDS.index(problem.kind))
                lines.extend(f"  [{problem.kind}] {problem.message}" for problem in ordered)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "summary": self.summary(),
            "checked_modules": self.checked_modules,
            "fingerprint_match": self.fingerprint_match,
            "problems": [asdict(problem) for problem in self.problems],
        }


def check_compatibility(
    facts: Mapping[str, object],
    structure: ModelStructure,
    *,
    base_fingerprint: str | None = None,
    base_model_type: str | None = None,
) -> CompatReport:
    """Compare an adapter's facts (AdapterFacts.to_dict()) with a model's structure, module by module.

    Errors: adapter modules the model lacks (plus one layer_count error when whole layers are missing),
    size mismatches, module kinds the method cannot adapt, saved extra tensors nothing would receive.
    Warnings: a different base fingerprint or model type (shapes are checked anyway, so these only hint).
    """
    facts = align_facts(facts, structure.modules)  # `adapters`/OpenDelta keys may carry a head model's prefix
    modules = _adapter_modules(facts)
    report = CompatReport(checked_modules=len(modules))
    report.problems.extend(_layer_problems(facts, modules, structure))
    for path in sorted(modules, key=_natural_key):
        report.problems.extend(_module_problems(path, modules[path], structure.modules.get(path)))
    report.problems.extend(_ignored_tensors(facts, structure))
    report.fingerprint_match = _same(base_fingerprint, structure.fingerprint)
    report.problems.extend(_identity_problems(report, structure, base_fingerprint, base_model_type))
    return report


def _module_problems(path: str, adapted: Mapping[str, object], shape: ModuleShape | None) -> list[Problem]:
    """missing_module, unsupported_module or shape_mismatch for one adapter module."""
    expected = _expectation(adapted)
    if shape is None:
        message = f"{path}: the adapter adapts {expected}; the model has no such module"
        return [Problem(path, "missing_module", "error", message)]
    if not _can_adapt(str(adapted.get("kind")), shape):
        message = f"{path}: the adapter adapts {expected}; the model's module is {shape.kind}, which it cannot adapt"
        return [Problem(path, "unsupported_module", "error", message)]
    mismatched = [
        side
        for side, want, have in (
            ("in", adapted.get("in_features"), shape.in_features),
            ("out", adapted.get("out_features"), shape.out_features),
        )
        if want is not None and have is not None and want != have
    ]
    if not mismatched:
        return []
    differ = "/".join(mismatched)
    message = f"{path}: the adapter expects {expected}; the model has {shape.describe()} ({differ} differ)"
    return [Problem(path, "shape_mismatch", "error", message)]


def _can_adapt(adapted_kind: str, shape: ModuleShape) -> bool:
    """Whether a module of `shape` can hold an adapted module of `adapted_kind` (unknown kinds: yes)."""
    allowed = _TARGETABLE.get(adapted_kind)
    if allowed is None:
        return True
    if shape.kind == "other" and shape.in_features is None and shape.out_features is None:
        return False
    return shape.kind in allowed


def _layer_problems(
    facts: Mapping[str, object], modules: Mapping[str, Mapping[str, object]], structure: ModelStructure
) -> list[Problem]:
    """One layer_count error when the adapter covers layer indices beyond the model's last layer."""
    adapter_layers = [index for index in _items(facts.get("layers"), int) if index >= 0]
    model_layers = structure.num_layers if structure.num_layers is not None else _count_layers(structure.modules)
    if not adapter_layers or model_layers is None:
        return []
    beyond = [index for index in adapter_layers if index >= model_layers]
    if not beyond:
        return []
    container = _layer_container(modules, beyond[0])
    message = (
        f"{container or 'layers'}: the adapter covers layers {_ranges(adapter_layers)} "
        f"({max(adapter_layers) + 1} or more layers); the model has {model_layers} "
        f"({_ranges(range(model_layers)) or 'none'}), so layers {_ranges(beyond)} are missing"
    )
    return [Problem(container, "layer_count", "error", message)]


def _ignored_tensors(facts: Mapping[str, object], structure: ModelStructure) -> list[Problem]:
    """Saved extras (modules_to_save copies, biases, embeddings) whose module the model lacks."""
    problems = []
    for name in _items(facts.get("extra_tensors"), str):
        key = strip_prefix(name)
        owner = _owner_of(key)
        if owner and owner not in structure.modules:
            message = f"{owner}: tensor {name!r} would be ignored: the model has no module {owner!r} to load it into"
            problems.append(Problem(owner, "ignored_tensor", "error", message))
    return problems


def _owner_of(key: str) -> str:
    """The base module a saved extra belongs to: lm_head.weight -> lm_head, x.base_layer.bias -> x."""
    owner = key.rpartition(".")[0]
    for suffix in _OWNER_SUFFIXES:
        if owner.endswith(suffix):
            return owner[: -len(suffix)]
    return owner


def _identity_problems(
    report: CompatReport, structure: ModelStructure, fingerprint: str | None, model_type: str | None
) -> list[Problem]:
    """Warnings only: the module-by-module shape check above is what decides."""
    problems = []
    if report.fingerprint_match is False:
        message = (
            f"base fingerprint: the adapter was published for base {str(fingerprint)[:12]}, this model is "
            f"{str(structure.fingerprint)[:12]} (another architecture or configuration)"
        )
        problems.append(Problem("", "fingerprint_mismatch", "warning", message))
    if _same(model_type, structure.model_type) is False:
        message = f"model type: the adapter was trained on a {model_type!r} model; this one is {structure.model_type!r}"
        problems.append(Problem("", "model_type_mismatch", "warning", message))
    return problems


def _adapter_modules(facts: Mapping[str, object]) -> dict[str, Mapping[str, object]]:
    if not isinstance(facts, Mapping):
        raise TypeError(f"facts must be a dict (AdapterFacts.to_dict()), got {type(facts).__name__}")
    modules = facts.get("modules") or {}
    if not isinstance(modules, Mapping) or not all(isinstance(info, Mapping) for info in modules.values()):
        raise ValueError("facts['modules'] must map module paths to {kind, in_features, out_features, rank}")
    return dict(modules)


def adapted_kind(kind: object) -> str:
    """Which base modules an adapted module of this kind sits on, in words ("linear or conv1d")."""
    return {"linear": "linear or conv1d", "conv": "conv2d"}.get(str(kind), str(kind))


def _expectation(adapted: Mapping[str, object]) -> str:
    kind = adapted.get("kind")
    shown = ("a " if kind == "conv" else "") + adapted_kind(kind)
    sizes = f"in={_size(adapted.get('in_features'))} out={_size(adapted.get('out_features'))}"
    rank = adapted.get("rank")
    return f"{shown} {sizes}" + (f" (rank {rank})" if rank is not None else "")


def _count_layers(modules: Iterable[str]) -> int | None:
    """1 + the highest layer index among the model's module paths; None when no path has one."""
    indices = [index for path in modules if (index := layer_index(path, LAYER_SEGMENTS)) is not None]
    return max(indices) + 1 if indices else None


def _layer_container(modules: Iterable[str], index: int) -> str:
    """The path of the layer list ("model.layers") from an adapter module in layer `index`."""
    for path in modules:
        parts = path.split(".")
        for position, (name, number) in enumerate(itertools.pairwise(parts)):
            if name in LAYER_SEGMENTS and number == str(index):
                return ".".join(parts[: position + 1])
    return ""


def _ranges(indices: Iterable[int]) -> str:
    """[0, 1, 2, 5] -> "0-2, 5"."""
    spans: list[list[int]] = []
    for index in sorted(set(indices)):
        if spans and index == spans[-1][1] + 1:
            spans[-1][1] = index
        else:
            spans.append([index, index])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _parse_line(words: list[str], number: int) -> tuple[str, ModuleShape]:
    if len(words) == 3:
        words = [words[0], "linear", words[1], words[2]]
    if len(words) != 4:
        expected = "'module.path in out' or 'module.path kind in out'"
        raise ValueError(f"line {number}: expected {expected}, got {len(words)} fields")
    path, kind, fan_in, fan_out = words
    if kind not in MODULE_KINDS:
        raise ValueError(f"line {number}: kind {kind!r} is not one of {', '.join(MODULE_KINDS)}")
    try:
        return path, _checked_shape(kind, _parse_size(fan_in), _parse_size(fan_out))
    except ValueError as exc:
        raise ValueError(f"line {number} ({path}): {exc}") from None


def _parse_size(word: str) -> int | None:
    if word.lower() in _NONE_TOKENS:
        return None
    if not word.isascii() or not word.isdigit():
        raise ValueError(f"size {word!r} is not a positive integer")
    return int(word)


def _checked_shape(kind: str, fan_in: object, fan_out: object) -> ModuleShape:
    for value in (fan_in, fan_out):
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(f"size {value!r} is not a positive integer")
        if value is None and kind != "other":
            raise ValueError(f"a {kind} module needs both sizes")
    return ModuleShape(kind, fan_in, fan_out)  # type: ignore[arg-type]


def _shape_from_json(path: object, value: object) -> ModuleShape:
    if not isinstance(path, str) or not path:
        raise ValueError(f"module path {path!r} must be a non-empty string")
    if isinstance(value, dict):
        value = [value.get("kind"), value.get("in_features"), value.get("out_features")]
    if not isinstance(value, list) or len(value) != 3 or value[0] not in MODULE_KINDS:
        raise ValueError(f"module {path!r}: expected [kind, in, out] with kind one of {', '.join(MODULE_KINDS)}")
    try:
        return _checked_shape(*value)
    except ValueError as exc:
        raise ValueError(f"module {path!r}: {exc}") from None


def _optional_str(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"structure {key!r} must be a string or null, got {type(value).__name__}")
    return value or None


def _items(value: object, kind: type) -> list:
    """The items of type `kind` of a list field of the facts (anything else: none)."""
    return [item for item in value if type(item) is kind] if isinstance(value, list) else []


def _same(adapter: str | None, model: str | None) -> bool | None:
    return None if adapter is None or model is None else adapter == model


def _size(value: object, unknown: str = "?") -> str:
    return unknown if value is None else str(value)


def _natural_key(path: str) -> list[object]:
    """Sort layers.2 before layers.10."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.split(".")]
