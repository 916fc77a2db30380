"""Bridges between Starlette's async request body and the registry's synchronous services, and Range parsing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import anyio.from_thread
from fastapi import Depends, Header, Request

from hub.errors import RangeNotSatisfiable

_RANGE_RE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_SHOWN_HEADER = 60  # a Range may hold thousands of digits; messages (and X-Error-Message) quote its start


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


@dataclass(frozen=True)
class RangeRequest:
    """A download's Range and If-Range headers, read alike by the native and the Hugging Face routes."""

    range: str | None = None
    if_range: str | None = None

    def span(self, size: int, etag: str) -> tuple[int, int] | None:
        """(start, end exclusive) to send, None for the whole file.

        RFC 9110 13.1.5: under an If-Range, the Range holds only if the If-Range is this file's strong ETag.
        Another ETag, a weak one or a date (the hub sends no Last-Modified) means the client's partial copy is
        of something else, so it gets the whole file, whatever the Range says.
        """
        if self.if_range is not None and self.if_range.strip() != etag:
            return None
        return parse_range(self.range, size)

    def ignored(self, span: tuple[int, int] | None) -> bool:
        """A Range was sent but the whole file is the answer (If-Range, several ranges, another unit)."""
        return self.range is not None and span is None


def range_request(
    range: Annotated[str | None, Header()] = None, if_range: Annotated[str | None, Header()] = None
) -> RangeRequest:
    return RangeRequest(range, if_range)


RangeHeaders = Annotated[RangeRequest, Depends(range_request)]


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) for a single `bytes=` range, None for the whole file.

    Multi-range and unknown units are ignored (RFC 9110 lets a server answer 200 with everything);
    a syntactically valid range that holds no byte of the file is 416.
    """
    match = _RANGE_RE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = size - _capped(last, size), size
    else:
        start, end = _capped(first, size), min(_capped(last, size) + 1, size) if last else size
    if start >= end:
        shown = header if len(header) <= _SHOWN_HEADER else header[:_SHOWN_HEADER] + "..."
        raise RangeNotSatisfiable(
            f"The range {shown!r} holds no byte of the file of {size} bytes.", headers=_unsatisfiable(size)
        )
    return start, end


def _capped(digits: str, size: int) -> int:
    """A position or length from the header, capped at the file's size: beyond it every number means the same,
    and comparing lengths first keeps int() off numbers past its 4,300-digit limit (a ValueError, so a 500)."""
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(size)):
        return size
    return min(int(significant), size)


def _unsatisfiable(size: int) -> dict[str, str]:
    return {"Content-Range": f"bytes */{size}"}  # RFC 9110 15.5.17: tell the client the real length
