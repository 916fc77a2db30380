"""Who am I, and a health check for load balancers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from hub.deps import CurrentUser, DbSession

router = APIRouter(tags=["accounts"])


@router.get("/api/whoami", summary="The user the token belongs to")
def whoami(user: CurrentUser) -> dict[str, Any]:
    return {"name": user.name, "is_admin": user.is_admin, "namespaces": [user.namespace.name]}


@router.get("/healthz", summary="Liveness and database reachability")
def healthz(session: DbSession) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
