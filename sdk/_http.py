"""Talking to a hub over HTTP: where it is, who we are, retries, progress, and the one place errors are raised.

``raise_for_status`` is the only function that turns a hub's response into an exception (as
huggingface_hub's ``hf_raise_for_status``): every other module gets either a good response or a
``HubError`` whose class is named by the server's ``X-Error-Code``. Storage, where the hub may redirect
file downloads, has no such code: ``storage_get`` raises the HubError of its HTTP status instead.

A hub is not trusted further than its answers can be checked: only http(s) redirects are followed (never
file://, which would put a local file into the cache), the hub's token never goes to another origin, and a
download stops at the size the hub listed.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from tqdm.auto import tqdm

from sdk import settings
from sdk.errors import HubConnectionError, HubError, RedirectRefused, SizeMismatch, TooManyRequests, error_for
from sdk.settings import DEFAULT_URL

RETRY_STATUSES = frozenset({502, 503, 504})
CHUNK_BYTES = 1 << 20
STORAGE_CHUNK_BYTES = 1 << 20
# Below this a bar would flash by and only clutter logs.
PROGRESS_MIN_BYTES = 4 << 20
FOLLOWED_SCHEMES = frozenset({"http", "https"})
T = TypeVar("T")


def token_file() -> Path:
    return settings.config_dir() / "token"


def saved_token() -> str | None:
    try:
        return token_file().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def save_token(token: str) -> Path:
    """Store the token readable by its owner only (0600), replacing any earlier one atomically."""
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".token.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(token + "\n")
    os.replace(tmp, path)
    return path


def resolve_url(url: str | None) -> str:
    return (url or settings.env_url() or DEFAULT_URL).rstrip("/")


def resolve_token(token: str | None) -> str | None:
    # Explicit beats environment beats `hub login`, as in huggingface_hub.
    return token or settings.env_token() or saved_token()


def progress_bar(what: str, total: int) -> tqdm:
    """A byte progress bar, silent for small files and when stderr is not a terminal (logs, CI)."""
    quiet = total < PROGRESS_MIN_BYTES or not sys.stderr.isatty()
    return tqdm(total=total, desc=what, unit="B", unit_scale=True, unit_divisor=1024, disable=quiet, leave=False)


def raise_for_status(response: httpx.Response, what: str) -> None:
    """Raise the SDK exception named by the response's X-Error-Code, if the response is an error.

    Args:
        response: a response whose body may not have been read yet (streams are read here).
        what: names the adapter, revision and file concerned; prefixed to the hub's message.

    Raises:
        HubError: the same-named subclass for a known code, else a HubError carrying the code or status.
    """
    if response.is_success:
        return
    response.read()
    code = response.headers.get("X-Error-Code")
    message = _error_message(response)
    error = error_for(code, with_context(what, message), response.status_code)
    if isinstance(error, TooManyRequests) and response.headers.get("Retry-After", "").isdigit():
        error.retry_after = int(response.headers["Retry-After"])
    raise error


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        # Not the hub's JSON (a proxy, a wrong URL, the storage): say what came back, briefly. Without the
        # query: a presigned storage URL carries its signature there, which logs must not keep.
        text = response.text.strip().replace("\n", " ")[:200]
        where = response.url.copy_with(query=None)
        return f"HTTP {response.status_code} from {where}" + (f": {text}" if text else "")


class HttpSession:
    """One httpx client bound to a hub URL and token, with retries for idempotent calls."""

    def __init__(self, url: str, token: str | None, *, retries: int, backoff: float, timeout: float) -> None:
        self.url = url
        self.retries = retries
        self.backoff = backoff
        headers = {"User-Agent": f"adapter-hub-sdk httpx/{httpx.__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        # httpx drops the Authorization header on a redirect to another origin; the hook refuses other schemes.
        hooks = {"response": [_refuse_unsafe_redirect]}
        self.client = httpx.Client(
            base_url=url, headers=headers, timeout=limits, follow_redirects=True, event_hooks=hooks
        )
        self.timeout = timeout

    def close(self) -> None:
        self.client.close()

    def get_json(self, path: str, *, what: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON document, retried on connection errors and 502/503/504."""
        return self.call("GET", path, what=what, idempotent=True, params=params).json()

    def post_json(self, path: str, body: Any, *, what: str) -> Any:
        """POST JSON; retried only when the connection was never made (the hub saw nothing)."""
        return self.call("POST", path, what=what, idempotent=False, json=body).json()

    def call(self, method: str, path: str, *, what: str, idempotent: bool, **kwargs: Any) -> httpx.Response:
        def attempt() -> httpx.Response:
            response = self.client.request(method, path, **kwargs)
            raise_for_status(response, what)
            return response

        return self.with_retries(attempt, what=what, idempotent=idempotent)

    def put_file(self, path: str, source: Path, size: int, *, what: str) -> None:
        """PUT a file's bytes, streamed. The target is content-addressed, so a repeat is harmless: retried."""

        def attempt() -> None:
            with progress_bar(what, size) as bar, source.open("rb") as stream:
                content = _read_chunks(stream, bar.update)
                headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
                raise_for_status(self.client.put(path, content=content, headers=headers), what)

        self.with_retries(attempt, what=what, idempotent=True)

    def download(self, path: str, out: IO[bytes], size: int, *, what: str) -> None:
        """Stream a file of `size` bytes into `out`; an interrupted transfer resumes with a Range request on retry.

        Raises:
            SizeMismatch: the body runs past `size`; reading stops at the chunk that crosses it, not written.
            RedirectRefused: the hub or storage redirected to a URL that is not http(s).
        """
        with progress_bar(what, size) as bar:
            self.with_retries(lambda: self._download_once(path, out, size, bar), what=what, idempotent=True)

    def _download_once(self, path: str, out: IO[bytes], size: int, bar: tqdm) -> None:
        offset = out.tell()
        # Identity: a compressed body would be inflated before it could be counted against `size`.
        headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={offset}-"} if offset else {})}
        with self._file_stream(path, headers) as (status, chunks):
            if offset and status != 206:  # the server ignored the range: start over
                out.seek(0)
                out.truncate()
                bar.reset()
            for chunk in chunks:
                _refuse_past_size(out.tell() + len(chunk), size)
                out.write(chunk)
                bar.update(len(chunk))

    @contextmanager
    def _file_stream(self, path: str, headers: dict[str, str]) -> Iterator[tuple[int, Iterator[bytes]]]:
        """(status, chunks) of the file from the hub, or from storage when the hub redirects there.

        Both are read with the standard library (see storage_get). The hub's answer is never followed blindly: its
        redirect goes out as a new request with none of our credentials, with the Range header (S3 honours it). A
        retry asks the hub again, so an expired URL is renewed.
        """
        user_agent = self.client.headers["User-Agent"]
        hub_headers = {**headers, "User-Agent": user_agent}
        if "Authorization" in self.client.headers:
            hub_headers["Authorization"] = self.client.headers["Authorization"]
        with _open_url(self.url + path, hub_headers, self.timeout, hub=True) as (response, location):
            if location is None:
                yield response.status, _storage_chunks(response)
                return
        with storage_get(location, {**headers, "User-Agent": user_agent}, self.timeout) as answer:
            yield answer

    def with_retries(self, attempt: Callable[[], T], *, what: str, idempotent: bool) -> T:
        """Run `attempt`, retrying with exponential backoff on transport errors and 502/503/504."""
        for number in range(self.retries + 1):
            try:
                return attempt()
            except httpx.TransportError as error:
                # A POST that may have reached the hub is not repeated; one that never connected is safe to.
                retryable = idempotent or isinstance(error, httpx.ConnectError)
                if not retryable or number == self.retries:
                    raise self._connection_error(error, what, number + 1) from error
            except HubError as error:
                if not idempotent or error.status not in RETRY_STATUSES or number == self.retries:
                    raise _named(error, what) from None
            time.sleep(self.backoff * 2**number)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _connection_error(self, error: httpx.TransportError, what: str, attempts: int) -> HubConnectionError:
        reason = str(error) or type(error).__name__
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return HubConnectionError(f"{what}: could not reach the hub at {self.url}{tries}: {reason}")


def _refuse_unsafe_redirect(response: httpx.Response) -> None:
    """An httpx response hook: a redirect anywhere but http(s) is refused before anything is read from it."""
    if response.is_redirect:
        require_followable(str(response.url.join(response.headers["Location"])))


def require_followable(url: str) -> str:
    """`url` if a redirect to it may be followed (http or https), else RedirectRefused."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in FOLLOWED_SCHEMES:
        where = url.split("?", 1)[0][:200]  # a query may hold a signature, which logs must not keep
        raise RedirectRefused(
            f"a redirect led to {where!r}; only http:// and https:// redirects are followed, "
            "so nothing was read from it"
        )
    return url


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects between http(s) URLs only: the standard library's also follows ftp://."""

    def http_error_302(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Any) -> Any:
        location = headers.get("location") or headers.get("uri") or ""
        try:
            require_followable(urllib.parse.urljoin(req.full_url, location))
        except RedirectRefused:
            fp.close()
            raise
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _storage_opener() -> urllib.request.OpenerDirector:
    """urllib with http(s) only: the default opener also reads file://, ftp:// and data: URLs."""
    return _opener(_HttpOnlyRedirects())


def _hub_opener() -> urllib.request.OpenerDirector:
    """urllib with http(s) only and no redirect handler: a redirect is an HTTPError the caller reads (urllib's
    handler would repeat the Authorization header to wherever the hub points)."""
    return _opener()


def _opener(*extra: urllib.request.BaseHandler) -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    handlers = [urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), urllib.request.HTTPHandler()]
    handlers += [urllib.request.HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(), *extra]
    for handler in [*handlers, urllib.request.HTTPErrorProcessor()]:
        opener.add_handler(handler)
    return opener


@contextmanager
def storage_get(url: str, headers: dict[str, str], timeout: float) -> Iterator[tuple[int, Iterator[bytes]]]:
    """(status, chunks) of a GET on a presigned storage URL, sent with none of our credentials.

    Through the standard library, not httpx: http.client reads 1 MiB per call in C where httpx parses 64 KiB
    network reads in Python, 1.3-1.8x slower against S3 on loopback (docs/performance.md). Failures become
    what the hub's would: an httpx transport error (retried, resuming) or the HubError of the status.
    """
    with _open_url(url, headers, timeout, hub=False) as (response, _):
        yield response.status, _storage_chunks(response)


@contextmanager
def _open_url(
    url: str, headers: dict[str, str], timeout: float, *, hub: bool
) -> Iterator[tuple[http.client.HTTPResponse, str | None]]:
    """The response to a GET, and where it redirects to (None for an answer with a body).

    From the hub (`hub`), a redirect is not followed here but handed back, so the next request carries none of
    the hub's credentials, and an error becomes the HubError its X-Error-Code names; from storage, http(s)
    redirects are followed and an error becomes the HubError of its status.
    """
    request = urllib.request.Request(require_followable(url), headers=headers)  # honours *_proxy
    try:
        response = (_hub_opener() if hub else _storage_opener()).open(request, timeout=timeout)
    except RedirectRefused:
        raise  # an OSError too, but not a transport failure to retry
    except urllib.error.HTTPError as error:
        with error:
            location = error.headers.get("Location") if hub and 300 <= error.code < 400 else None
            if location is None:
                raise _hub_error(error) if hub else _storage_error(url, error) from None
        yield error, require_followable(urllib.parse.urljoin(url, location))  # type: ignore[misc]
        return
    except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
        where = "hub" if hub else "storage"
        raise httpx.ConnectError(f"{where} unreachable: {getattr(error, 'reason', error)}") from error
    with response:
        yield response, None


def _hub_error(error: urllib.error.HTTPError) -> HubError:
    body = error.read(64 << 10).decode("utf-8", "replace")
    try:
        message = str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {error.code} from {error.url.split('?', 1)[0]}: {body.strip()[:200]}"
    raised = error_for(error.headers.get("X-Error-Code"), message, error.code)
    if isinstance(raised, TooManyRequests) and error.headers.get("Retry-After", "").isdigit():
        raised.retry_after = int(error.headers["Retry-After"])
    return raised


def _storage_error(url: str, error: urllib.error.HTTPError) -> HubError:
    text = error.read(300).decode("utf-8", "replace").strip().replace("\n", " ")
    where = url.split("?", 1)[0]  # the query holds the signature, which logs must not keep
    return error_for(None, f"HTTP {error.code} from storage at {where}: {text}", error.code)


def _refuse_past_size(total: int, size: int) -> None:
    if total > size:
        raise SizeMismatch(f"the download ran past the {size} bytes the hub listed; it was stopped, nothing was cached")


def _storage_chunks(response: http.client.HTTPResponse) -> Iterator[bytes]:
    try:
        while chunk := response.read(STORAGE_CHUNK_BYTES):
            yield chunk
    except (OSError, http.client.HTTPException) as error:  # reset, timeout, IncompleteRead: resume from here
        raise httpx.ReadError(f"storage transfer interrupted: {error}") from error
    # read(amt) ends quietly when the peer closes early; `length` still counts the bytes it announced and never
    # sent, which is a cut transfer to resume, not a whole file.
    if response.length:
        raise httpx.ReadError(f"transfer interrupted: the connection closed {response.length} bytes short")


def with_context(what: str, message: str) -> str:
    """Prefix the hub's message with the adapter, revision and file concerned, unless it names them already."""
    return f"{what}: {message}" if what and what not in message else message


def _named(error: HubError, what: str) -> HubError:
    # Errors raised inside a stream have no context yet; add it once, here.
    error.message = with_context(what, error.message)
    error.args = (error.message,)
    return error


def _read_chunks(stream: IO[bytes], progress: Callable[[int], object]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        progress(len(chunk))
        yield chunk


class SearchResults(Iterator[dict[str, Any]]):
    """Adapter summaries, one page fetched at a time; `.total` and `.facets` describe the whole result."""

    def __init__(self, fetch: Callable[[str | None], dict[str, Any]], limit: int | None) -> None:
        self._fetch = fetch
        self._remaining = limit
        first = fetch(None)  # eagerly, so a bad query or an unreachable hub fails at the call
        self.total: int = first["total"]
        self.facets: dict[str, list[dict[str, Any]]] = first["facets"]
        self._page = iter(first["adapters"])
        self._cursor: str | None = first["next_cursor"]

    def __next__(self) -> dict[str, Any]:
        if self._remaining is not None and self._remaining <= 0:
            raise StopIteration
        item = next(self._page, None)
        while item is None and self._cursor:
            page = self._fetch(self._cursor)
            self._page, self._cursor = iter(page["adapters"]), page["next_cursor"]
            item = next(self._page, None)
        if item is None:
            raise StopIteration
        if self._remaining is not None:
            self._remaining -= 1
        return item
