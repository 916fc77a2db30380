"""Who may do what in a namespace: a user owns their own namespace; organisations grant roles to members.

Admins act as owners everywhere. A private adapter is visible only to users with a role in its
namespace; to everyone else it answers exactly like a missing one (404), never 403, so its name leaks nothing.
"""

from __future__ import annotations

from enum import IntEnum

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from hub.accounts.models import Membership, Namespace, User
from hub.errors import Forbidden


class Role(IntEnum):
    READ = 1
    WRITE = 2
    OWNER = 3


ROLE_NAMES = {"read": Role.READ, "write": Role.WRITE, "owner": Role.OWNER}


def role_in(session: Session, user: User | None, namespace_id: int) -> Role | None:
    if user is None:
        return None
    if user.is_admin or user.namespace_id == namespace_id:
        return Role.OWNER
    membership = session.get(Membership, (namespace_id, user.id))
    return ROLE_NAMES[membership.role] if membership else None


def require_role(session: Session, user: User, namespace: Namespace, needed: Role, action: str) -> None:
    """Raise Forbidden naming the user, the action and the namespace when the user's role is too low."""
    role = role_in(session, user, namespace.id)
    if role is None or role < needed:
        held = role.name.lower() if role else "no role"
        raise Forbidden(
            f"{user.name!r} may not {action} in {namespace.name!r}: that needs the {needed.name.lower()} role "
            f"and they have {held}."
        )


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
