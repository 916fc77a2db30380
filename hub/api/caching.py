"""HTTP caching of the JSON reads (API and Hugging Face surface): one answer builder for all of them.

Every JSON read goes through `json_answer`: the body is serialized once, its strong ETag is a digest of those
bytes (so the same ETag is the same document, on every replica and worker, with nothing kept in memory), and a
matching `If-None-Match` is answered `304` without a body. Who may keep the answer, and for how long, is the
downloads' rule (`hub.api.files.cache_control`): a URL naming a revision id never changes, moving names
(main, tags, vN) and search are revalidated with the ETag every time, private adapters stay in the reader's
own cache. The answers depend on who asks (a private adapter is 404 for others, lineage hides private
sources, a source's merges only those the caller may read, search lists what the caller may see), hence
`Vary: Authorization`. See docs/deployment.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder

from hub.api.files import cache_control
from hub.registry.models import Adapter

MOVING = "no-cache"  # may be stored, but revalidated (If-None-Match) before every use
VARY = "Authorization"
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')


def json_answer(request: Request, document: Any, *, cache: str, headers: Mapping[str, str] | None = None) -> Response:
    """200 with the JSON body, 304 when `If-None-Match` names its ETag; HEAD gets the headers alone."""
    body = render(document)
    answer_headers = {"ETag": strong_etag(body), "Cache-Control": cache, "Vary": VARY, **(headers or {})}
    if none_match(request.headers.get("if-none-match"), answer_headers["ETag"]):
        return Response(status_code=304, headers=answer_headers)
    if request.method == "HEAD":
        length = {"Content-Length": str(len(body)), "Content-Type": "application/json"}
        return Response(status_code=200, headers={**answer_headers, **length})
    return Response(body, media_type="application/json", headers=answer_headers)


def document_cache(adapter: Adapter, *, pinned: bool) -> str:
    """The Cache-Control of an adapter's document: the same rule as its files."""
    return cache_control(adapter, pinned=pinned)


def adapter_cache(adapter: Adapter, merges: list[dict[str, Any]]) -> str:
    """An adapter document's Cache-Control: a public adapter's answer that lists a private merge (only its
    readers see it) is kept out of shared caches, like a private adapter's, whatever they make of Vary."""
    if any(merge["private"] for merge in merges):
        return "private, no-cache"
    return document_cache(adapter, pinned=False)


def render(document: Any) -> bytes:
    # The bytes FastAPI's JSONResponse would send: compact, UTF-8, no NaN. A value json cannot write (a datetime
    # left in a document, say) goes through FastAPI's own encoder rather than failing the request.
    return json.dumps(
        document, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=jsonable_encoder
    ).encode()


def strong_etag(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def none_match(header: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: `*` matches any current document; otherwise a list, compared weakly (W/ ignored)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(candidate.removeprefix("W/") == opaque for candidate in _ENTITY_TAG.findall(header))
