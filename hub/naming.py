"""Namespace, adapter, tag and file-path rules for the hub: those of sdk.formats.names, raised as HTTP errors.

The rules live in sdk/formats/names.py, which the SDK uses too; here each check's neutral error becomes the
hub error of the same code (InvalidName, ReservedName, InvalidPath).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hub.errors import HubError, InvalidName, InvalidPath, ReservedName
from sdk.formats import names
from sdk.formats.names import NAME_MAX, PATH_MAX, RESERVED_NAMESPACES

__all__ = [
    "NAME_MAX",
    "PATH_MAX",
    "RESERVED_NAMESPACES",
    "check_file_path",
    "check_name",
    "check_namespace_name",
    "check_ref_name",
    "check_tag",
]

_HUB_ERRORS: dict[str, type[HubError]] = {cls.code: cls for cls in (InvalidName, InvalidPath, ReservedName)}


@contextmanager
def _as_hub_error() -> Iterator[None]:
    try:
        yield
    except names.NameRuleError as error:
        raise _HUB_ERRORS[error.code](error.message) from None


def _checked(check: Callable[[str], str], value: str) -> str:
    with _as_hub_error():
        return check(value)


def check_name(value: str, what: str = "name") -> str:
    """Return `value` if it is a valid namespace or adapter name, else raise InvalidName saying why."""
    with _as_hub_error():
        return names.check_name(value, what)


def check_namespace_name(value: str) -> str:
    """A valid name that does not shadow a route, else InvalidName or ReservedName."""
    return _checked(names.check_namespace_name, value)


def check_tag(value: str) -> str:
    """A catalogue label ("sql"), else InvalidName."""
    return _checked(names.check_label, value)


def check_ref_name(value: str) -> str:
    """A movable tag ("stable"), not spelled like "v3" or a revision id, else InvalidName."""
    return _checked(names.check_ref_name, value)


def check_file_path(path: str) -> str:
    """A relative POSIX path inside the adapter folder, else InvalidPath."""
    return _checked(names.check_file_path, path)
