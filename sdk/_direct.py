"""Sending a large blob straight to storage, when the hub offers it (S3 with a public endpoint; docs/api.md).

The hub names a part size; the client hashes each part (SHA-256, base64), asks for one presigned URL per part with
that checksum bound into its signature, PUTs the parts in parallel with none of the hub's credentials, then asks
the hub to finish: the hub reads the object back and checks its sha256 before any version may name it.
Parts are streamed from the file, never held whole, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from sdk._http import HttpSession, progress_bar, raise_for_status

PARALLEL_PARTS = 8  # as boto3's upload_file (10): enough to keep a store busy, few enough to share one link
READ_BYTES = 1 << 20
PART_ATTEMPTS = 3
Span = tuple[int, int]  # (offset, length) of one part in the file


def upload_direct(http: HttpSession, blob: dict[str, Any], source: Path, size: int, *, what: str) -> None:
    """Send `source` through the presigned parts the hub hands out for `blob`, then let the hub verify it.

    Raises:
        HubError: the hub or storage refused (DigestMismatch if the bytes changed since they were hashed).
        HubConnectionError: the hub or storage could not be reached.
    """
    part_size = int(blob["direct"]["part_size"])
    spans = [(offset, min(part_size, size - offset)) for offset in range(0, size, part_size)]
    with ThreadPoolExecutor(PARALLEL_PARTS, thread_name_prefix="sdk-part") as pool:
        checksums = list(pool.map(lambda span: part_checksum(source, span), spans))
        plan = http.post_json(blob["direct"]["parts_url"], {"checksums": checksums}, what=what)
        with progress_bar(what, size) as bar, _storage_client(http.timeout) as storage:
            send = _part_sender(http, storage, source, bar.update, what)
            list(pool.map(send, plan["parts"], spans))
    http.post_json(plan["complete_url"], {}, what=what)


def part_checksum(source: Path, span: Span) -> str:
    digest = hashlib.sha256()
    for chunk in _read_span(source, span):
        digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def _storage_client(timeout: float) -> httpx.Client:
    # Its own client: no base URL, no Authorization header, no redirects. A presigned URL is its own credential.
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False)


def _part_sender(
    http: HttpSession, storage: httpx.Client, source: Path, progress: Callable[[int], object], what: str
) -> Callable[[dict[str, Any], Span], None]:
    def send(part: dict[str, Any], span: Span) -> None:
        headers = {**part["headers"], "Content-Length": str(span[1])}

        def attempt() -> None:
            sent: list[int] = []  # what this attempt reported, taken back from the bar if it fails

            def counted(chunk: int) -> None:
                sent.append(chunk)
                progress(chunk)

            try:
                response = storage.put(part["url"], content=_read_span(source, span, counted), headers=headers)
            except httpx.TransportError:
                progress(-sum(sent))
                raise
            raise_for_status(response, f"{what}: part {part['number']}")

        # A part may be sent again: the upload keeps the last copy of each part number.
        http.with_retries(attempt, what=f"{what}: part {part['number']}", idempotent=True)

    return send


def _read_span(source: Path, span: Span, progress: Callable[[int], object] | None = None) -> Iterator[bytes]:
    offset, length = span
    with source.open("rb") as stream:
        stream.seek(offset)
        while length > 0 and (chunk := stream.read(min(READ_BYTES, length))):
            length -= len(chunk)
            if progress is not None:
                progress(len(chunk))
            yield chunk
