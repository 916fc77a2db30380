"""Who am I, tokens, organisations and members, the audit log, and a health check."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from hub.accounts.invitations import InvitationService
from hub.accounts.models import Membership, Token
from hub.accounts.orgs import OrgService
from hub.accounts.permissions import SCOPES, member_namespaces
from hub.accounts.service import AccountService
from hub.api.schemas import MemberIn, OrgIn
from hub.audit import recent_events
from hub.deps import Admin, DbSession, Reader, Writer, public_url
from hub.timeutil import isoformat, utcnow

router = APIRouter(tags=["accounts"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=64)
    scopes: list[str] = Field(default_factory=lambda: ["read"], max_length=3)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


def token_view(token: Token) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": token.scopes.split(","),
        "created_at": isoformat(token.created_at),
        "expires_at": isoformat(token.expires_at),
        "last_used_at": isoformat(token.last_used_at),
        "revoked_at": isoformat(token.revoked_at),
    }


def member_view(membership: Membership) -> dict[str, Any]:
    return {"user": membership.user.name, "role": membership.role, "since": isoformat(membership.created_at)}


@router.get("/api/whoami", summary="The user the token belongs to, and what the token may do")
def whoami(session: DbSession, caller: Reader) -> dict[str, Any]:
    user = caller.require_user("whoami")
    orgs = [namespace.name for namespace, _ in member_namespaces(session, user)]
    scopes = sorted(caller.scopes, key=SCOPES.index)
    return {"name": user.name, "is_admin": user.is_admin, "namespaces": [user.namespace.name, *orgs], "scopes": scopes}


@router.get("/api/tokens", summary="Your tokens (never their secrets)")
def list_tokens(session: DbSession, caller: Reader) -> list[dict[str, Any]]:
    return [token_view(token) for token in AccountService(session).tokens(caller.require_user("listing tokens"))]


@router.post("/api/tokens", status_code=201, summary="Create a token with scopes and an optional expiry")
def create_token(session: DbSession, caller: Writer, body: TokenIn) -> dict[str, Any]:
    """Never more than the calling token holds: its scopes (admin only for admins) and its expiry."""
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    raw, token = AccountService(session).mint(caller, name=body.name, scopes=body.scopes, expires_at=expires)
    return {"token": raw, "scopes": token.scopes.split(","), "expires_at": isoformat(token.expires_at)}


@router.delete("/api/tokens/{token_id}", status_code=204, summary="Revoke one of your tokens")
def revoke_token(session: DbSession, caller: Writer, token_id: Annotated[int, Path(ge=1, lt=2**31)]) -> None:
    AccountService(session).revoke_token(caller, token_id)


@router.post("/api/orgs", status_code=201, summary="Create an organisation; you become its owner")
def create_org(session: DbSession, caller: Writer, body: OrgIn) -> dict[str, Any]:
    org = OrgService(session).create(caller, body.name)
    return {"name": org.name, "kind": org.kind}


@router.get("/api/orgs/{org}/members", summary="An organisation's members (members only)")
def list_members(session: DbSession, caller: Reader, org: str) -> list[dict[str, Any]]:
    return [member_view(m) for m in OrgService(session).members(caller, org)]


@router.put("/api/orgs/{org}/members/{member}", summary="Add a member or change their role (owners)")
def put_member(session: DbSession, caller: Writer, org: str, member: str, body: MemberIn) -> dict[str, Any]:
    target = AccountService(session).user(member)
    return member_view(OrgService(session).set_member(caller, org, target, body.role))


@router.delete("/api/orgs/{org}/members/{member}", status_code=204, summary="Remove a member (owners)")
def delete_member(session: DbSession, caller: Writer, org: str, member: str) -> None:
    OrgService(session).remove_member(caller, org, AccountService(session).user(member))


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=96, description="The new user's name (their namespace)")
    org: str | None = Field(None, max_length=96, description="Invite into this organisation (its owners may)")
    role: str = Field("write", max_length=8, description="The role in `org`: read, write or owner")


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invitation: str = Field(max_length=200, description="The secret of the invitation link")


@router.post("/api/invitations", status_code=201, summary="Invite a new user (admins), or a new member (org owners)")
def invite(request: Request, session: DbSession, caller: Writer, body: InvitationIn) -> dict[str, Any]:
    raw, invitation = InvitationService(session).invite(caller, body.name, org=body.org, role=body.role)
    url = f"{public_url(request)}/invite/{raw}"
    return {"name": invitation.name, "url": url, "expires_at": isoformat(invitation.expires_at)}


@router.post(
    "/api/invitations/accept", status_code=201, summary="Accept an invitation: the account and its first token"
)
def accept_invitation(session: DbSession, body: AcceptIn) -> dict[str, Any]:
    user, token = InvitationService(session).accept(body.invitation)
    return {"name": user.name, "token": token}


@router.get("/api/audit", summary="Who published, tagged, deleted or changed what, newest first (admins)")
def audit_log(session: DbSession, _admin: Admin, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list:
    return recent_events(session, limit)


@router.get("/healthz", summary="Liveness and database reachability")
def healthz(session: DbSession) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
