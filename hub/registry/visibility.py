"""Which adapters a caller may see, as a SQL condition: the one spelling of "private adapters only for members".

Every query that lists or finds adapters adds `visible_to(caller)` (search and its facet counts, the catalogue's
lookups, listings, base pages, lineage, blob reuse at publish); `Caller.can_read` is the same rule for one row.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from hub.accounts.permissions import Caller, readable_namespace_ids
from hub.registry.models import Adapter


def visible_to(caller: Caller | None) -> ColumnElement[bool]:
    """Public adapters, and private ones in namespaces where the caller (None: anonymous) reads with a role."""
    readable = readable_namespace_ids(caller.reader if caller else None)
    if readable is None:
        return Adapter.private.is_(False)
    return or_(Adapter.private.is_(False), Adapter.namespace_id.in_(readable))
