"""What the adapter page shows about a version: the metadata table, files, usage snippets, compat rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hub.api.render import file_path
from hub.registry.catalog.bases import BaseStructure
from hub.registry.catalog.sizes import adapted_share, count_text
from hub.registry.models import RegisteredBase, Version
from hub.signing.verify import signature_view
from sdk.formats.compat import CompatReport, ModelStructure, adapted_kind
from web.templating import NONE, filesize, method_name, number, plural

# PEFT's task_type names the model head; the matching transformers Auto class loads the base for it.
AUTO_CLASS = {
    "CAUSAL_LM": "AutoModelForCausalLM",
    "SEQ_CLS": "AutoModelForSequenceClassification",
    "TOKEN_CLS": "AutoModelForTokenClassification",
    "SEQ_2_SEQ_LM": "AutoModelForSeq2SeqLM",
    "QUESTION_ANS": "AutoModelForQuestionAnswering",
}
# Path segments after which a layer index follows (model.layers.3, transformer.h.3, encoder.layer.3).
_LAYER_LISTS = frozenset({"layers", "h", "layer", "blocks", "block"})


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    href: str | None = None


@dataclass(frozen=True)
class Snippet:
    title: str
    code: str


@dataclass(frozen=True)
class ModuleVerdict:
    module: str
    expected: str
    found: str
    ok: bool
    verdict: str  # a few words
    detail: str  # the checker's full sentence


VERDICTS = {
    "missing_module": "the model has no such module",
    "shape_mismatch": "sizes differ",
    "unsupported_module": "this kind of module cannot be adapted",
    "ignored_tensor": "a saved tensor would be ignored",
    "layer_count": "the model has fewer layers",
}


def metadata_rows(version: Version, base: dict[str, Any]) -> list[Row]:
    """`base`: the version beside its registered base (hub/registry/catalog/sizes.py share_of_base)."""
    facts = version.facts or {}
    rows = [
        Row("Base model", version.base_model, f"/bases/{quote(version.base_model)}"),
        Row("Base revision", version.base_revision or "not pinned"),
        Row("Architecture", version.base_model_type or "not stated"),
        Row("Method", _method(version, facts)),
        Row("Rank", _rank(version, facts)),
        Row("Target modules", ", ".join(version.target_modules) or NONE),
        Row("Layers", _layers(facts.get("layers") or [])),
        Row("Trainable parameters", trainable_share(version.trainable_params, facts.get("modules") or {})),
        Row("Size on disk", filesize(version.total_bytes)),
        Row("Share of the base", base["text"]),
        Row("License", version.adapter.license or "not stated"),
        Row("Library", " ".join(filter(None, [version.library, version.library_version]))),
        Row("Task", version.task or "not stated"),
        Row("Signature", signature_text(version)),
    ]
    return rows


def signature_text(version: Version) -> str:
    """ "Signed by ..." (with the key, and whether it is still trusted) or "Unsigned"."""
    signature = signature_view(version)
    if signature is None:
        return "Unsigned"
    trust = "verified at publish" if signature["trusted"] else "its key has since been revoked: not trusted"
    return f"Signed by {signature['signer']} ({signature['kind']} {signature['key_id'][:16]}, {trust})"


def _method(version: Version, facts: dict[str, Any]) -> str:
    extras = [name for name, flag in (("DoRA", facts.get("use_dora")), ("rsLoRA", facts.get("use_rslora"))) if flag]
    return " + ".join([method_name(version.method), *extras])


def _rank(version: Version, facts: dict[str, Any]) -> str:
    if version.rank is None:
        return NONE
    alpha = facts.get("alpha")
    ranks = {info.get("rank") for info in (facts.get("modules") or {}).values()} - {None}
    varied = " (largest; varies by module)" if len(ranks) > 1 else ""
    return f"{version.rank}{varied}" + (f", alpha {alpha:g}" if isinstance(alpha, int | float) else "")


def _layers(layers: list[int]) -> str:
    if not layers:
        return NONE
    return f"{len(layers)} ({min(layers)}-{max(layers)})" if len(layers) > 1 else f"1 (layer {layers[0]})"


def trainable_share(trainable: int, modules: dict[str, dict[str, Any]]) -> str:
    """The count, and its share of the adapted modules' own weights when their sizes are all known
    (hub/registry/catalog/sizes.py)."""
    share = adapted_share(trainable, modules)
    if share is None:
        return number(trainable)
    return f"{number(trainable)} ({100 * share:.2g}% of the {len(modules)} adapted modules' weights)"


def file_rows(version: Version) -> list[dict[str, Any]]:
    return [
        {"path": f.path, "size": f.size, "sha256": f.sha256, "url": file_path(version, f.path)} for f in version.files
    ]


# The one line of each Python snippet a reader may have to change: the hub holds adapters, never base models.
BASE_LINE = 'BASE = "{base}"  # or the path of your local copy'


def snippets(adapter_id: str, version: Version, hub_url: str, *, pinned: bool, private: bool = False) -> list[Snippet]:
    """SDK, CLI and plain PEFT ways to use the adapter; each runs as pasted against this hub (BASE_LINE aside).

    The PEFT one downloads from the hub's Hugging Face API with an explicit endpoint= and loads the base from
    huggingface.co or a local folder: with HF_ENDPOINT set, the base model would be looked for on this hub.
    """
    ref = f"{adapter_id}@v{version.number}" if pinned else adapter_id
    auto = AUTO_CLASS.get(str((version.facts or {}).get("task_type")), "AutoModel")
    load_base = f"{BASE_LINE.format(base=version.base_model)}\nbase = {auto}.from_pretrained(BASE)\n"
    return [
        Snippet("Python SDK", _sdk_snippet(ref, hub_url, auto, load_base)),
        Snippet("Command line", f"HUB_URL={hub_url} hub pull {ref}"),
        Snippet(
            "PEFT (files through the hub's Hugging Face API)",
            _peft_snippet(adapter_id, version, hub_url, auto, load_base, pinned=pinned, private=private),
        ),
    ]


def _sdk_snippet(ref: str, hub_url: str, auto: str, load_base: str) -> str:
    return (
        f"from sdk import Hub\nfrom transformers import {auto}\n\n{load_base}"
        f'model = Hub("{hub_url}").pull("{ref}", into=base)'
    )


def _peft_snippet(
    adapter_id: str, version: Version, hub_url: str, auto: str, load_base: str, *, pinned: bool, private: bool
) -> str:
    revision = f'    revision="{version.revision}",\n' if pinned else ""
    # False: never send a stored huggingface.co token to this hub; a private adapter needs one of this hub's.
    token = '    token=os.environ["HUB_TOKEN"],  # a token of this hub\n' if private else "    token=False,\n"
    return (
        ("import os\n\n" if private else "")
        + "from huggingface_hub import snapshot_download\nfrom peft import PeftModel\n"
        + f"from transformers import {auto}\n\n"
        + load_base
        + f'folder = snapshot_download(\n    "{adapter_id}",\n{revision}    endpoint="{hub_url}",\n{token})\n'
        + "model = PeftModel.from_pretrained(base, folder)"
    )


def module_verdicts(version: Version, structure: ModelStructure, report: CompatReport) -> list[ModuleVerdict]:
    """One row per adapted module: what the adapter expects, what the base has, and the verdict."""
    problems = {problem.module: problem for problem in report.errors if problem.module}
    rows = []
    for path, info in sorted((version.facts.get("modules") or {}).items(), key=lambda item: _natural(item[0])):
        found = structure.modules.get(path)
        problem = problems.get(path)
        rows.append(
            ModuleVerdict(
                module=path,
                expected=_expected(info),
                found=f"{found.kind} {_side(found.in_features)} → {_side(found.out_features)}" if found else "absent",
                ok=problem is None,
                verdict=VERDICTS.get(problem.kind, problem.kind) if problem else "fits",
                detail=problem.message if problem else "",
            )
        )
    return rows


def _expected(info: dict[str, Any]) -> str:
    """As the SDK words it: a LoRA on linear tensors sits on a linear or a GPT-2 conv1d alike."""
    return f"{adapted_kind(info.get('kind'))} {_side(info.get('in_features'))} → {_side(info.get('out_features'))}"


def verdict_line(report: CompatReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    parts = [plural(errors, "error")] if errors else []
    parts += [plural(warnings, "warning")] if warnings else []
    return ", ".join([*parts, f"{plural(report.checked_modules, 'adapter module')} checked"])


def _side(value: object) -> str:
    return "?" if value is None else str(value)


def _natural(path: str) -> list[tuple[int, int, str]]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in path.split(".")]


def structure_rows(base: BaseStructure) -> list[Row]:
    """What the hub knows of a base model, from the adapters published for it."""
    structure = base.structure
    kinds = sorted({shape.kind for shape in structure.modules.values()})
    return [
        Row("Architecture", structure.model_type or "not stated"),
        Row("Modules known", f"{len(structure.modules):,} ({', '.join(kinds)})"),
        Row("Layers seen", _layers(sorted(_layer_indices(structure.modules)))),
        Row("Fingerprint", structure.fingerprint[:16] + "…" if structure.fingerprint else "not stated"),
        Row("Learnt from", f"{base.versions_read:,} published version{'s' * (base.versions_read != 1)}"),
    ]


def registered_rows(base: RegisteredBase) -> list[Row]:
    """A registered base, whole: from its config.json and safetensors headers (hub/registry/catalog/registered.py)."""
    return [
        Row("Architecture", base.model_type or "not stated"),
        Row("Registered revision", base.revision),
        Row("Layers", number(base.num_layers)),
        Row("Hidden size", number(base.hidden_size)),
        Row("Vocabulary", number(base.vocab_size)),
        Row("Total parameters", f"{number(base.total_parameters)} ({count_text(base.total_parameters)})"),
        Row("Weights", f"{filesize(base.total_bytes)}, {base.dtype}"),
        Row("Modules", number(len(base.structure.get("modules") or {}))),
        Row("Fingerprint", base.fingerprint[:16] + "…"),
    ]


def _layer_indices(paths: dict[str, Any]) -> set[int]:
    indices = set()
    for path in paths:
        parts = path.split(".")
        indices.update(int(b) for a, b in itertools.pairwise(parts) if a in _LAYER_LISTS and b.isdigit())
    return indices
