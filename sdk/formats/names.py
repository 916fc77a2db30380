"""Names and digests: namespaces, adapters, tags, revisions, file paths and sha256, for the hub and the SDK alike.

Namespace and adapter names are a subset of Hugging Face repo ids, so both address schemes agree. Pure Python:
the hub translates the errors below into its HTTP errors of the same code (hub/naming.py), the SDK into its
exceptions of the same name (sdk/errors.py), so a name is judged the same way on both sides of the wire.
"""

from __future__ import annotations

import re
from typing import ClassVar

NAME_MAX = 96  # Hugging Face's limit per repo-id part
PATH_MAX = 255
# Starts and ends with a word character, like huggingface_hub's REGEX_REPO_ID.
NAME_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
# What a client may ask for: "main", a tag, "v3" or a (prefix of a) revision id.
REVISION_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
REVISION_RE = re.compile(r"[0-9a-f]{40}")
REVISION_PREFIX_RE = re.compile(r"[0-9a-f]{7,40}")
VERSION_NUMBER_RE = re.compile(r"v(\d{1,9})")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
# A catalogue label ("sql", "medical"), not a ref.
LABEL_RE = re.compile(r"[a-z0-9][a-z0-9_.:+-]{0,63}")
_PATH_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
# The one dot-folder a version may hold, at its top level: Hugging Face's evaluation results (.eval_results/*.yaml).
EVAL_RESULTS_FOLDER = ".eval_results"
# A tag spelled like a version number or a revision id would shadow it (tags resolve first), in any case.
_SHADOWING_TAG_RE = re.compile(r"v\d+|[0-9a-f]{7,40}", re.IGNORECASE)
# Top-level paths of the web UI and API: a namespace with one of these names would shadow them.
RESERVED_NAMESPACES = frozenset(
    [
        "about",
        "account",
        "adapters",
        "admin",
        "api",
        "assets",
        "base-models",
        "bases",
        "docs",
        "favicon.ico",
        "healthz",
        "leaderboard",
        "leaderboards",
        "login",
        "logout",
        "new",
        "openapi.json",
        "org",
        "orgs",
        "redoc",
        "search",
        "settings",
        "signin",
        "signout",
        "static",
        "tokens",
        "upload",
        "users",
    ]
)


class NameRuleError(ValueError):
    """A name breaks a rule; `code` is the error code both the hub and the SDK use for it."""

    code: ClassVar[str] = "InvalidName"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidNameError(NameRuleError):
    code = "InvalidName"


class ReservedNameError(NameRuleError):
    code = "ReservedName"


class InvalidPathError(NameRuleError):
    code = "InvalidPath"


def check_name(value: str, what: str = "name") -> str:
    """Return `value` if it is a valid namespace or adapter name, else raise InvalidNameError saying why."""
    shown = repr(value[:100])
    if not value:
        raise InvalidNameError(f"The {what} is empty.")
    if len(value) > NAME_MAX:
        raise InvalidNameError(f"The {what} {shown}... is {len(value)} characters long; the limit is {NAME_MAX}.")
    if bad := _describe_bad_character(value):
        raise InvalidNameError(f"The {what} {shown} contains {bad}; use letters, digits, '_', '.' and '-'.")
    if ".." in value or "--" in value:
        raise InvalidNameError(f"The {what} {shown} contains '..' or '--', which are not allowed.")
    if value.endswith(".git") or not NAME_RE.fullmatch(value):
        raise InvalidNameError(f"The {what} {shown} must start and end with a letter, digit or '_' (not '.git').")
    return value


def _describe_bad_character(value: str) -> str | None:
    for char in value:
        if char == "\x00":
            return "a NUL character"
        if char == "/":
            return "'/'"
        if not char.isascii():
            return f"the non-ASCII character {char!r}"
        if not (char.isalnum() or char in "_.-"):
            return f"the character {char!r}"
    return None


def check_namespace_name(value: str) -> str:
    """A name for a new user or organisation: a valid name that does not shadow a route."""
    check_name(value, "namespace name")
    if value.lower() in RESERVED_NAMESPACES:
        raise ReservedNameError(f"The namespace name {value!r} is reserved: it would shadow the /{value} route.")
    return value


def check_revision_name(value: str) -> str:
    """What may be asked for: "main", a tag, "v3" or a revision id or prefix (the hub says whether it exists)."""
    if not REVISION_NAME_RE.fullmatch(value):
        raise InvalidNameError(f"{value[:80]!r} is not a tag, version (v3) or revision id.")
    return value


def check_ref_name(value: str) -> str:
    """A tag a user may point at a version: a revision name that cannot be read as "v3" or a revision id."""
    if not REVISION_NAME_RE.fullmatch(value) or _SHADOWING_TAG_RE.fullmatch(value):
        raise InvalidNameError(
            f"The tag {value!r:.80} is not a valid version tag: 1-64 letters, digits or '_.-', and not "
            "spelled like a version number (v3) or a revision id (7 to 40 hex characters)."
        )
    return value


def check_label(value: str) -> str:
    """A catalogue label of an adapter ("sql", "medical")."""
    if not isinstance(value, str) or not LABEL_RE.fullmatch(value):
        raise InvalidNameError(f"The tag {value!r:.80} must be 1-64 lower-case letters, digits or '_.:+-'.")
    return value


def check_file_path(path: str) -> str:
    """A relative POSIX path inside the adapter folder, e.g. "adapter_model.safetensors" or "head/config.json"."""
    if not path or len(path) > PATH_MAX:
        raise InvalidPathError(f"The file path {path[:80]!r} must be 1 to {PATH_MAX} characters long.")
    if path.startswith("/") or "\\" in path or "\x00" in path:
        raise InvalidPathError(f"The file path {path[:80]!r} must be relative, with '/' separators and no NUL.")
    for index, part in enumerate(path.split("/")):
        if index == 0 and part == EVAL_RESULTS_FOLDER and "/" in path:
            continue
        if part in ("", ".", "..") or not _PATH_PART_RE.fullmatch(part):
            raise InvalidPathError(
                f"The file path {path[:80]!r} has the part {part[:40]!r}; parts use ASCII letters, digits and "
                "'_.+-', do not start with '.', and '..' is never allowed."
            )
    return path


def is_revision_id(value: str) -> bool:
    """A full 40-hex revision id (always names the same bytes)."""
    return bool(REVISION_RE.fullmatch(value))


def is_sha256(value: str) -> bool:
    """64 lower-case hex characters: a sha256 digest as the hub writes it."""
    return bool(SHA256_RE.fullmatch(value))
