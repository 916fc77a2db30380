"""Line up the module paths of an `adapters` or OpenDelta adapter with a model's, before the compatibility check.

Both libraries save keys under the module paths of whatever model they were attached to: a BertModel gives
``encoder.layer.0...``, a BertForSequenceClassification ``bert.encoder.layer.0...``, and `adapters` itself
adds or strips that base-model prefix when loading (loading.py: WeightsLoaderHelper). PEFT keys are taken
as they are, as PEFT takes them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

Rename = Callable[[str], str]
PREFIXED_LIBRARIES = frozenset({"adapters", "opendelta"})


def align_facts(facts: Mapping[str, object], model_paths: Collection[str]) -> Mapping[str, object]:
    """`facts` with module paths (and extra tensor names) re-prefixed so that most of them are model paths.

    Tries the paths as they are, without their common first segment, and under each first segment of the
    model's paths; keeps them as they are unless another choice matches strictly more modules.
    """
    if not isinstance(facts, Mapping):
        return facts  # check_compatibility reports the type error
    modules = facts.get("modules")
    if facts.get("library") not in PREFIXED_LIBRARIES or not isinstance(modules, Mapping) or not modules:
        return facts
    best = choose_rename(list(modules), model_paths)
    extras = facts.get("extra_tensors")
    renamed = {**facts, "modules": {best(path): info for path, info in modules.items()}}
    if isinstance(extras, list):
        renamed["extra_tensors"] = [best(name) if isinstance(name, str) else name for name in extras]
    return renamed


def choose_rename(paths: list[str], model_paths: Collection[str]) -> Rename:
    """The renaming (identity, strip the first segment, or add a model prefix) that finds most paths."""
    present = set(model_paths)
    best: Rename = str
    best_hits = _hits(paths, present, best)
    for rename in _candidates(paths, present):
        hits = _hits(paths, present, rename)
        if hits > best_hits:
            best, best_hits = rename, hits
    return best


def _candidates(paths: list[str], present: set[str]) -> list[Rename]:
    firsts = {path.split(".", 1)[0] for path in paths}
    candidates: list[Rename] = []
    if len(firsts) == 1 and all("." in path for path in paths):
        candidates.append(lambda path: path.split(".", 1)[1])
    for prefix in sorted({path.split(".", 1)[0] for path in present if "." in path}):
        candidates.append(lambda path, prefix=prefix: f"{prefix}.{path}")
    return candidates


def _hits(paths: list[str], present: set[str], rename: Rename) -> int:
    return sum(rename(path) in present for path in paths)
