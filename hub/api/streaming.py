"""Bridges between Starlette's async request body and the registry's synchronous services, and Range parsing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import anyio.from_thread
from fastapi import Request

from hub.errors import RangeNotSatisfiable

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def iter_request_body(request: Request) -> Iterator[bytes]:
    """Yield the body chunk by chunk from a sync route (run in a worker thread), never holding it whole."""
    stream = request.stream()
    while True:
        try:
            chunk = anyio.from_thread.run(stream.__anext__)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) for a single `bytes=` range, None for the whole file.

    Multi-range and unknown units are ignored (RFC 9110 lets a server answer 200 with everything);
    a syntactically valid range outside the file is 416.
    """
    match = _RANGE_RE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(f"The range {header!r} asks for no bytes.", headers=_unsatisfiable(size))
        return max(0, size - length), size
    start, end = int(first), (int(last) + 1 if last else size)
    if start >= size or end <= start:
        raise RangeNotSatisfiable(
            f"The range {header!r} lies outside the file of {size} bytes.", headers=_unsatisfiable(size)
        )
    return start, min(end, size)


def _unsatisfiable(size: int) -> dict[str, str]:
    return {"Content-Range": f"bytes */{size}"}  # RFC 9110 15.5.17: tell the client the real length
