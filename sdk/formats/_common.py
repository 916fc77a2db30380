"""Helpers shared by the format parsers: strict JSON and safe quoting of untrusted text."""

from __future__ import annotations

import json
import math

from sdk.formats.errors import FormatError

# Untrusted names can be megabytes long; error messages show a bounded prefix.
SHOW_LIMIT = 120


def show(value: object) -> str:
    """Quote an untrusted value for a message: repr (escapes control characters), bounded length."""
    text = repr(value)
    return text if len(text) <= SHOW_LIMIT else text[: SHOW_LIMIT - 3] + "..."


def is_utf8_text(value: str) -> bool:
    """False for strings holding lone surrogates (JSON "\\ud800"), which cannot be encoded as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads_json_object(raw: bytes, error: type[FormatError], what: str) -> dict[str, object]:
    """Decode UTF-8 JSON that must be an object; duplicate keys and NaN/Infinity are refused."""
    try:
        text = str(raw, "utf-8")  # any bytes-like object (bytes, bytearray, memoryview)
    except UnicodeDecodeError as exc:
        raise error(f"{what} is not valid UTF-8 (bad byte at offset {exc.start})") from None
    try:
        document = json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_constant=_refuse_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
        )
    except _JsonRefused as exc:
        raise error(f"{what} is not acceptable JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:
        # RecursionError: deeply nested arrays; ValueError also covers integers beyond int_max_str_digits.
        raise error(f"{what} is not valid JSON: {_brief(exc)}") from None
    if not isinstance(document, dict):
        raise error(f"{what} must be a JSON object, not {type(document).__name__}")
    return document


class _JsonRefused(Exception):
    """Valid JSON that we still refuse (raised from inside the decoder hooks)."""


def _unique_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # Duplicate keys are ambiguous: readers disagree on which value wins, so a validator could be bypassed.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _JsonRefused(f"duplicate key {show(duplicate)}")
    return result


def _parse_int(text: str) -> int | float:
    # serde_json reads "-0" as a float, so the Rust reader refuses it where an integer is due.
    return -0.0 if text == "-0" else int(text)


def _parse_float(text: str) -> float:
    # Python reads 1e999 as inf, which neither JSON nor PostgreSQL's jsonb can hold.
    value = float(text)
    if not math.isfinite(value):
        raise _JsonRefused(f"{text[:SHOW_LIMIT]} is out of range")
    return value


def _refuse_constant(name: str) -> object:
    # The Rust safetensors parser and PostgreSQL's jsonb both reject NaN and Infinity.
    raise _JsonRefused(f"{name} is not a JSON value")


def _brief(exc: BaseException) -> str:
    return str(exc)[:SHOW_LIMIT] or type(exc).__name__
