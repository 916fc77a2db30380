"""Bridges between Starlette's async request body and the registry's synchronous services, and Range parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Protocol

import anyio
import anyio.from_thread
from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from hub.errors import RangeNotSatisfiable

_RANGE_RE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_SHOWN_HEADER = 60  # a Range may hold thousands of digits; messages (and X-Error-Message) quote its start


# Chunks are gathered up to this before a worker thread takes them: a body trickling in by a few bytes at a time
# would otherwise cost a thread hand-off per piece (and 40 of them delay every other request); small enough
# that bytes reach storage as they come (a multipart part goes out once its bytes are in).
_BODY_BATCH_BYTES = 64 << 10


class BodySink(Protocol):
    """Where a request body goes (hub.registry.publish.uploads.IncomingBlob): blocking calls, run in worker threads."""

    def write(self, chunk: bytes) -> None: ...

    def finish(self) -> None: ...

    def abort(self) -> None: ...


async def stream_request_body(request: Request, sink: BodySink) -> None:
    """Feed the body to `sink`, then finish it; abort it on any failure (a client gone, a refused byte).

    Chunks are awaited on the event loop, then handed to a worker thread (hashing and storage writes block),
    so no thread, and no database connection, waits on the network while a slow client trickles its bytes in.
    """
    try:
        batch = bytearray()
        async for chunk in request.stream():
            batch += chunk
            if len(batch) >= _BODY_BATCH_BYTES:
                await run_in_threadpool(sink.write, bytes(batch))
                batch.clear()
        await run_in_threadpool(_write_last, sink, bytes(batch))
    except BaseException:
        with anyio.CancelScope(shield=True):  # clean up even when the request task is being cancelled
            await run_in_threadpool(sink.abort)
        raise


def _write_last(sink: BodySink, batch: bytes) -> None:
    if batch:
        sink.write(batch)
    sink.finish()


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
