"""Imports every model so Base.metadata is complete (Alembic and tests import this)."""

from hub.accounts.models import Membership, Namespace, Token, User
from hub.db import Base
from hub.registry.models import (
    Adapter,
    AdapterTag,
    AdapterText,
    AuditEvent,
    Blob,
    CatalogueState,
    Ref,
    Upload,
    UploadBlob,
    Version,
    VersionFile,
)

__all__ = [
    "Adapter",
    "AdapterTag",
    "AdapterText",
    "AuditEvent",
    "Base",
    "Blob",
    "CatalogueState",
    "Membership",
    "Namespace",
    "Ref",
    "Token",
    "Upload",
    "UploadBlob",
    "User",
    "Version",
    "VersionFile",
]
