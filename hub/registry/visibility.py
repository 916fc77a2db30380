"""Which adapters a caller may see, as a SQL condition: the one spelling of "private adapters only for members".

Every query that lists or finds adapters adds `visible_to(caller)` (search and its facet counts, the catalogue's
lookups, listings, base pages, lineage, blob reuse at publish); `Caller.can_read` is the same rule for one row.
`answered_here` keeps the same promise at the upstream pass-through (hub/upstream).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from hub.accounts.models import Namespace
from hub.accounts.permissions import Caller, readable_namespace_ids
from hub.registry.models import Adapter


def visible_to(caller: Caller | None) -> ColumnElement[bool]:
    """Public adapters, and private ones in namespaces where the caller (None: anonymous) reads with a role."""
    readable = readable_namespace_ids(caller.reader if caller else None)
    if readable is None:
        return Adapter.private.is_(False)
    return or_(Adapter.private.is_(False), Adapter.namespace_id.in_(readable))


def answered_here(session: Session, namespace: str) -> bool:
    """Whether every repository of `namespace` is this hub's to answer (never the upstream's): true for every
    namespace the hub has, whatever the caller may see.

    Decided by the namespace, not the adapter: a private adapter then answers 404 exactly like a missing one
    of its namespace (no upstream answer for the one and not the other tells them apart, by content or by
    timing), and no upstream repository can stand in for a name of this hub's own users and organisations.
    """
    return bool(session.scalar(select(exists().where(Namespace.key == namespace.lower()))))
