"""Organisations: namespaces with members who hold roles (owner, write, read). Only owners manage members."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts.models import Membership, Namespace, User
from hub.accounts.permissions import ROLE_NAMES, Caller, Role
from hub.audit import record
from hub.errors import Forbidden, InvalidName, InvalidRequest, NamespaceNotFound
from hub.generation import bump as bump_generation
from hub.naming import check_namespace_name


class OrgService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, caller: Caller, name: str) -> Namespace:
        owner = caller.require_scope("write", "create organisations")
        check_namespace_name(name)
        self.session.flush()  # a user made in this transaction needs its id for the membership
        if self.session.scalar(select(Namespace).where(Namespace.key == name.lower())) is not None:
            raise InvalidName(f"The name {name!r} is taken by another user or organisation.")
        org = Namespace(name=name, key=name.lower(), kind="org")
        org.memberships.append(Membership(user_id=owner.id, role="owner"))
        self.session.add(org)
        self._audit(owner, "org.create", name, {})
        return org

    def org(self, name: str) -> Namespace:
        org = self.session.scalar(select(Namespace).where(Namespace.key == name.lower(), Namespace.kind == "org"))
        if org is None:
            raise NamespaceNotFound(f"No organisation is called {name[:100]!r}.")
        return org

    def set_member(self, caller: Caller | None, org_name: str, member: User, role: str) -> Membership:
        """`caller` None is the server's administrator at the console (`hub org member`)."""
        org = self.org(org_name)
        actor = caller.require_role(org, Role.OWNER, "manage members") if caller is not None else None
        if role not in ROLE_NAMES:
            raise InvalidRequest(f"The role {role[:20]!r} is not one of {', '.join(ROLE_NAMES)}.")
        membership = self.session.get(Membership, (org.id, member.id))
        if membership is None:
            membership = Membership(namespace_id=org.id, user=member, role=role)
            self.session.add(membership)
            self.session.flush()  # need created_at for the answer
        else:
            self._keep_an_owner(org, membership, role)
            membership.role = role
        self._audit(actor, "member.set", f"{org.name}/{member.name}", {"role": role})
        return membership

    def remove_member(self, caller: Caller, org_name: str, member: User) -> None:
        org = self.org(org_name)
        actor = caller.require_role(org, Role.OWNER, "manage members")
        membership = self.session.get(Membership, (org.id, member.id))
        if membership is None:
            raise NamespaceNotFound(f"{member.name!r} is not a member of {org.name!r}.")
        self._keep_an_owner(org, membership, None)
        self.session.delete(membership)
        self._audit(actor, "member.remove", f"{org.name}/{member.name}", {})

    def members(self, caller: Caller, org_name: str) -> list[Membership]:
        org = self.org(org_name)
        viewer = caller.require_scope("read", "list members")
        if (role := caller.role(org.id)) is None or role < Role.READ:
            raise Forbidden(f"{viewer.name!r} may not list members in {org.name!r}: that needs a role there.")
        query = select(Membership).where(Membership.namespace_id == org.id).order_by(Membership.user_id)
        return list(self.session.scalars(query))

    def _keep_an_owner(self, org: Namespace, membership: Membership, new_role: str | None) -> None:
        if membership.role != "owner" or new_role == "owner":
            return
        owners = self.session.scalar(
            select(func.count()).where(Membership.namespace_id == org.id, Membership.role == "owner")
        )
        if owners == 1:
            raise InvalidRequest(f"{org.name!r} would have no owner left; make someone else owner first.")

    def _audit(self, actor: User | None, action: str, subject: str, detail: dict) -> None:
        record(self.session, actor, action, subject, **detail)
        bump_generation(self.session)  # who sees which private adapters changed: cached answers are stale
