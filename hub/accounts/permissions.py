"""Who may do what: the one place every surface (JSON API, Hugging Face routes, web pages, services) asks.

A request is made by a `Caller`: a user (or nobody) and the scopes of the token it presented. Roles come
from namespaces: a user owns their own namespace, organisations grant roles to members, and admins act as
owners everywhere. Scopes bound what a token may do with those roles:

- `read`: see private adapters of the namespaces the user has a role in (without it, the caller reads
  like an anonymous one), list tokens and members;
- `write`: every change (publish, tag, visibility, deletion, members, tokens), within the user's role;
- `admin`: the administrator's own routes (the audit log), for admin users only.

A private adapter is visible only to callers with a role in its namespace; to everyone else it answers
exactly like a missing one (404), never 403, so its name leaks nothing. `can_read()` is that rule for one
loaded row; hub/registry/visibility.py `visible_to()` is the same rule as a SQL condition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.accounts.models import Membership, Namespace, User
from hub.errors import AuthenticationRequired, Forbidden, InsufficientScope

if TYPE_CHECKING:
    from hub.registry.models import Adapter

SCOPES = ("read", "write", "admin")


class Role(IntEnum):
    READ = 1
    WRITE = 2
    OWNER = 3


ROLE_NAMES = {"read": Role.READ, "write": Role.WRITE, "owner": Role.OWNER}


@dataclass(frozen=True)
class Caller:
    """Who is asking, within one request's session: `user` None is an anonymous caller."""

    session: Session
    user: User | None = None
    scopes: frozenset[str] = frozenset()
    token_expires_at: datetime | None = None  # the presented token's expiry, which tokens it mints inherit
    token_id: int | None = None

    @property
    def reader(self) -> User | None:
        """The user whose roles reveal private adapters: only with a token that may read."""
        return self.user if "read" in self.scopes else None

    # --- roles -------------------------------------------------------------------------------------------

    def role(self, namespace_id: int) -> Role | None:
        return role_of(self.session, self.user, namespace_id)

    def can_read(self, adapter: Adapter) -> bool:
        """For one row: public, or private in a namespace where the reader has a role (`visible_to` in SQL)."""
        return not adapter.private or role_of(self.session, self.reader, adapter.namespace_id) is not None

    def can_publish(self, namespace: Namespace) -> bool:
        role = self.role(namespace.id)
        return "write" in self.scopes and role is not None and role >= Role.WRITE

    # --- requirements: raise the error that names what is missing ----------------------------------------

    def require_user(self, action: str) -> User:
        if self.user is None:
            raise AuthenticationRequired(f"{action.capitalize()} needs a token: send `Authorization: Bearer <token>`.")
        return self.user

    def require_scope(self, scope: str, action: str) -> User:
        user = self.require_user(action)
        if scope not in self.scopes:
            raise InsufficientScope(f"This token has the scopes {sorted(self.scopes)}; {action} needs '{scope}'.")
        return user

    def require_admin(self, action: str) -> User:
        user = self.require_scope("admin", action)
        if not user.is_admin:
            raise InsufficientScope(f"{user.name!r} is not an administrator.")
        return user

    def require_role(self, namespace: Namespace, needed: Role, action: str) -> User:
        """A change in `namespace`: the `write` scope and at least the `needed` role, checked NOW (so a member
        removed from an organisation since an earlier step of the same operation is refused)."""
        user = self.require_scope("write", action)
        role = self.role(namespace.id)
        if role is None or role < needed:
            held = role.name.lower() if role else "no role"
            raise Forbidden(
                f"{user.name!r} may not {action} in {namespace.name!r}: that needs the {needed.name.lower()} role "
                f"and they have {held}."
            )
        return user

    # --- tokens: a token never mints more than it holds ----------------------------------------------------

    def grantable_scopes(self, requested: Iterable[str]) -> list[str]:
        """The requested scopes this caller's token may hand on: those it holds (admin only for admins)."""
        held = self.scopes if self.user is not None and self.user.is_admin else self.scopes - {"admin"}
        granted = [scope for scope in SCOPES if scope in set(requested) and scope in held]
        if not granted:
            raise InsufficientScope(
                f"This token has the scopes {sorted(self.scopes)}; it cannot grant {sorted(set(requested))}."
            )
        return granted

    def grantable_expiry(self, requested: datetime | None) -> datetime | None:
        """A minted token expires no later than the token that minted it."""
        if self.token_expires_at is None:
            return requested
        return min(requested, self.token_expires_at) if requested else self.token_expires_at


def anonymous(session: Session) -> Caller:
    return Caller(session)


def acting_as(session: Session, user: User) -> Caller:
    """The server's console (or the demo loader) acting for `user` with every scope the user could hold."""
    scopes = frozenset(SCOPES if user.is_admin else ("read", "write"))
    return Caller(session, user, scopes)


def role_of(session: Session, user: User | None, namespace_id: int) -> Role | None:
    if user is None:
        return None
    if user.is_admin or user.namespace_id == namespace_id:
        return Role.OWNER
    membership = session.get(Membership, (namespace_id, user.id))
    return ROLE_NAMES[membership.role] if membership else None


def readable_namespace_ids(user: User | None) -> Select[tuple[int]] | None:
    """The namespaces whose private adapters `user` may see, as a subquery; None for anonymous readers."""
    if user is None:
        return None
    if user.is_admin:
        return select(Namespace.id)
    memberships = select(Membership.namespace_id).where(Membership.user_id == user.id)
    return select(Namespace.id).where((Namespace.id == user.namespace_id) | Namespace.id.in_(memberships))


def member_namespaces(session: Session, user: User) -> list[tuple[Namespace, str]]:
    """The organisations `user` belongs to, with the role held in each."""
    query = (
        select(Namespace, Membership.role)
        .join(Membership, Membership.namespace_id == Namespace.id)
        .where(Membership.user_id == user.id)
        .order_by(Namespace.key)
    )
    return [(namespace, role) for namespace, role in session.execute(query)]
