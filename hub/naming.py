"""Namespace, adapter, tag and file-path rules: a subset of Hugging Face repo ids, so both schemes agree."""

from __future__ import annotations

import re

from hub.errors import InvalidName, InvalidPath, ReservedName

NAME_MAX = 96
# Starts and ends with a word character, like huggingface_hub's REGEX_REPO_ID.
_NAME_RE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")
_TAG_RE = re.compile(r"[a-z0-9][a-z0-9_.:+-]{0,63}")
_REF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
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
PATH_MAX = 255
_PATH_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")


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


def check_name(value: str, what: str = "name") -> str:
    """Return `value` if it is a valid namespace or adapter name, else raise InvalidName saying why."""
    shown = repr(value[:100])
    if not value:
        raise InvalidName(f"The {what} is empty.")
    if len(value) > NAME_MAX:
        raise InvalidName(f"The {what} {shown}... is {len(value)} characters long; the limit is {NAME_MAX}.")
    if bad := _describe_bad_character(value):
        raise InvalidName(f"The {what} {shown} contains {bad}; use letters, digits, '_', '.' and '-'.")
    if ".." in value or "--" in value:
        raise InvalidName(f"The {what} {shown} contains '..' or '--', which are not allowed.")
    if value.endswith(".git") or not _NAME_RE.fullmatch(value):
        raise InvalidName(f"The {what} {shown} must start and end with a letter, digit or '_' (not '.git').")
    return value


def check_namespace_name(value: str) -> str:
    check_name(value, "namespace name")
    if value.lower() in RESERVED_NAMESPACES:
        raise ReservedName(f"The namespace name {value!r} is reserved: it would shadow the /{value} route.")
    return value


def check_tag(value: str) -> str:
    if not isinstance(value, str) or not _TAG_RE.fullmatch(value):
        raise InvalidName(f"The tag {value!r:.80} must be 1-64 lower-case letters, digits or '_.:+-'.")
    return value


def check_ref_name(value: str) -> str:
    if not _REF_RE.fullmatch(value) or re.fullmatch(r"v\d+|[0-9a-f]{40}", value):
        raise InvalidName(f"The tag {value!r:.80} is not a valid version tag (and may not look like v3 or a revision).")
    return value


def check_file_path(path: str) -> str:
    """A relative POSIX path inside the adapter folder, e.g. "adapter_model.safetensors" or "head/config.json"."""
    if not path or len(path) > PATH_MAX:
        raise InvalidPath(f"The file path {path[:80]!r} must be 1 to {PATH_MAX} characters long.")
    if path.startswith("/") or "\\" in path or "\x00" in path:
        raise InvalidPath(f"The file path {path[:80]!r} must be relative, with '/' separators and no NUL.")
    for part in path.split("/"):
        if part in ("", ".", "..") or not _PATH_PART_RE.fullmatch(part):
            raise InvalidPath(
                f"The file path {path[:80]!r} has the part {part[:40]!r}; parts use ASCII letters, digits and "
                "'_.+-', do not start with '.', and '..' is never allowed."
            )
    return path
