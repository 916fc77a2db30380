"""Imports every model so Base.metadata is complete (Alembic and tests import this)."""

from hub.accounts.models import Invitation, Membership, Namespace, Token, User
from hub.audit import AuditEvent
from hub.db import Base
from hub.events.models import Webhook, WebhookDelivery, WebhookEvent
from hub.generation import CatalogueState
from hub.registry.evaluations.models import Evaluation
from hub.registry.models import (
    Adapter,
    AdapterTag,
    AdapterText,
    Blob,
    MergeSource,
    Ref,
    RegisteredBase,
    Upload,
    UploadBlob,
    Version,
    VersionFile,
)
from hub.signing.models import SignerKey, SigningPolicy, VersionSignature

__all__ = [
    "Adapter",
    "AdapterTag",
    "AdapterText",
    "AuditEvent",
    "Base",
    "Blob",
    "CatalogueState",
    "Evaluation",
    "Invitation",
    "Membership",
    "MergeSource",
    "Namespace",
    "Ref",
    "RegisteredBase",
    "SignerKey",
    "SigningPolicy",
    "Token",
    "Upload",
    "UploadBlob",
    "User",
    "Version",
    "VersionFile",
    "VersionSignature",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
]
