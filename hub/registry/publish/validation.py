"""The second half of publish: read what was uploaded back from storage and check it.

PEFT adapters are checked here; folders written by AdapterHub's `adapters` or by OpenDelta (told apart by
sdk/formats/detect.py) go through hub/registry/publish/foreign.py.

Only headers and small text files are read (a ranged read per .safetensors file), so validating a
multi-GB adapter costs a few KB of I/O. Everything the version records about the adapter is
derived here, from the bytes, not from what the client claims.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, cast

from hub.errors import (
    InconsistentAdapter,
    InvalidAdapterConfig,
    InvalidSafetensors,
    InvalidTextFile,
    PickleRefused,
)
from hub.registry.evaluations.store import evaluation_texts
from hub.registry.publish.filetypes import CONFIG_NAME, TENSOR_SUFFIX, DeclaredFile, is_json, is_text, suffix
from hub.registry.publish.foreign import describe_foreign, detect
from hub.registry.publish.limits import Limits
from hub.storage import BlobStorage, blob_key
from sdk.formats.errors import AdapterConfigError, FormatError, InconsistentAdapterError
from sdk.formats.peft import PEFT_WEIGHTS_NAME, describe_peft_adapter, parse_peft_config
from sdk.formats.safetensors import SafetensorsHeader, looks_like_pickle, read_header, tensor_manifest

CARD_NAME = "README.md"
# Enough for looks_like_pickle to tell a pickle from a safetensors header that happens to start alike.
PICKLE_SNIFF_BYTES = 16
# How deeply arrays and objects may nest in an uploaded JSON file: serde_json's limit, which the Rust readers
# of these files (tokenizers, safetensors) apply, so no file that loads is deeper. Python's parser would recurse
# into a RecursionError (a 500) on 100k levels; the depth is measured first, without recursion.
MAX_JSON_DEPTH = 128
# A LoRA on every projection of a 32-layer model has a header of about 60 KB: one read covers it.
READ_AHEAD_BYTES = 256 << 10
# A JSON string (the unrolled form, linear on any text: an unterminated string runs to the end).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 and -1 as signed bytes


@dataclass
class InspectedVersion:
    config: dict[str, Any]
    facts: dict[str, Any]
    manifest: dict[str, Any]
    card: str | None
    total_bytes: int
    headers: dict[str, SafetensorsHeader] = field(default_factory=dict)
    eval_texts: dict[str, str] = field(default_factory=dict)  # the card and .eval_results/*.yaml, read at commit


def inspect_version(storage: BlobStorage, files: list[DeclaredFile], limits: Limits) -> InspectedVersion:
    """Validate every uploaded file and derive the adapter's facts; raise a HubError naming the file."""
    texts = {f.path: _read_text(storage, blob_key(f.sha256), f) for f in files if is_text(f.path)}
    headers = {f.path: _read_header(storage, blob_key(f.sha256), f, limits) for f in files if _is_tensor(f)}
    for opaque in (f for f in files if not is_text(f.path) and not _is_tensor(f)):
        _refuse_pickle(storage, blob_key(opaque.sha256), opaque)
    detected = detect(files, texts)
    if detected is not None and detected.library != "peft":
        config, weights, facts = describe_foreign(detected, texts, headers)
    else:
        config = _parse_config(texts[CONFIG_NAME])
        weights = _weights_header(headers)
        facts = _describe(config, weights)
    return InspectedVersion(
        config=config,
        facts=facts,
        manifest=tensor_manifest(weights),
        card=texts.get(CARD_NAME),
        total_bytes=sum(f.size for f in files),
        headers=headers,
        eval_texts=evaluation_texts(texts),
    )


def check_file(storage: BlobStorage, key: str, declared: DeclaredFile, limits: Limits) -> None:
    """The checks one file passes on its own (run on the staged upload, before it enters the store)."""
    if is_text(declared.path):
        _read_text(storage, key, declared)
    elif _is_tensor(declared):
        _read_header(storage, key, declared, limits)
    else:
        _refuse_pickle(storage, key, declared)


def _is_tensor(declared: DeclaredFile) -> bool:
    return suffix(declared.path) == TENSOR_SUFFIX


def _read_text(storage: BlobStorage, key: str, declared: DeclaredFile) -> str:
    raw = storage.read_range(key, 0, declared.size)
    try:
        text = raw.decode("utf-8")
        if is_json(declared.path):
            _check_json_depth(text, declared)
            json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        kind = "JSON" if is_json(declared.path) else "UTF-8 text"
        raise InvalidTextFile(f"The file {declared.path!r} is not valid {kind}: {error}.") from None
    return text


def _check_json_depth(text: str, declared: DeclaredFile) -> None:
    if (depth := json_depth(text)) > MAX_JSON_DEPTH:
        raise InvalidTextFile(
            f"The file {declared.path!r} nests arrays or objects {depth} deep; the limit is {MAX_JSON_DEPTH}."
        )


def json_depth(text: str) -> int:
    """How deeply brackets nest in JSON text, counted outside strings in linear time (the text may not be JSON)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).encode()
    steps = memoryview(brackets.translate(_BRACKET_STEPS)).cast("b")  # summed in C, not a Python loop
    return max(accumulate(steps), default=0)


class ReadAhead:
    """One object's ranged reads answered from its first bytes when they fall inside them: the pickle sniff, the
    safetensors length prefix and the header are then one storage request, not three (on moto, which reads the
    whole object for any range, three full reads of the weights)."""

    def __init__(self, storage: BlobStorage, key: str, head: bytes) -> None:
        self._storage, self._key, self._head = storage, key, head

    @classmethod
    def of(cls, storage: BlobStorage, key: str, size: int) -> ReadAhead:
        return cls(storage, key, storage.read_range(key, 0, min(size, READ_AHEAD_BYTES)))

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if key == self._key and start + length <= len(self._head):
            return self._head[start : start + length]
        return self._storage.read_range(key, start, length)


def _read_header(storage: BlobStorage, key: str, declared: DeclaredFile, limits: Limits) -> SafetensorsHeader:
    head = storage if isinstance(storage, ReadAhead) else ReadAhead.of(storage, key, declared.size)
    _refuse_pickle(cast(BlobStorage, head), key, declared)
    try:
        return read_header(
            lambda start, length: head.read_range(key, start, length),
            declared.size,
            max_header_bytes=limits.max_header_bytes,
            max_tensors=limits.max_tensors_per_file,
        )
    except FormatError as error:
        raise InvalidSafetensors(f"The file {declared.path!r} is not a valid safetensors file: {error}") from None


def _refuse_pickle(storage: BlobStorage, key: str, declared: DeclaredFile) -> None:
    if declared.size and looks_like_pickle(storage.read_range(key, 0, min(PICKLE_SNIFF_BYTES, declared.size))):
        raise PickleRefused(
            f"The file {declared.path!r} holds a pickle (or a torch.save zip), not what its name says; "
            "the hub never stores pickles."
        )


def _parse_config(text: str) -> dict[str, Any]:
    try:
        return parse_peft_config(text.encode("utf-8"))
    except AdapterConfigError as error:
        raise InvalidAdapterConfig(f"{CONFIG_NAME}: {error}") from None


def _weights_header(headers: dict[str, SafetensorsHeader]) -> SafetensorsHeader:
    if PEFT_WEIGHTS_NAME in headers:
        return headers[PEFT_WEIGHTS_NAME]
    raise InconsistentAdapter(f"A PEFT adapter keeps its weights in {PEFT_WEIGHTS_NAME} at the top level.")


def _describe(config: dict[str, Any], weights: SafetensorsHeader) -> dict[str, Any]:
    try:
        return describe_peft_adapter(config, weights).to_dict()
    except InconsistentAdapterError as error:
        raise InconsistentAdapter(f"{CONFIG_NAME} and {PEFT_WEIGHTS_NAME} disagree: {error}") from None
    except AdapterConfigError as error:
        raise InvalidAdapterConfig(f"{CONFIG_NAME}: {error}") from None
