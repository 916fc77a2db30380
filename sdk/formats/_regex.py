"""Compiling regular expressions taken from untrusted configs (target_modules, rank_pattern keys...).

Python's `re` backtracks: `(a+)+$` takes exponential time, `.*a.*a.*a.*b` quartic time and five
`a{0,80}` in a row 81**5 tries on a long module path, and an upload could use that to stall the
server (or a hostile hub, a client pulling from it). Two guards keep matching cheap:

- a shape check: no repetition inside a repeated group (bounded or not), no repeated alternation,
  at most three unbounded repeats. Real PEFT patterns (".*\\.(q|v)_proj",
  ".*decoder.*(SelfAttention|EncDecAttention).*(q|v)$") need none of these.
- a work bound: `match_work` over-estimates how many steps the backtracking engine can take on any
  path of a given length (below), and patterns over MAX_MATCH_WORK on the longest path allowed are
  refused. The caller multiplies the same bound by its number of paths to cap the total.

The estimate follows a match (anchored at the start, as fullmatch and match are) through the
pattern. It tracks a window of candidate positions: a variable repeat turns each position into
`choices` end positions; a literal string that follows can only match at positions at least its
period apart, which is why `.*decoder` costs a fraction of `.*.`; an alternation or an optional
group tries each way in turn.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sdk.formats.errors import AdapterConfigError

try:  # the parser is private, so the shape check is skipped if a future Python moves it
    from re import _parser
except ImportError:  # pragma: no cover
    _parser = None

MAX_PATTERN_CHARS = 1000
MAX_UNBOUNDED_REPEATS = 3
# Module paths are checked against this length before any pattern runs over them (_peft_keys).
MAX_SUBJECT_CHARS = 512
# Steps of the estimate; CPython's engine takes about 3e8 a second, so this is well under 0.2 s.
MAX_MATCH_WORK = 50_000_000
# Distinct states the estimate may visit: a pattern that needs more is refused as too intricate.
MAX_ANALYSIS_STATES = 20_000
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_ATOMS = frozenset({"LITERAL", "NOT_LITERAL", "ANY", "IN", "CATEGORY"})  # one character each
_GROUPS = frozenset({"SUBPATTERN", "ATOMIC_GROUP"})
_ASSERTIONS = frozenset({"ASSERT", "ASSERT_NOT"})
_PLAIN = r"(?:[A-Za-z0-9_-]|\\\.|\.)*"  # letters, digits, "_", "-", "." (any character) and "\\." (a dot)
_PLAIN_FORMS = re.compile(rf"(?P<plain>{_PLAIN})|\(\.\*\\\.\)\?\((?P<suffix>{_PLAIN})\)\$")


def compile_pattern(pattern: str, what: str) -> re.Pattern[str]:
    """Compile a regex from an untrusted config, refusing ones that could backtrack for ages."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise AdapterConfigError(f"{what} is {len(pattern)} characters long; the limit is {MAX_PATTERN_CHARS}")
    try:
        compiled = re.compile(pattern)
        risk = None if _plain_work(pattern, 0) is not None else _backtracking_risk(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise AdapterConfigError(f"{what} is not a valid regular expression: {exc}") from None
    if risk:
        raise AdapterConfigError(f"{what} uses {risk}, which can make matching very slow")
    work = match_work(compiled, MAX_SUBJECT_CHARS, what)
    if work > MAX_MATCH_WORK:
        raise AdapterConfigError(
            f"{what} could take {work:.2g} steps to match one {MAX_SUBJECT_CHARS}-character module path; "
            f"the limit is {MAX_MATCH_WORK:.2g} (use fewer repeats such as .* or {{0,80}} in a row)"
        )
    return compiled


def match_work(pattern: re.Pattern[str], subject_chars: int, what: str = "a pattern") -> float:
    """An upper estimate of the engine's steps for one match of `pattern` against `subject_chars` characters.

    Stops counting past MAX_MATCH_WORK (the answer is then just "more"). The pattern must have
    passed the shape check.
    """
    plain = _plain_work(pattern.pattern, subject_chars)
    if plain is not None or _parser is None:
        return plain or 0.0
    try:
        return _WorkEstimate(_shape_of(pattern.pattern), subject_chars).total()
    except _TooIntricate:
        raise AdapterConfigError(f"{what} is too intricate to check that it matches quickly") from None
    except RecursionError:
        raise AdapterConfigError(f"{what} nests too deeply to check that it matches quickly") from None


def _plain_work(pattern: str, subject_chars: int) -> float | None:
    """The work of a module name (dots match any character) or of rank_pattern's `(.*\\.)?(name)$`; None
    for other patterns. The common case, worked out without parsing: a rank_pattern may have a key per module."""
    form = _PLAIN_FORMS.fullmatch(pattern)
    if form is None:
        return None
    if form["plain"] is not None:
        return len(form["plain"]) + 1.0
    steps = len(form["suffix"]) + 3  # a dot, the name and the end, tried after each of the subject_chars + 1 prefixes
    return (subject_chars + 2.0) * steps


def _backtracking_risk(pattern: str) -> str | None:
    """What in `pattern` could backtrack badly, or None."""
    if _parser is None:  # pragma: no cover
        return None
    unbounded = 0
    pending = [(_parsed(pattern), False)]
    while pending:
        node, repeated = pending.pop()
        for op, argument in node:
            name = str(op)
            if name in _REPEATS:
                low, high, body = argument
                # Inside a repeat even a bounded or optional repeat multiplies the ways to split the text.
                if repeated and high != low:
                    return "nested repetition"
                unbounded += high == _parser.MAXREPEAT
                pending.append((body, repeated or high > 1))
            elif name == "BRANCH" and repeated:
                return "a repeated alternation"
            elif name in ("GROUPREF", "GROUPREF_EXISTS"):
                return "a backreference"
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


class _TooIntricate(Exception):
    """The estimate visited more than MAX_ANALYSIS_STATES states."""


class _TooMuchWork(Exception):
    """The estimate passed MAX_MATCH_WORK: no need to count further."""


class _Seq:
    """A sequence of simplified opcodes; hashed by identity so continuations are cheap memo keys."""

    __slots__ = ("items",)

    def __init__(self, items: list[tuple]) -> None:
        self.items = items


@dataclass(frozen=True)
class _Shape:
    """A parsed pattern reduced to what the estimate needs."""

    tree: _Seq
    ignores_case: bool
    multiline: bool


@functools.lru_cache(maxsize=256)
def _parsed(pattern: str) -> object:
    return _parser.parse(pattern)  # type: ignore[union-attr]


@functools.lru_cache(maxsize=4096)
def _shape_of(pattern: str) -> _Shape:
    tree = _parsed(pattern)
    flags = _all_flags(tree)
    return _Shape(_simplify(tree, not flags & re.IGNORECASE), bool(flags & re.IGNORECASE), bool(flags & re.MULTILINE))


def _simplify(sequence: object, literal_runs: bool) -> _Seq:
    """("chars", n, period, first) | ("atom", (opcode, argument)) | ("at", name) | ("group", seq) | ("assert", seq) |
    ("branch", [seq]) | ("repeat", low, high, seq); adjacent literals merge into one "chars"."""
    items: list[tuple] = []
    run: list[str] = []
    for op, argument in sequence:  # type: ignore[attr-defined]
        name = str(op)
        if name == "LITERAL" and literal_runs:
            run.append(chr(argument))
            continue
        if run:
            items.append(_chars(run))
            run = []
        items.append(_simplified(name, argument, literal_runs))
    if run:
        items.append(_chars(run))
    return _Seq(items)


def _chars(run: list[str]) -> tuple:
    return ("chars", len(run), _period("".join(run)), run[0])


def _simplified(name: str, argument: object, literal_runs: bool) -> tuple:
    if name in _ATOMS:
        return ("atom", (name, argument))
    if name == "AT":
        return ("at", str(argument))
    if name == "SUBPATTERN":
        return ("group", _simplify(argument[3], literal_runs))  # type: ignore[index]
    if name == "ATOMIC_GROUP":
        return ("group", _simplify(argument, literal_runs))
    if name in _ASSERTIONS:
        return ("assert", _simplify(argument[1], literal_runs))  # type: ignore[index]
    if name == "BRANCH":
        return ("branch", [_simplify(alt, literal_runs) for alt in argument[1]])  # type: ignore[index]
    if name in _REPEATS:
        low, high, body = argument  # type: ignore[misc]
        return ("repeat", low, high, _simplify(body, literal_runs))
    raise _TooIntricate  # the shape check refuses backreferences before we get here


@dataclass
class _WorkEstimate:
    """The work bound of one pattern over subjects of `length` characters (see the module doc)."""

    shape: _Shape
    length: int
    memo: dict[tuple[tuple[tuple[_Seq, int], ...], int, int], float] = field(default_factory=dict)

    def total(self) -> float:
        try:
            return self.work(((self.shape.tree, 0),), 1, 1)
        except _TooMuchWork:
            return float(MAX_MATCH_WORK) + 1

    def work(self, cont: tuple[tuple[_Seq, int], ...], positions: int, span: int) -> float:
        """Steps to run the rest of the pattern from `positions` start positions spread over `span` characters."""
        key = (cont, positions, span)
        if key not in self.memo:
            if len(self.memo) >= MAX_ANALYSIS_STATES:
                raise _TooIntricate
            self.memo[key] = self._walk(cont, positions, span)
        return self.memo[key]

    def _walk(self, cont: tuple[tuple[_Seq, int], ...], positions: int, span: int) -> float:
        steps = 0.0
        while True:
            item, cont = _next_item(cont)
            if item is None:
                return steps + positions
            kind = item[0]
            if kind == "chars":
                steps += positions * item[1]
                positions = min(positions, (span - 1) // item[2] + 1)
            elif kind == "atom":
                steps += positions
            elif kind == "at":
                steps += positions
                positions = min(positions, self._anchored(item[1]))
            elif kind == "group":
                cont = (*cont, (item[1], 0))
            elif kind == "assert":
                steps += self.work(((item[1], 0),), positions, span)
            elif kind == "branch":
                return steps + sum(self.work((*cont, (alt, 0)), positions, span) for alt in item[1])
            else:
                own, rest = self._repeat(item, cont, positions, span)
                if rest is not None:
                    return steps + own + rest
                steps += own
            if steps > MAX_MATCH_WORK:
                raise _TooMuchWork

    def _repeat(
        self, item: tuple, cont: tuple[tuple[_Seq, int], ...], positions: int, span: int
    ) -> tuple[float, float | None]:
        """(steps of the repeat itself, steps of the rest or None when the caller carries on)."""
        _, low, high, body = item
        if high <= 1:
            if high == 0:
                return 0.0, None
            entered = self.work((*cont, (body, 0)), positions, span)
            return 0.0, entered if low == 1 else entered + self.work(cont, positions, span)
        width, cost = self._fixed_body(body)
        if low == high:
            return positions * low * cost, None
        width = max(width, 1)
        reachable = (self.length - low * width) // width if low * width <= self.length else -1
        choices = max(min(high - low, reachable) + 1, 1)
        own = positions * (low + choices) * cost
        if _stops_before(body, cont):
            # `\d+\.`: only the longest run of digits can be followed by the dot, so one position goes on.
            return own + positions * choices, positions * self.work(cont, 1, 1)
        return own, positions * self.work(cont, choices, (choices - 1) * width + 1)

    def _fixed_body(self, body: _Seq) -> tuple[int, float]:
        """(characters, steps) of one pass through a repeated body, which the shape check keeps choice-free."""
        width, steps = 0, 0.0
        for item in body.items:
            kind = item[0]
            if kind in ("chars", "atom"):
                chars = item[1] if kind == "chars" else 1
                width, steps = width + chars, steps + chars
            elif kind == "group":
                inner = self._fixed_body(item[1])
                width, steps = width + inner[0], steps + inner[1]
            elif kind == "repeat":
                inner = self._fixed_body(item[3])
                width, steps = width + item[1] * inner[0], steps + item[1] * inner[1]
            elif kind == "assert":
                steps += self.work(((item[1], 0),), 1, 1)
            else:
                steps += 1  # anchors
        return width, max(steps, 1.0)

    def _anchored(self, anchor: str) -> int:
        """How many positions can pass an anchor: `$` holds at the end or before a final newline."""
        multiline = self.shape.multiline
        if anchor in ("AT_BEGINNING_STRING", "AT_END_STRING") or (anchor == "AT_BEGINNING" and not multiline):
            return 1
        return 2 if anchor == "AT_END" and not multiline else self.length + 1


def _next_item(cont: tuple[tuple[_Seq, int], ...]) -> tuple[tuple | None, tuple[tuple[_Seq, int], ...]]:
    """The next item to match and the continuation after it; (None, ()) at the end of the pattern."""
    while cont:
        sequence, index = cont[-1]
        if index < len(sequence.items):
            return sequence.items[index], (*cont[:-1], (sequence, index + 1))
        cont = cont[:-1]
    return None, ()


def _stops_before(body: _Seq, cont: tuple[tuple[_Seq, int], ...]) -> bool:
    """Whether the repeated body is one character class that cannot match the literal right after it."""
    following = _next_item(cont)[0]
    if len(body.items) != 1 or body.items[0][0] != "atom" or following is None or following[0] != "chars":
        return False
    return not _may_match(body.items[0][1], following[3])


_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}


def _may_match(atom: tuple[str, object], char: str) -> bool:
    """Whether a one-character opcode can match `char` (True when unsure). Unicode classes are the widest."""
    name, argument = atom
    if name == "LITERAL":
        return chr(argument) == char  # type: ignore[arg-type]
    if name == "NOT_LITERAL":
        return chr(argument) != char  # type: ignore[arg-type]
    if name == "CATEGORY":
        return _in_category(str(argument), char)
    if name == "IN":
        return _in_set(argument, char)  # type: ignore[arg-type]
    return True


def _in_category(category: str, char: str) -> bool:
    source = _CATEGORIES.get(category)
    return source is None or re.fullmatch(source, char) is not None


def _in_set(items: list[tuple[object, object]], char: str) -> bool:
    negated = False
    found = False
    for op, argument in items:
        name = str(op)
        if name == "NEGATE":
            negated = True
        elif name == "LITERAL":
            found = found or chr(argument) == char  # type: ignore[arg-type]
        elif name == "RANGE":
            found = found or argument[0] <= ord(char) <= argument[1]  # type: ignore[index]
        elif name == "CATEGORY":
            found = found or _in_category(str(argument), char)
        else:
            return True
    return found != negated


def _period(text: str) -> int:
    """The smallest p with text[i] == text[i + p]: two matches of `text` start at least p apart."""
    for p in range(1, len(text)):
        if text[p:] == text[:-p]:
            return p
    return len(text)


def _all_flags(tree: object) -> int:
    """The pattern's global flags and every flag a group of it turns on."""
    flags = tree.state.flags  # type: ignore[attr-defined]
    pending = [tree]
    while pending:
        for op, argument in pending.pop():  # type: ignore[attr-defined]
            if str(op) == "SUBPATTERN":
                flags |= argument[1]
            pending.extend(_children(argument))
    return flags
