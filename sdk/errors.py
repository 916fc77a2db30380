"""The exceptions the SDK raises: one class per server error code, plus a few that only the client knows.

The hub answers an error with HTTP status + header ``X-Error-Code: <Code>``; ``sdk._http.raise_for_status``
raises the class named ``<Code>`` here. Every class derives from ``HubError``, an ``OSError`` (like
huggingface_hub's errors), so callers may catch broadly (``except OSError``) or precisely
(``except AdapterNotFound``). The names mirror ``hub/errors.py`` without importing it: a user installs
the client without the server, and a test checks that the two lists agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sdk.formats.names import NameRuleError


class HubError(OSError):
    """Base class: `code` is the server's stable error code, `status` the HTTP status (None if no response)."""

    code: str = "HubError"
    status: int | None = None

    def __init_subclass__(cls, status: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__  # as on the server: the code is the class name, so names cannot drift
        cls.status = status

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:  # an unknown code from a newer server, kept so it can be reported
            self.code = code

    def __str__(self) -> str:
        return self.message


# Raised by the client alone, never sent by the server.
class HubConnectionError(HubError, ConnectionError):
    """The hub could not be reached (refused, reset, timed out), after retries for idempotent calls."""


class OfflineError(HubError):
    """HUB_OFFLINE=1 (or offline=True) and what was asked for is not in the local cache."""


class RedirectRefused(HubError):
    """The hub or its storage redirected to a URL that is not http(s) (file://, ftp://...): never followed."""


# 400: the request itself is wrong.
class InvalidRequest(HubError, status=422):
    """The request body or query does not have the expected form."""


class InvalidName(HubError, status=400):
    """A namespace or adapter name breaks the naming rule (also raised locally for a malformed 'ns/name@rev')."""


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
    """Bytes do not hash to the declared sha256 (an upload on the server, or a download in the client)."""


class SizeMismatch(HubError, status=400):
    """The bytes are not the declared size."""


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
    """The action needs a token: set HUB_TOKEN, pass token=, or run `hub login`."""


class InvalidToken(HubError, status=401):
    """The token is unknown, revoked or expired."""


class Forbidden(HubError, status=403):
    """The token's user may not act on this namespace."""


class InsufficientScope(HubError, status=403):
    """The token lacks the scope (read, write, admin) the action needs."""


class SignatureRequired(HubError, status=403):
    """The namespace requires signed versions (or the client requires a verified signature), and this has none."""


class UntrustedSigner(HubError, status=403):
    """model.sig was made by a key or identity the namespace does not trust, or one that was revoked."""


class TooManyRequests(HubError, status=429):
    """Too many failed authentications from this address; `retry_after` says how many seconds to wait."""

    retry_after: int | None = None


# 404: what you asked for does not exist.
class NotFound(HubError, status=404):
    """No such route (is the URL a hub?)."""


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


class FileTooLarge(HubError, status=413):
    """A file is over the size limit."""


class RangeNotSatisfiable(HubError, status=416):
    """The byte range lies outside the file."""


# 5xx: the hub's side.
class UpstreamUnavailable(HubError, status=502):
    """The upstream (HUB_UPSTREAM_URL) did not answer, and the hub's cache does not hold what was asked."""


class UpstreamMismatch(HubError, status=502):
    """The upstream's bytes do not hash to the digest it announced; they were refused and nothing was cached."""


class StorageUnavailable(HubError, status=503):
    """The blob store did not answer; nothing was published."""


class DatabaseUnavailable(HubError, status=503):
    """The hub's database did not answer or dropped the connection; the request was not completed."""


class InternalError(HubError, status=500):
    """An unexpected error on the hub; its log has the details."""


# What verify="auto"/"require" refuses on pull (sdk/signing/pull.py): the resolver and `hub sync` skip such adapters.
SIGNATURE_REFUSALS = (SignatureInvalid, SignatureRequired, UntrustedSigner)


def _all_subclasses(cls: type[HubError]) -> list[type[HubError]]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_all_subclasses(direct))]


ERRORS: dict[str, type[HubError]] = {cls.code: cls for cls in _all_subclasses(HubError)}


def error_for(code: str | None, message: str, status: int | None) -> HubError:
    """The exception for a server error code; a plain HubError carrying the code when it is unknown.

    Args:
        code: the X-Error-Code header (None when the answer did not come from the hub, e.g. a proxy).
        message: what to tell the user.
        status: the HTTP status.

    Returns:
        An instance of the same-named class, ready to raise.
    """
    cls = ERRORS.get(code or "")
    if cls is None:
        return HubError(message, status=status, code=code or f"HTTP{status}")
    return cls(message, status=status)


@contextmanager
def name_rule_errors(context: str = "") -> Iterator[None]:
    """Raise a naming rule's error (sdk.formats.names) as the same-named SDK exception, `context` first."""
    try:
        yield
    except NameRuleError as error:
        message = f"{context}: {error.message}" if context else error.message
        raise error_for(error.code, message, None) from None
