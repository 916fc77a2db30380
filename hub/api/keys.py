"""A namespace's signers (public keys, CA + identity) and its signing policy: owners change them, anyone reads them.

Clients read the list to verify what they pull (sdk/signing/pins.py pins it at first use); nothing in it is secret.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from hub.accounts.service import AccountService
from hub.deps import AnyCaller, DbSession, Writer
from hub.signing.models import IDENTITY_MAX, SignerKey
from hub.signing.service import PEM_MAX, SigningService
from hub.timeutil import isoformat

router = APIRouter(prefix="/api/namespaces/{namespace}", tags=["signing"])
KeyId = Annotated[str, Path(min_length=8, max_length=64, pattern="^[0-9a-fA-F]+$")]


class SignerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str | None = Field(None, max_length=PEM_MAX, description="an EC public key, PEM")
    ca_certificate: str | None = Field(None, max_length=PEM_MAX, description="a CA certificate, PEM (with identity)")
    identity: str | None = Field(None, max_length=IDENTITY_MAX, description="the e-mail, URI or name the CA vouches")
    name: str = Field("", max_length=64)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    require_signatures: bool


def signer_view(row: SignerKey) -> dict[str, Any]:
    return {
        "key_id": row.key_id,
        "name": row.name,
        "kind": row.kind,
        "public_key": row.public_key,
        "ca_certificate": row.ca_certificate,
        "identity": row.identity,
        "created_at": isoformat(row.created_at),
        "revoked_at": isoformat(row.revoked_at),
    }


@router.get("/keys", summary="The namespace's signers, revoked ones included (public)")
def list_keys(session: DbSession, _caller: AnyCaller, namespace: str) -> list[dict[str, Any]]:
    return [signer_view(row) for row in SigningService(session).signers(namespace)]


@router.post("/keys", status_code=201, summary="Trust a public key, or a CA for one identity (owners)")
def add_key(session: DbSession, caller: Writer, namespace: str, body: SignerIn) -> dict[str, Any]:
    service = SigningService(session)
    row = service.add(caller, namespace, **body.model_dump())
    return signer_view(row)


@router.delete("/keys/{key_id}", summary="Revoke a signer: the versions it signed read trusted: false (owners)")
def revoke_key(session: DbSession, caller: Writer, namespace: str, key_id: KeyId) -> dict[str, Any]:
    return signer_view(SigningService(session).revoke(caller, namespace, key_id))


@router.get("/signing", summary="The namespace's signing policy (public)")
def get_policy(session: DbSession, _caller: AnyCaller, namespace: str) -> dict[str, Any]:
    owned = AccountService(session).namespace(namespace)
    return {"require_signatures": SigningService(session).requires_signatures(owned)}


@router.put("/signing", summary="Require signed versions, or stop requiring them (owners)")
def set_policy(session: DbSession, caller: Writer, namespace: str, body: PolicyIn) -> dict[str, Any]:
    required = SigningService(session).set_policy(caller, namespace, require_signatures=body.require_signatures)
    return {"require_signatures": required}
