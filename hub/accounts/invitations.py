"""Invitations: how a person without an account joins this hub, with no access to the server's console.

An administrator invites anyone; an organisation's owner invites a new member into that organisation with a
role. The invitation is a single-use link (its secret stored hashed, like a token) that expires. Accepting it
creates the user with their namespace, adds the membership, and returns the user's first token; they sign in
with it on the web or save it with `hub login`, and make further tokens on /tokens.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Invitation, Membership, User
from hub.accounts.orgs import OrgService
from hub.accounts.permissions import ROLE_NAMES, Caller, Role
from hub.accounts.service import AccountService
from hub.audit import record
from hub.errors import InvalidName, InvalidRequest, InvitationNotFound
from hub.generation import bump as bump_generation
from hub.naming import check_namespace_name
from hub.security import generate_token, hash_token
from hub.timeutil import as_utc, utcnow

INVITATION_LIFETIME = timedelta(days=7)
FIRST_TOKEN_NAME = "first token (invitation)"


class InvitationService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def invite(
        self, caller: Caller, name: str, *, org: str | None = None, role: str = "write"
    ) -> tuple[str, Invitation]:
        """A new invitation for the user `name`; returns its secret (shown once) and the row."""
        inviter = self._may_invite(caller, org, role)
        check_namespace_name(name)
        self._name_is_free(name)
        raw = generate_token()
        invitation = Invitation(
            token_hash=hash_token(raw),
            name=name,
            namespace_id=OrgService(self.session).org(org).id if org else None,
            role=role if org else None,
            created_by_id=inviter.id,
            expires_at=utcnow() + INVITATION_LIFETIME,
        )
        self.session.add(invitation)
        record(self.session, inviter, "invite", org or name, name=name, role=invitation.role)
        return raw, invitation

    def pending(self, raw: str) -> Invitation:
        """The open invitation with this secret; InvitationNotFound if unknown, used or expired."""
        invitation = self.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(raw)))
        if invitation is None or invitation.accepted_at is not None or as_utc(invitation.expires_at) <= utcnow():
            raise InvitationNotFound("This invitation link is not valid: it was used already, expired, or is wrong.")
        return invitation

    def accept(self, raw: str) -> tuple[User, str]:
        """Create the invited user (and membership); returns the user and their first token."""
        invitation = self.pending(raw)
        self._name_is_free(invitation.name)
        accounts = AccountService(self.session)
        user = accounts.ensure_user(invitation.name)
        self.session.flush()
        if invitation.namespace_id is not None:
            self.session.add(Membership(namespace_id=invitation.namespace_id, user_id=user.id, role=invitation.role))
            bump_generation(self.session)  # the new member now sees the organisation's private adapters
        invitation.accepted_at = utcnow()
        record(self.session, user, "invite.accept", invitation.name)
        return user, accounts.create_token(user, name=FIRST_TOKEN_NAME)

    def _may_invite(self, caller: Caller, org: str | None, role: str) -> User:
        if org is None:
            return caller.require_admin("inviting a new user without an organisation")
        if role not in ROLE_NAMES:
            raise InvalidRequest(f"The role {role[:20]!r} is not one of {', '.join(ROLE_NAMES)}.")
        return caller.require_role(OrgService(self.session).org(org), Role.OWNER, "invite members")

    def _name_is_free(self, name: str) -> None:
        if AccountService(self.session).find_namespace(name) is not None:
            raise InvalidName(f"The name {name!r} is taken by another user or organisation.")
