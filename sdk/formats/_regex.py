"""Compiling regular expressions taken from untrusted configs (target_modules, rank_pattern keys...).

Python's `re` backtracks: `(a+)+$` takes exponential time and `.*a.*a.*a.*b` quartic time on a long
module path, and an upload could use that to stall the server. Real PEFT patterns (".*\\.(q|v)_proj",
".*decoder.*(SelfAttention|EncDecAttention).*(q|v)$") need neither nested repetition nor more than
three unbounded repeats, so patterns beyond that are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sdk.formats.errors import AdapterConfigError

try:  # the parser is private, so the shape check is skipped if a future Python moves it
    from re import _parser
except ImportError:  # pragma: no cover
    _parser = None

MAX_PATTERN_CHARS = 1000
MAX_UNBOUNDED_REPEATS = 3
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})


def compile_pattern(pattern: str, what: str) -> re.Pattern[str]:
    """Compile a regex from an untrusted config, refusing ones that could backtrack for ages."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise AdapterConfigError(f"{what} is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}")
    try:
        compiled = re.compile(pattern)
        risk = _backtracking_risk(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise AdapterConfigError(f"{what} is not a valid regular expression: {exc}") from None
    if risk:
        raise AdapterConfigError(f"{what} uses {risk}, which can make matching very slow")
    return compiled


def _backtracking_risk(pattern: str) -> str | None:
    """What in `pattern` could backtrack badly, or None."""
    if _parser is None:  # pragma: no cover
        return None
    unbounded = 0
    pending = [(_parser.parse(pattern), False)]
    while pending:
        node, repeated = pending.pop()
        for op, argument in node:
            name = str(op)
            if name in _REPEATS:
                high, body = argument[1], argument[2]
                if high > 1 and repeated:
                    return "nested repetition"
                unbounded += high == _parser.MAXREPEAT
                pending.append((body, repeated or high > 1))
            elif name == "BRANCH" and repeated:
                return "a repeated alternation"
            else:
                pending.extend((child, repeated) for child in _children(argument))
    return (
        f"{unbounded} unbounded repeats (at most {MAX_UNBOUNDED_REPEATS})"
        if unbounded > MAX_UNBOUNDED_REPEATS
        else None
    )


def _children(argument: object) -> Iterator[object]:
    """Sub-patterns nested in an opcode argument (groups, branches, lookarounds)."""
    if _parser is not None and isinstance(argument, _parser.SubPattern):
        yield argument
    elif isinstance(argument, tuple | list):
        for item in argument:
            yield from _children(item)
