"""What the publisher states about an adapter (base model, task, license...), checked and completed."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from hub.errors import InvalidMetadata
from hub.naming import check_file_path, check_tag
from sdk.formats import SHA256_RE

_BASE_ID_RE = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}/)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}")
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_LICENSE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}")
_REVISION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
MAX_TAGS = 32
MAX_LINEAGE = 64
MAX_DESCRIPTION = 200_000
# PEFT's task_type names the model head; the hub's task facet uses Hugging Face pipeline names.
TASK_FROM_PEFT = {
    "CAUSAL_LM": "text-generation",
    "SEQ_CLS": "text-classification",
    "TOKEN_CLS": "token-classification",
    "SEQ_2_SEQ_LM": "text2text-generation",
    "QUESTION_ANS": "question-answering",
    "FEATURE_EXTRACTION": "feature-extraction",
}


@dataclass
class PublishMetadata:
    base_model: str | None = None
    base_revision: str | None = None
    base_model_type: str | None = None
    base_fingerprint: str | None = None
    task: str | None = None
    license: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    private: bool | None = None  # None keeps the adapter's current visibility (public for a new one)
    # A merged adapter's sources, [{adapter, revision, version?, weight}]; checked against the catalogue by
    # hub/registry/publish/lineage.py, which needs the database (complete_metadata only checks their form).
    lineage: list[dict[str, Any]] = field(default_factory=list)
    # Pickles the client converted to safetensors before upload (sdk/collect.py); kept in the version's facts.
    converted_from: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BaseStated:
    """The base model as the adapter's previous live version names it: what a new version inherits."""

    base_model: str
    base_revision: str | None = None
    base_model_type: str | None = None


def complete_metadata(
    meta: PublishMetadata,
    config: dict[str, Any],
    facts: dict[str, Any] | None = None,
    previous: BaseStated | None = None,
) -> PublishMetadata:
    """Fill gaps from adapter_config.json (and, for `adapters`/OpenDelta, from the facts: base model name
    and model type), then from the previous version's base, then check every field; raise InvalidMetadata
    naming it."""
    facts = facts or {}
    base_model = meta.base_model or config.get("base_model_name_or_path") or facts.get("base_model") or None
    # A new version need not restate its base: the previous one's holds, with its revision and type
    # (only when the base is the same one: another base's revision would be meaningless).
    base_model = base_model or (previous.base_model if previous else None)
    same_base = previous if previous and previous.base_model == base_model else BaseStated("")
    revision = meta.base_revision or config.get("revision") or same_base.base_revision
    model_type = meta.base_model_type or facts.get("model_type") or same_base.base_model_type
    task = meta.task or TASK_FROM_PEFT.get(str(config.get("task_type")))
    done = PublishMetadata(
        base_model=check_base_model(base_model, from_config=not meta.base_model),
        base_revision=_optional(revision, _REVISION_RE, "base_revision"),
        base_model_type=_optional(model_type, _SLUG_RE, "base_model_type"),
        base_fingerprint=_optional(meta.base_fingerprint, SHA256_RE, "base_fingerprint (64 lower-case hex)"),
        task=_optional(task, _SLUG_RE, "task"),
        license=_optional(meta.license, _LICENSE_RE, "license"),
        tags=_check_tags(meta.tags),
        description=_check_description(meta.description),
        private=meta.private,
        lineage=_check_lineage_form(meta.lineage),
        converted_from=_check_converted(meta.converted_from),
    )
    return done


def check_base_model(value: object, *, from_config: bool = False) -> str:
    source = "adapter_config.json's base_model_name_or_path" if from_config else "base_model"
    if not value or not isinstance(value, str):
        raise InvalidMetadata("base_model is required: the canonical id of the base model, e.g. 'gpt2'.")
    if _looks_local(value):
        raise InvalidMetadata(
            f"{source} is {value[:120]!r}, a local path; give the canonical model id instead "
            "(e.g. 'meta-llama/Llama-3.1-8B') with base_model=."
        )
    if not _BASE_ID_RE.fullmatch(value) or ".." in value or "--" in value:
        raise InvalidMetadata(f"{source} {value[:120]!r} is not a model id like 'gpt2' or 'org/model-name'.")
    return value


def _looks_local(value: str) -> bool:
    return value.startswith(("/", ".", "~")) or "\\" in value or bool(re.match(r"[A-Za-z]:", value))


def _optional(value: object, pattern: re.Pattern[str], name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidMetadata(f"{name} {str(value)[:80]!r} is not valid; it must match {pattern.pattern}.")
    return value


def _check_tags(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise InvalidMetadata(f"{len(tags)} tags given; the limit is {MAX_TAGS}.")
    return sorted({check_tag(tag) for tag in tags})


def _check_lineage_form(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(entries) > MAX_LINEAGE:
        raise InvalidMetadata(f"lineage names {len(entries)} sources; the limit is {MAX_LINEAGE}.")
    for index, entry in enumerate(entries):
        weight = entry.get("weight")
        if not isinstance(entry.get("adapter"), str) or not isinstance(entry.get("revision"), str):
            raise InvalidMetadata(f"lineage[{index}] needs an adapter name and a revision id.")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise InvalidMetadata(f"lineage[{index}]: weight {str(weight)[:40]!r} is not a finite number.")
    return entries


def _check_converted(names: list[str]) -> list[str]:
    """File names only: the client says which pickles it converted; the hub never saw them."""
    for name in names:
        if not isinstance(name, str) or not name.lower().endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl")):
            raise InvalidMetadata(f"converted_from entry {str(name)[:80]!r} is not the name of a pickled weights file.")
        check_file_path(name)
    return sorted(set(names))


def _check_description(text: str | None) -> str | None:
    if text is not None and len(text) > MAX_DESCRIPTION:
        raise InvalidMetadata(f"The description is {len(text)} characters; the limit is {MAX_DESCRIPTION}.")
    return text
