"""Errors with stable machine codes, shared by the API, the web UI and the SDK.

A HubError renders as HTTP `status` with body {"error": {"code", "message"}} and the header
X-Error-Code: code. The SDK raises the exception of the same name (sdk/errors.py).
"""

from __future__ import annotations

from typing import ClassVar


class HubError(Exception):
    code: ClassVar[str] = "HubError"
    status: ClassVar[int] = 400

    def __init_subclass__(cls, status: int = 400, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__  # the code is the class name, so server and SDK names cannot drift
        cls.status = status

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}  # extra response headers, e.g. Retry-After or Content-Range


# 400: the request itself is wrong.
class InvalidRequest(HubError, status=422):
    """The request body or query does not have the expected form."""


class InvalidName(HubError, status=400):
    """A namespace or adapter name breaks the naming rule."""


class ReservedName(HubError, status=400):
    """The name would shadow a route (api, docs, search...)."""


class InvalidPath(HubError, status=400):
    """A file path is absolute, escapes the folder, or has bad characters."""


class InvalidMetadata(HubError, status=400):
    """Publish metadata (base model, task, license...) is invalid."""


class PickleRefused(HubError, status=400):
    """Pickle files (.bin, .pt, .pkl...) are never accepted."""


class UnsupportedFile(HubError, status=400):
    """A file type the hub does not store."""


class TooManyFiles(HubError, status=400):
    """A version holds more files than the limit."""


class DuplicateFile(HubError, status=400):
    """The same path is listed twice."""


class MissingAdapterFile(HubError, status=400):
    """adapter_config.json or the weights file is missing."""


class InvalidSafetensors(HubError, status=400):
    """A .safetensors file is malformed."""


class InvalidAdapterConfig(HubError, status=400):
    """adapter_config.json is malformed."""


class InconsistentAdapter(HubError, status=400):
    """The config and the tensors disagree."""


class InvalidTextFile(HubError, status=400):
    """A JSON or text file is not valid UTF-8 / JSON."""


class DigestMismatch(HubError, status=400):
    """The uploaded bytes do not hash to the declared sha256."""


class SizeMismatch(HubError, status=400):
    """The uploaded bytes are not the declared size."""


class BlobMissing(HubError, status=400):
    """A commit names a blob that was never uploaded."""


class InvalidCursor(HubError, status=400):
    """A pagination cursor is malformed."""


class InvalidWebhookUrl(HubError, status=400):
    """A webhook URL is not an http:// or https:// address."""


class InvalidWebhookEvent(HubError, status=400):
    """A webhook names no event, or one the hub does not send."""


class InvalidWebhookSecret(HubError, status=400):
    """A webhook secret is not `whsec_` + base64 of 24 to 64 bytes."""


class SignatureInvalid(HubError, status=400):
    """model.sig does not check out, or does not cover exactly the version's files and their bytes."""


class InvalidSignerKey(HubError, status=400):
    """A signer's public key or CA certificate is not a PEM that model-signing can use."""


# 401 / 403: who you are and what you may do.
class AuthenticationRequired(HubError, status=401):
    """The action needs a token."""


class InvalidToken(HubError, status=401):
    """The token is unknown, revoked or expired."""


class Forbidden(HubError, status=403):
    """The token's user may not act on this namespace."""


# 404: what you asked for does not exist.
class InsufficientScope(HubError, status=403):
    """The token lacks the scope (read, write, admin) the action needs."""


class SignatureRequired(HubError, status=403):
    """The namespace requires signed versions (or the client requires a verified signature), and this has none."""


class UntrustedSigner(HubError, status=403):
    """model.sig was made by a key or identity the namespace does not trust, or one that was revoked."""


class NotFound(HubError, status=404):
    """No such route."""


class NamespaceNotFound(HubError, status=404):
    """No such user or organisation."""


class AdapterNotFound(HubError, status=404):
    """No such adapter."""


class RevisionNotFound(HubError, status=404):
    """No such version, tag or revision of the adapter."""


class FileNotFound(HubError, status=404):
    """No such file in the version."""


class UploadNotFound(HubError, status=404):
    """No such upload session (or it belongs to someone else)."""


class InvitationNotFound(HubError, status=404):
    """No such invitation link, or it was used already or has expired."""


class WebhookNotFound(HubError, status=404):
    """No such webhook (or delivery) in the namespace."""


class SignerKeyNotFound(HubError, status=404):
    """No such signer key in the namespace."""


class MethodNotAllowed(HubError, status=405):
    """The route does not take this HTTP method."""


# 409, 413, 416: state and size.
class UploadClosed(HubError, status=409):
    """The upload session was already committed."""


class VersionConflict(HubError, status=409):
    """Another publish to the same adapter won the race; retry."""


class NothingChanged(HubError, status=409):
    """The publish equals the adapter's latest version (files and metadata), so no version was made."""

    def __init__(self, message: str, version: object = None) -> None:
        super().__init__(message)
        self.version = version  # the existing Version, for the API's 200 "unchanged" answer


class TooManyRequests(HubError, status=429):
    """Too many failed authentications from this address; wait and retry."""

    def __init__(self, message: str, retry_after: int = 60) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class FileTooLarge(HubError, status=413):
    """A file is over the size limit."""


class RangeNotSatisfiable(HubError, status=416):
    """The byte range lies outside the file."""


# 5xx: our side.
class UpstreamUnavailable(HubError, status=502):
    """The upstream (HUB_UPSTREAM_URL) did not answer, and the hub's cache does not hold what was asked."""


class UpstreamMismatch(HubError, status=502):
    """The upstream's bytes do not hash to the digest it announced; they were refused and nothing was cached."""


class StorageUnavailable(HubError, status=503):
    """The blob store did not answer; nothing was published."""


class DatabaseUnavailable(HubError, status=503):
    """The database did not answer or dropped the connection; the request was not completed."""


class InternalError(HubError, status=500):
    """An unexpected error; the server log has the details."""


def all_errors() -> list[type[HubError]]:
    """Every concrete error, for docs and for the SDK mapping test."""
    return sorted(HubError.__subclasses__(), key=lambda cls: (cls.status, cls.code))
