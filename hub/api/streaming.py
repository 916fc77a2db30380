"""Bridges between Starlette's async request body and the registry's synchronous services, and Range parsing."""

from __future__ import annotations

import re
from typing import Protocol

import anyio
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from hub.errors import RangeNotSatisfiable

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


# Chunks are gathered up to this before a worker thread takes them: a body trickling in by a few bytes at a time
# would otherwise cost a thread hand-off per piece (and 40 of them delay every other request); small enough
# that bytes reach storage as they come (a multipart part goes out once its bytes are in).
_BODY_BATCH_BYTES = 64 << 10


class BodySink(Protocol):
    """Where a request body goes (hub.registry.uploads.IncomingBlob): blocking calls, run in worker threads."""

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
