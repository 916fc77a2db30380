"""Base models as the hub knows them: which bases adapters are published for, and each base's structure.

The hub never downloads a base model. What it knows of one is what the adapters published for it
reveal: every adapted module's path, kind and in/out sizes (Version.facts["modules"]). The union over
all published versions is a partial map of the base, enough to say whether another adapter fits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload

from hub.errors import NotFound
from hub.registry.models import Adapter, Version
from hub.registry.search.facet_cache import FacetCache
from hub.registry.search.query import SearchQuery, search
from hub.registry.visibility import visible_to
from sdk.formats.compat import CompatReport, ModelStructure, ModuleShape, check_compatibility

# Adapter module kinds (sdk/formats/_peft_keys.py ModuleInfo.kind) -> the base module kind they sit on.
# IA3 vectors reveal one side only; the other stays None until another adapter reveals it.
_BASE_KIND = {"linear": "linear", "ia3": "linear", "embedding": "embedding", "conv": "conv2d"}
# The union stops growing after a few adapters; beyond this many versions, reading more only costs time.
MAX_VERSIONS_READ = 1000
# Candidates from other bases are checked one by one in Python, so their number is bounded.
MAX_CANDIDATES = 100


@dataclass(frozen=True)
class KnownBase:
    model_id: str
    adapters: int


@dataclass(frozen=True)
class BaseStructure:
    model_id: str
    structure: ModelStructure
    versions_read: int


def known_bases(session: Session, cache: FacetCache | None = None) -> list[KnownBase]:
    """Bases that public adapters are published for, the most used first: the base-model facet of an
    unfiltered search, so it shares the front page's cached counts instead of scanning the catalogue again."""
    counts = search(session, SearchQuery(limit=1), cache).facets["base_model"]
    return [KnownBase(model_id, adapters) for model_id, adapters in counts]


def base_structure(session: Session, model_id: str) -> BaseStructure:
    """The union of the module shapes every public version published for `model_id` records."""
    query = (
        select(Version.facts, Version.base_model_type, Version.base_fingerprint)
        .join(Adapter, Adapter.id == Version.adapter_id)
        .where(Version.base_model == model_id, Version.is_live, *_public_live())
        .order_by(Version.id.desc())
        .limit(MAX_VERSIONS_READ)
    )
    rows = session.execute(query).all()
    if not rows:
        raise NotFound(f"No adapter on this hub is published for the base model {model_id[:200]!r}.")
    structure = ModelStructure(
        modules=merge_modules(facts.get("modules") or {} for facts, _, _ in rows),
        model_type=_most_common(model_type for _, model_type, _ in rows),
        fingerprint=_only(fingerprint for _, _, fingerprint in rows),
    )
    return BaseStructure(model_id, structure, len(rows))


def merge_modules(recorded: Iterable[dict[str, Any]]) -> dict[str, ModuleShape]:
    """Union of per-module shapes; a size one adapter leaves unknown is filled in from another."""
    merged: dict[str, ModuleShape] = {}
    for modules in recorded:
        for path, info in modules.items():
            merged[path] = _merge(merged.get(path), info)
    return merged


def _merge(known: ModuleShape | None, info: dict[str, Any]) -> ModuleShape:
    kind = _BASE_KIND.get(str(info.get("kind")), "other")
    if known is None:
        return ModuleShape(kind, info.get("in_features"), info.get("out_features"))
    return ModuleShape(
        known.kind if known.kind != "other" else kind,
        known.in_features if known.in_features is not None else info.get("in_features"),
        known.out_features if known.out_features is not None else info.get("out_features"),
    )


def fitting_elsewhere(session: Session, base: BaseStructure, limit: int = MAX_CANDIDATES) -> list[Version]:
    """Latest versions published for *other* bases of the same architecture that fit this one
    (fine-tunes and re-uploads of one base share its shapes, so their adapters fit it too)."""
    if base.structure.model_type is None:
        return []
    query = (
        select(Version)
        .join(Adapter, (Adapter.id == Version.adapter_id) & (Version.number == Adapter.current_number))
        .where(
            *_public_live(),
            Adapter.base_model_type == base.structure.model_type,
            Adapter.base_model != base.model_id,
        )
        .order_by(Adapter.downloads.desc(), Adapter.id)
        .limit(limit)
        .options(joinedload(Version.adapter).joinedload(Adapter.namespace))
    )
    return [version for version in session.scalars(query) if check_against(version, base.structure).ok]


def check_against(version: Version, structure: ModelStructure) -> CompatReport:
    return check_compatibility(
        version.facts,
        structure,
        base_fingerprint=version.base_fingerprint,
        base_model_type=version.base_model_type,
    )


def _public_live() -> list[ColumnElement[bool]]:
    # Private adapters are left out for every viewer: what a base looks like (and so what the compatibility
    # panel says) must not reveal what private adapters exist.
    return [visible_to(None), Adapter.is_live]


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(value for value in values if value)
    return counts.most_common(1)[0][0] if counts else None


def _only(values: Iterable[str | None]) -> str | None:
    # A fingerprint names one exact base; if publishers disagree, claiming either would mislead the check.
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None
