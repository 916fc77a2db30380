"""The malicious and malformed input corpus: one table, every row a 4xx with its exact stable code,
and nothing stored afterwards (row counts and storage keys unchanged), on both backends.

Each row names the request that carries the bad input. Work a row needs beforehand (a published
adapter, an upload whose blobs are in) happens before the snapshot; a row that fails at commit
time re-takes the snapshot after its blobs are uploaded, so "unchanged" there means: no adapter,
version or file row appeared. SQL metacharacters in search have their own table at the end: they
are not errors, they must return exactly the right adapters.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.helpers import assert_error, declare, publish, stored_state, tiny_lora_files

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"
GOOD = "alice/good"
BAD = "alice/bad"
LONG = "x" * 10_000
DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_RANGE = f"bytes={'9' * 5_000}-"  # past int()'s 4,300 digits


# --- building bad safetensors files byte by byte ---------------------------------------------------


def st(header: Any, data: bytes = b"", *, length: int | None = None) -> bytes:
    """A safetensors file: header as a JSON-able value, raw text or raw bytes; length overrides N."""
    if isinstance(header, bytes):
        raw = header
    elif isinstance(header, str):
        raw = header.encode()
    else:
        raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def t(dtype: Any = "F32", shape: Any = (4,), offsets: Any = (0, 16)) -> dict[str, Any]:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


# --- the attacker: one account, helpers that stage an attack and snapshot the state before it -----


class Attack:
    def __init__(self, app, client, account) -> None:
        self.app, self.client, self.account = app, client, account
        self.before: dict[str, Any] = {}

    def mark(self) -> None:
        self.before = stored_state(self.app)

    def request(self, method: str, url: str, **kwargs: Any):
        return self.client.request(method, url, headers={**self.account.headers, **kwargs.pop("headers", {})}, **kwargs)

    def declare(self, files: dict[str, bytes], adapter: str = BAD, entries: list[dict] | None = None):
        body = {"files": entries if entries is not None else declare(files)}
        return self.request("POST", f"/api/adapters/{adapter}/uploads", json=body)

    def put(self, files: dict[str, bytes], path: str, content: bytes | None = None, adapter: str = BAD):
        """Start an upload of files, then PUT one of them (with other bytes than declared, if given)."""
        started = self.declare(files, adapter)
        assert started.status_code == 201, started.text
        url = next(blob["url"] for blob in started.json()["missing"] if blob["path"] == path)
        return self.request("PUT", url, content=files[path] if content is None else content)

    def commit(self, files: dict[str, bytes], body: Any = None, adapter: str = BAD):
        """Upload every blob (each passes on its own), snapshot, then commit: the failure is at commit time."""
        started = self.declare(files, adapter)
        assert started.status_code == 201, started.text
        by_sha = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
        for blob in started.json()["missing"]:
            response = self.request("PUT", blob["url"], content=by_sha[blob["sha256"]])
            assert response.status_code == 200, response.text
        self.mark()
        payload = {"base_model": "tiny/llama-test"} if body is None else body
        return self.request("POST", started.json()["commit_url"], json=payload)

    def commit_raw(self, content: bytes):
        started = self.declare(tiny_lora_files())
        return self.request(
            "POST", started.json()["commit_url"], content=content, headers={"Content-Type": "application/json"}
        )


def cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def with_file(path: str, data: bytes) -> dict[str, bytes]:
    return {**tiny_lora_files(), path: data}


def weights(data: bytes) -> Callable[[Attack], Any]:
    return lambda a: a.put(with_file(WEIGHTS, data), WEIGHTS)


def config(value: Any) -> Callable[[Attack], Any]:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return lambda a: a.commit(with_file(CONFIG, raw))


def declared_path(path: str) -> Callable[[Attack], Any]:
    return lambda a: a.declare(with_file(path, b"{}"))


def good_config(**changes: Any) -> bytes:
    document = json.loads(tiny_lora_files()[CONFIG])
    document.update(changes)
    return json.dumps(document).encode()


def entries(**changes: Any) -> Callable[[Attack], Any]:
    def attack(a: Attack):
        listed = declare(tiny_lora_files())
        listed[0].update(changes)
        return a.declare({}, entries=listed)

    return attack


@dataclass(frozen=True)
class Case:
    status: int
    code: str
    attack: Callable[[Attack], Any]
    needs_adapter: bool = False  # publish alice/good first (before the snapshot)


def case(status: int, code: str, attack: Callable[[Attack], Any], *, adapter: bool = False) -> Case:
    return Case(status, code, attack, adapter)


PICKLE = pickle.dumps({"weights": [1.0, 2.0]}, protocol=4)
TORCH_ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"archive/data.pkl" + bytes(64)
ST = "InvalidSafetensors"

CORPUS: dict[str, Case] = {
    # Malformed safetensors, refused when the blob is PUT (before it reaches the content store).
    "st: header length past EOF": case(400, ST, weights(st({}, length=10_000))),
    "st: header length 2**64-1": case(400, ST, weights(struct.pack("<Q", 2**64 - 1) + b"{}")),
    "st: header length 0": case(400, ST, weights(st(b"", length=0) + b"{}")),
    "st: shorter than the 8-byte prefix": case(400, ST, weights(b"\x02\x00\x00")),
    "st: oversized header (over max_header_bytes)": case(400, ST, weights(st({}, length=(16 << 20) + 8))),
    "st: non-UTF-8 header": case(400, ST, weights(st(b'{"w\xff\xfe": {"dtype": "F32"}}'))),
    "st: not JSON": case(400, ST, weights(st(b'{"a": ]['))),
    "st: JSON array instead of object": case(400, ST, weights(st([t()], bytes(16)))),
    "st: duplicate tensor keys": case(
        400, ST, weights(st(f'{{"a": {json.dumps(t())}, "a": {json.dumps(t())}}}', bytes(16)))
    ),
    "st: NaN in the header": case(400, ST, weights(st(f'{{"a": {json.dumps(t())}, "x": NaN}}', bytes(16)))),
    "st: negative shape": case(400, ST, weights(st({"a": t(shape=[-4])}, bytes(16)))),
    "st: float shape": case(400, ST, weights(st({"a": t(shape=[4.0])}, bytes(16)))),
    "st: bool shape": case(400, ST, weights(st({"a": t(shape=[True, True])}, bytes(16)))),
    "st: shape beyond u64": case(400, ST, weights(st({"a": t(shape=[2**64])}, bytes(16)))),
    "st: huge shape product": case(400, ST, weights(st({"a": t(shape=[2**32, 2**32, 2**32])}, bytes(16)))),
    "st: offsets reversed": case(400, ST, weights(st({"a": t(offsets=[16, 0])}, bytes(16)))),
    "st: offsets overlapping": case(
        400, ST, weights(st({"a": t(offsets=[0, 16]), "b": t(offsets=[8, 24])}, bytes(24)))
    ),
    "st: offsets leaving a gap": case(
        400, ST, weights(st({"a": t(offsets=[0, 16]), "b": t(offsets=[20, 36])}, bytes(36)))
    ),
    "st: offsets out of range": case(400, ST, weights(st({"a": t(offsets=[0, 16])}, bytes(8)))),
    "st: three data_offsets": case(400, ST, weights(st({"a": t(offsets=[0, 8, 16])}, bytes(16)))),
    "st: unknown dtype": case(400, ST, weights(st({"a": t(dtype="Q7")}, bytes(16)))),
    "st: entry with an extra field": case(400, ST, weights(st({"a": {**t(), "evil": 1}}, bytes(16)))),
    "st: __metadata__ with a non-string value": case(
        400, ST, weights(st({"__metadata__": {"format": 1}, "a": t()}, bytes(16)))
    ),
    "st: __metadata__ as a list": case(400, ST, weights(st({"__metadata__": ["pt"], "a": t()}, bytes(16)))),
    "st: 100k nested arrays in the header": case(400, ST, weights(st(b'{"a": ' + DEEP + b"}"))),
    "st: 10,001 tensors (over max_tensors_per_file)": case(
        400, ST, weights(st({f"t{i}": t(shape=[1], offsets=[4 * i, 4 * i + 4]) for i in range(10_001)}, bytes(40_004)))
    ),
    # Code disguised as data.
    "pickle disguised as safetensors": case(400, "PickleRefused", weights(PICKLE)),
    "torch.save zip disguised as safetensors": case(400, "PickleRefused", weights(TORCH_ZIP)),
    "pickle disguised as a tokenizer .model": case(
        400, "PickleRefused", lambda a: a.put(with_file("tokenizer.model", PICKLE), "tokenizer.model")
    ),
    "pickle by its suffix (.bin)": case(400, "PickleRefused", declared_path("adapter_model.bin")),
    "pickle by an upper-case suffix (.PT)": case(400, "PickleRefused", declared_path("model.PT")),
    "an executable": case(400, "UnsupportedFile", declared_path("run.sh")),
    # Path traversal in declared file paths.
    "path: ../": case(400, "InvalidPath", declared_path("../evil.json")),
    "path: nested ../": case(400, "InvalidPath", declared_path("sub/../../evil.json")),
    "path: URL-encoded %2e%2e": case(400, "InvalidPath", declared_path("%2e%2e/%2e%2e/evil.json")),
    "path: URL-encoded slash": case(400, "InvalidPath", declared_path("..%2fevil.json")),
    "path: backslashes": case(400, "InvalidPath", declared_path("..\\..\\evil.json")),
    "path: absolute": case(400, "InvalidPath", declared_path("/etc/evil.json")),
    "path: drive letter": case(400, "InvalidPath", declared_path("C:/evil.json")),
    "path: NUL": case(400, "InvalidPath", declared_path("evil.json\x00.safetensors")),
    "path: empty segment": case(400, "InvalidPath", declared_path("sub//evil.json")),
    "path: right-to-left override": case(400, "InvalidPath", declared_path("evil\u202enosj.json")),
    "path: 10k characters": case(422, "InvalidRequest", declared_path(LONG + ".json")),
    "url: traversal in a download path": case(
        404,
        "FileNotFound",
        lambda a: a.request("GET", f"/api/adapters/{GOOD}/versions/main/files/%2e%2e/%2e%2e/etc/passwd"),
        adapter=True,
    ),
    "url: traversal in an upload id": case(
        404, "UploadNotFound", lambda a: a.request("POST", f"/api/adapters/{BAD}/uploads/..%5c..%5cx/commit", json={})
    ),
    "url: traversal in a blob digest": case(
        400,
        "BlobMissing",
        lambda a: a.request(
            "PUT", a.declare(tiny_lora_files()).json()["commit_url"].replace("commit", "blobs/..%5cx"), content=b"x"
        ),
    ),
    # Sizes.
    "file declared over max_file_bytes": case(413, "FileTooLarge", entries(size=(64 << 20) + 1)),
    "text file declared over max_text_file_bytes": case(
        413, "FileTooLarge", lambda a: a.declare(with_file("notes.txt", b"x" * ((1 << 20) + 1)))
    ),
    "file declared 2**70 bytes": case(413, "FileTooLarge", entries(size=2**70)),
    "more bytes than declared": case(
        400, "SizeMismatch", lambda a: a.put(tiny_lora_files(), CONFIG, tiny_lora_files()[CONFIG] + b" ")
    ),
    "bytes that do not hash to the declared digest": case(
        400, "DigestMismatch", lambda a: a.put(tiny_lora_files(), CONFIG, tiny_lora_files()[CONFIG][:-1] + b" ")
    ),
    "65 files": case(
        400, "TooManyFiles", lambda a: a.declare({**tiny_lora_files(), **{f"f{i}.txt": b"x" for i in range(62)}})
    ),
    # Invalid UTF-8 and broken text files, refused at PUT.
    "adapter_config.json invalid UTF-8": case(
        400, "InvalidTextFile", lambda a: a.put(with_file(CONFIG, b'{"peft_type": "LORA\xff"}'), CONFIG)
    ),
    "README.md invalid UTF-8": case(
        400, "InvalidTextFile", lambda a: a.put(with_file("README.md", b"# caf\xe9 \xc3\x28"), "README.md")
    ),
    "README.md is a pickle": case(400, "InvalidTextFile", lambda a: a.put(with_file("README.md", PICKLE), "README.md")),
    "adapter_config.json not JSON": case(
        400, "InvalidTextFile", lambda a: a.put(with_file(CONFIG, b"peft_type = 'LORA'"), CONFIG)
    ),
    "extra.json of 100k nested arrays": case(
        400, "InvalidTextFile", lambda a: a.put(with_file("extra.json", DEEP), "extra.json")
    ),
    "adapter_config.json nested 129 deep": case(
        400, "InvalidTextFile", lambda a: a.put(with_file(CONFIG, b'{"x": ' + b"[" * 128 + b"]" * 128 + b"}"), CONFIG)
    ),
    # adapter_config.json that is JSON but not a config: refused at commit, no rows.
    "config: JSON array": case(400, "InvalidAdapterConfig", config([{"peft_type": "LORA"}])),
    "config: duplicate keys": case(400, "InvalidAdapterConfig", config(good_config()[:-1] + b', "peft_type": "IA3"}')),
    "config: peft_type a number": case(400, "InvalidAdapterConfig", config(good_config(peft_type=5))),
    "config: NaN": case(400, "InvalidAdapterConfig", config(good_config()[:-1] + b', "lora_alpha2": NaN}')),
    "config: target_modules disagree with the tensors": case(
        400, "InconsistentAdapter", config(good_config(target_modules=["k_proj"]))
    ),
    # Regexes that would make the check burn CPU (each took 5 s or more, and was accepted, before).
    "config: exclude_modules of five bounded repeats": case(
        400, "InvalidAdapterConfig", config(good_config(exclude_modules="a{0,80}" * 5 + "c"))
    ),
    "config: target_modules of three dotted wildcards": case(
        400, "InvalidAdapterConfig", config(good_config(target_modules=r".*\..*\..*\.q_proj"))
    ),
    "config: optional repeats inside a repeat": case(
        400, "InvalidAdapterConfig", config(good_config(exclude_modules="(a?){30}a{30}"))
    ),
    "config: rank_pattern of 3,500 keys": case(
        400, "InvalidAdapterConfig", config(good_config(rank_pattern={f"layers.{i}.q_proj": 2 for i in range(3500)}))
    ),
    # Control characters and very long names.
    "name: control character": case(400, "InvalidName", lambda a: a.declare(tiny_lora_files(), "alice/bad%07name")),
    "name: newline": case(400, "InvalidName", lambda a: a.declare(tiny_lora_files(), "alice/bad%0Aname")),
    "name: 10k characters": case(400, "InvalidName", lambda a: a.declare(tiny_lora_files(), f"alice/{LONG}")),
    "namespace: 10k characters": case(404, "AdapterNotFound", lambda a: a.request("GET", f"/api/adapters/{LONG}/x")),
    "tag: control character": case(
        400,
        "InvalidName",
        lambda a: a.commit(tiny_lora_files(), {"base_model": "tiny/llama-test", "tags": ["ok\x1b[2J"]}),
    ),
    "tag: 10k characters": case(
        400, "InvalidName", lambda a: a.commit(tiny_lora_files(), {"base_model": "tiny/llama-test", "tags": [LONG]})
    ),
    "base_model: SQL metacharacters": case(
        400, "InvalidMetadata", lambda a: a.commit(tiny_lora_files(), {"base_model": "x' OR 1=1 --"})
    ),
    "ref: control character": case(
        400,
        "InvalidName",
        lambda a: a.request("PUT", f"/api/adapters/{GOOD}/refs/st%0Dable", json={"revision": "v1"}),
        adapter=True,
    ),
    "ref: 10k characters": case(
        400,
        "InvalidName",
        lambda a: a.request("PUT", f"/api/adapters/{GOOD}/refs/{LONG}", json={"revision": "v1"}),
        adapter=True,
    ),
    "org: control character": case(
        400, "InvalidName", lambda a: a.request("POST", "/api/orgs", json={"name": "ac\x07me"})
    ),
    "org: 10k characters": case(422, "InvalidRequest", lambda a: a.request("POST", "/api/orgs", json={"name": LONG})),
    # JSON of the wrong types, in every body the API takes.
    "upload: files is a string": case(
        422,
        "InvalidRequest",
        lambda a: a.request("POST", f"/api/adapters/{BAD}/uploads", json={"files": "adapter_model.safetensors"}),
    ),
    "upload: body is a list": case(
        422, "InvalidRequest", lambda a: a.request("POST", f"/api/adapters/{BAD}/uploads", json=[{"path": CONFIG}])
    ),
    "upload: size is text": case(422, "InvalidRequest", entries(size="16 bytes")),
    "upload: size is negative": case(422, "InvalidRequest", entries(size=-1)),
    "upload: path is a number": case(422, "InvalidRequest", entries(path=7)),
    "upload: sha256 is upper-case hex": case(
        422, "InvalidRequest", entries(sha256=hashlib.sha256(b"x").hexdigest().upper())
    ),
    "upload: unknown field": case(422, "InvalidRequest", entries(mode="0777")),
    "upload: body is not JSON": case(
        422,
        "InvalidRequest",
        lambda a: a.request(
            "POST",
            f"/api/adapters/{BAD}/uploads",
            content=b"\xff\xfe{files",
            headers={"Content-Type": "application/json"},
        ),
    ),
    "commit: tags is a string": case(
        422, "InvalidRequest", lambda a: a.commit(tiny_lora_files(), {"base_model": "tiny/llama-test", "tags": "a,b"})
    ),
    "commit: private is a list": case(
        422, "InvalidRequest", lambda a: a.commit(tiny_lora_files(), {"base_model": "tiny/llama-test", "private": [1]})
    ),
    "commit: base_model is a number": case(
        422, "InvalidRequest", lambda a: a.commit(tiny_lora_files(), {"base_model": 7})
    ),
    "commit: body is a string": case(422, "InvalidRequest", lambda a: a.commit(tiny_lora_files(), "tiny/llama-test")),
    "commit: body is truncated JSON": case(422, "InvalidRequest", lambda a: a.commit_raw(b'{"base_model": "tiny')),
    "ref: revision is a number": case(
        422,
        "InvalidRequest",
        lambda a: a.request("PUT", f"/api/adapters/{GOOD}/refs/stable", json={"revision": 1}),
        adapter=True,
    ),
    "visibility: private is a string": case(
        422,
        "InvalidRequest",
        lambda a: a.request("PATCH", f"/api/adapters/{GOOD}", json={"private": "maybe"}),
        adapter=True,
    ),
    "member: role is unknown": case(
        422, "InvalidRequest", lambda a: a.request("PUT", "/api/orgs/acme/members/bob", json={"role": "god"})
    ),
    "org: name is a list": case(422, "InvalidRequest", lambda a: a.request("POST", "/api/orgs", json={"name": ["a"]})),
    "token: scopes is a string": case(
        422, "InvalidRequest", lambda a: a.request("POST", "/api/tokens", json={"scopes": "admin"})
    ),
    "token: expiry of 0 days": case(
        422, "InvalidRequest", lambda a: a.request("POST", "/api/tokens", json={"expires_in_days": 0})
    ),
    "token: id is not a number": case(422, "InvalidRequest", lambda a: a.request("DELETE", "/api/tokens/1%20OR%201=1")),
    # Search parameters and auth.
    "search: q of 10k characters": case(
        422, "InvalidRequest", lambda a: a.request("GET", "/api/adapters", params={"q": LONG})
    ),
    "search: sort is SQL": case(
        422, "InvalidRequest", lambda a: a.request("GET", "/api/adapters", params={"sort": "name; DROP TABLE adapters"})
    ),
    "search: limit is a string": case(
        422, "InvalidRequest", lambda a: a.request("GET", "/api/adapters", params={"limit": "all"})
    ),
    "search: forged cursor": case(
        400, "InvalidCursor", lambda a: a.request("GET", "/api/adapters", params={"cursor": "WyJkb3dubG9hZHMiLCAiJyJd"})
    ),
    "search: cursor with an id past 2**63": case(
        400,
        "InvalidCursor",
        lambda a: a.request("GET", "/api/adapters", params={"cursor": cursor(["downloads", 2**70, 2**70])}),
    ),
    "search: cursor with a NUL": case(
        400,
        "InvalidCursor",
        lambda a: a.request("GET", "/api/adapters", params={"sort": "name", "cursor": cursor(["name", "a\x00", 1])}),
    ),
    "search: cursor with text for a count": case(
        400,
        "InvalidCursor",
        lambda a: a.request("GET", "/api/adapters", params={"cursor": cursor(["downloads", "1 OR 1=1", 1])}),
    ),
    "token: id past 2**63": case(422, "InvalidRequest", lambda a: a.request("DELETE", f"/api/tokens/{2**64}")),
    # Numbers past int() and the database's integers, and bodies the form parser refuses (the web pages too).
    "range: a first byte of 5,000 digits": case(
        416,
        "RangeNotSatisfiable",
        lambda a: a.request("GET", f"/api/adapters/{GOOD}/versions/main/files/{CONFIG}", headers={"Range": HUGE_RANGE}),
        adapter=True,
    ),
    "web: namespace page past 2**64": case(
        422, "InvalidRequest", lambda a: a.request("GET", "/alice?page=" + "9" * 20)
    ),
    "web: namespace page 0": case(422, "InvalidRequest", lambda a: a.request("GET", "/alice?page=0")),
    "form: compat paste past the parser's limit": case(
        422,
        "InvalidRequest",
        lambda a: a.request("POST", f"/{GOOD}/compat", data={"structure": "x" * 7_000_000}),
        adapter=True,
    ),
    "form: multipart without a boundary": case(
        422,
        "InvalidRequest",
        lambda a: a.request("POST", "/login", content=b"token=x", headers={"Content-Type": "multipart/form-data"}),
    ),
    # NUL anywhere in a URL: refused alike on both engines (PostgreSQL would refuse it as text, SQLite find nothing).
    "NUL: in a namespace": case(400, "InvalidName", lambda a: a.request("GET", "/api/adapters/al%00ice/good")),
    "NUL: in a revision": case(
        400, "InvalidName", lambda a: a.request("GET", f"/api/adapters/{GOOD}/versions/ma%00in"), adapter=True
    ),
    "NUL: in a download path": case(
        400,
        "InvalidName",
        lambda a: a.request("GET", f"/api/adapters/{GOOD}/versions/main/files/a%00.json"),
        adapter=True,
    ),
    "NUL: in a Hugging Face resolve": case(
        400, "InvalidName", lambda a: a.request("GET", f"/{GOOD}/resolve/ma%00in/adapter_config.json"), adapter=True
    ),
    "NUL: in a search facet": case(
        422, "InvalidRequest", lambda a: a.request("GET", "/api/adapters", params={"base_model": "gpt2\x00"})
    ),
    "NUL: in an upload name": case(400, "InvalidName", lambda a: a.declare(tiny_lora_files(), "alice/ba%00d")),
    "auth: forged token": case(
        401,
        "InvalidToken",
        lambda a: a.request(
            "POST",
            f"/api/adapters/{BAD}/uploads",
            json={"files": declare(tiny_lora_files())},
            headers={"Authorization": "Bearer hub_' OR '1'='1"},
        ),
    ),
}


@pytest.mark.parametrize("name", list(CORPUS))
def test_bad_input_is_refused_and_stores_nothing(app, client, alice, name):
    entry = CORPUS[name]
    attack = Attack(app, client, alice)
    if entry.needs_adapter:
        assert publish(client, alice, GOOD, tiny_lora_files(seed=9)).status_code == 201
    attack.mark()
    response = entry.attack(attack)
    assert_error(response, entry.status, entry.code)
    assert stored_state(app) == attack.before
    assert client.get(f"/api/adapters/{BAD}").status_code == 404  # no adapter, visible or not


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 30
    assert len({c.code for c in CORPUS.values()}) >= 12


NUL_BODIES = [
    ("PUT", f"/api/adapters/{GOOD}/refs/stable", {"revision": "v\x001"}),
    ("PATCH", f"/api/adapters/{GOOD}", {"private": "\x00"}),
    ("POST", "/api/tokens", {"name": "laptop\x00", "scopes": ["read\x00"]}),
    ("POST", "/api/orgs", {"name": "acme\x00"}),
    ("PUT", "/api/orgs/acme/members/bob", {"role": "read\x00"}),
    ("POST", f"/api/adapters/{BAD}/uploads", {"files": [{"path": "a\x00.json", "sha256": "0" * 64, "size": 1}]}),
]


def test_nul_in_json_bodies_is_a_4xx_on_both_engines(app, client, alice):
    """Engines may disagree on the code (no such revision vs. refused value), never on "not a server error"."""
    assert publish(client, alice, GOOD, tiny_lora_files(seed=9)).status_code == 201
    before = stored_state(app)
    for method, url, body in NUL_BODIES:
        response = client.request(method, url, json=body, headers=alice.headers)
        assert 400 <= response.status_code < 500 and response.headers["X-Error-Code"], (url, response.text)
    assert stored_state(app) == before


# --- SQL and LIKE metacharacters in search: not errors, exactly the right adapters ---------------

SEARCH_ADAPTERS = {
    "alice/plain": "# plain adapter",
    "alice/percent": "# 100% effective",
    "alice/under_score": "# tiny",
    "alice/backslash": "# C:\\weights here",
    "alice/quoted": "# it's quoted",
}

ALL = sorted(SEARCH_ADAPTERS)
SEARCHES = {  # words are runs of letters and digits, each matching a word's start; everything else is data
    "' OR 1=1 --": [],
    "'; DROP TABLE adapters; --": [],
    "plain OR 1=1": [],  # OR is a word to find, not an operator
    "%": [],
    "%plain%": ["alice/plain"],
    "100%": ["alice/percent"],
    "_": [],
    "pl_in": [],  # "_" is no wildcard
    "under_score": ["alice/under_score"],
    "\\": [],
    "\\weights": ["alice/backslash"],
    "it's": ["alice/quoted"],
    '"': [],
    "*": [],
    "NEAR(plain": [],
    "adapter": ["alice/plain"],
    "llama": ALL,
}


@pytest.fixture
def search_world(app, client, alice):
    for index, (adapter, card) in enumerate(SEARCH_ADAPTERS.items()):
        files = {**tiny_lora_files(seed=index), "README.md": card.encode()}
        assert publish(client, alice, adapter, files).status_code == 201
    return stored_state(app)


def test_sql_metacharacters_in_search_match_literally(app, client, search_world):
    for query, expected in SEARCHES.items():
        response = client.get("/api/adapters", params={"q": query, "sort": "name"})
        assert response.status_code == 200, (query, response.text)
        found = sorted(item["id"] for item in response.json()["adapters"])
        assert found == expected, query
        assert response.json()["total"] == len(expected), query
    for facet in ("base_model", "task", "method", "license", "tag"):
        for value in ("%", "_", "' OR '1'='1", "\\"):
            response = client.get("/api/adapters", params={facet: value})
            assert response.status_code == 200 and response.json()["total"] == 0, (facet, value)
    assert stored_state(app) == search_world  # and the tables are all still there
