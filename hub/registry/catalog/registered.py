"""Registered bases: base models stored by their structure and sizes, registered by writers of their namespace.

What adapters reveal of a base (hub/registry/catalog/bases.py) is partial; a registered base is whole: every
module, the parameter and byte totals, dtype and fingerprint, read by the SDK from config.json and the
safetensors headers (sdk/bases.py). The hub never receives weights, so a registration stores JSON only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.permissions import Caller, Role
from hub.accounts.service import AccountService
from hub.errors import InvalidRequest, NotFound, VersionConflict
from hub.registry.catalog.bases import BaseStructure
from hub.registry.models import RegisteredBase, Version
from sdk.formats.compat import ModelStructure

MAIN = "main"
MAX_LISTED = 500  # GET /api/bases answers at most this many, newest first


@dataclass(frozen=True)
class BaseDocument:
    """A validated registration (hub/api/schemas.py BaseIn builds it)."""

    model_id: str
    revision: str
    structure: dict[str, Any]
    sizes: dict[str, Any]  # model_type, num_layers, hidden_size, vocab_size, totals, dtype, fingerprint
    files: dict[str, Any]


def register_base(session: Session, caller: Caller, document: BaseDocument) -> RegisteredBase:
    """Store one (model_id, revision); the namespace is the id's first segment, and the caller must write in it."""
    namespace = AccountService(session).namespace(document.model_id.partition("/")[0])
    caller.require_role(namespace, Role.WRITE, "register bases")
    _check_structure(document)
    if _find(session, document.model_id, document.revision) is not None:
        raise VersionConflict(f"{document.model_id}@{document.revision} is already registered.")
    base = RegisteredBase(
        model_id=document.model_id,
        revision=document.revision,
        namespace_id=namespace.id,
        structure=document.structure,
        files=document.files,
        **document.sizes,
    )
    session.add(base)
    session.flush()
    return base


def registered_base(session: Session, model_id: str, revision: str | None = None) -> RegisteredBase:
    """One registration: the named revision, else "main", else the latest registered."""
    base = find_registered(session, model_id, revision)
    if base is None:
        at = f"@{revision[:64]}" if revision else ""
        raise NotFound(f"The base {model_id[:200]!r}{at} is not registered on this hub.")
    return base


def find_registered(session: Session, model_id: str, revision: str | None = None) -> RegisteredBase | None:
    """As registered_base, None when not registered (the adapter answer says "base not registered")."""
    if revision is not None:
        return _find(session, model_id, revision)
    latest = select(RegisteredBase).where(RegisteredBase.model_id == model_id)
    latest = latest.order_by((RegisteredBase.revision == MAIN).desc(), RegisteredBase.id.desc()).limit(1)
    return session.scalars(latest).first()


def base_of(session: Session, version: Version) -> RegisteredBase | None:
    """The registration an adapter version's base refers to: its pinned base_revision when that one is
    registered, else the base's default registration."""
    if version.base_revision:
        pinned = _find(session, version.base_model, version.base_revision)
        if pinned is not None:
            return pinned
    return find_registered(session, version.base_model)


def registered_structure(base: RegisteredBase) -> BaseStructure:
    """A registration as the compatibility check reads a base: the whole module map, not a union of adapters'."""
    return BaseStructure(base.model_id, ModelStructure.from_dict(base.structure), versions_read=0)


def list_registered(session: Session, limit: int = MAX_LISTED) -> list[RegisteredBase]:
    return list(session.scalars(select(RegisteredBase).order_by(RegisteredBase.id.desc()).limit(limit)))


def _find(session: Session, model_id: str, revision: str) -> RegisteredBase | None:
    query = select(RegisteredBase).where(RegisteredBase.model_id == model_id, RegisteredBase.revision == revision)
    return session.scalars(query).first()


def _check_structure(document: BaseDocument) -> None:
    # The structure is read back by the compatibility check; refuse one it could not read.
    try:
        ModelStructure.from_dict(document.structure)
    except (ValueError, TypeError) as error:
        raise InvalidRequest(f"The base's structure is malformed: {error}") from None
