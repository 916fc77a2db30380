"""Pure-Python reader and writer for the safetensors header.

A file is an 8-byte little-endian u64 N, N bytes of UTF-8 JSON (tensor name -> dtype, shape and
data_offsets, plus an optional ``__metadata__`` map of strings), then the tensor data. Only the header
is read, so the server can validate an upload in S3 with two ranged GETs.

The rules mirror the Rust ``safetensors`` library (0.8), which every client ends up loading the file
with: a file accepted here must load there, and a refusal names the tensor at fault.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
import os
import pickletools
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sdk.formats._common import is_utf8_text, loads_json_object, show
from sdk.formats.errors import SafetensorsError

# The Rust library refuses headers over 100 MB (HeaderTooLarge). A larger cap would accept files no
# client can open; the cap also bounds the memory one upload can make us spend on JSON parsing.
MAX_HEADER_BYTES = 100_000_000
# Adapters have hundreds of tensors (a Llama LoRA on every projection: about 450), a LoRA on every expert
# of a large MoE tens of thousands. Every later step is linear in the count; the hub caps it far lower
# (HUB_MAX_TENSORS_PER_FILE), this default only bounds what a hostile header makes a client spend.
MAX_TENSORS = 100_000
PREFIX_BYTES = 8
# The shortest entry a valid header can hold: "":{"dtype":"U8","shape":[],"data_offsets":[0,0]},
_MIN_ENTRY_BYTES = 49
_SPACE_RE = re.compile(r"[ \t\n\r]*")
_scan_value = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]
U64_MAX = 2**64 - 1  # shapes and offsets are u64 (usize) in the Rust reader
METADATA_KEY = "__metadata__"
_ENTRY_FIELDS = ("data_offsets", "dtype", "shape")

# Bits per element of every dtype safetensors 0.8 accepts. F4 and F6_* are packed sub-byte types:
# a tensor of them must still fill a whole number of bytes.
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "F8_E4M3FNUZ": 8,
    "F8_E5M2FNUZ": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "C64": 64,
    "I64": 64,
    "U64": 64,
    "F64": 64,
}


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the header; start and end are offsets into the data section."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        """Number of elements."""
        return 0 if 0 in self.shape else math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes the tensor occupies in the data section."""
        return self.end - self.start


@dataclass(frozen=True)
class SafetensorsHeader:
    """A validated header: tensors by name and the free-form string metadata."""

    header_size: int
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]

    @property
    def data_size(self) -> int:
        """Bytes of tensor data after the header (validated to be covered exactly)."""
        return max((info.end for info in self.tensors.values()), default=0)

    @property
    def file_size(self) -> int:
        """Total size of the file this header describes."""
        return PREFIX_BYTES + self.header_size + self.data_size


def header_length(prefix: bytes, file_size: int, *, max_header_bytes: int = MAX_HEADER_BYTES) -> int:
    """Decode and check N from the first 8 bytes of a file of `file_size` bytes."""
    if file_size < PREFIX_BYTES:
        raise SafetensorsError(f"file is too short ({file_size} bytes) to hold the 8-byte header length")
    if len(prefix) < PREFIX_BYTES:
        raise SafetensorsError(f"got {len(prefix)} bytes where the 8-byte header length was expected")
    (length,) = struct.unpack("<Q", bytes(prefix[:PREFIX_BYTES]))
    if length == 0:
        raise SafetensorsError("header length is 0: a safetensors header is at least '{}'")
    if length > max_header_bytes:
        raise SafetensorsError(f"header length {length} exceeds the limit of {max_header_bytes} bytes")
    if PREFIX_BYTES + length > file_size:
        raise SafetensorsError(f"header length {length} runs past the end of the {file_size}-byte file")
    return length


def parse_header(header: bytes, file_size: int, *, max_tensors: int = MAX_TENSORS) -> SafetensorsHeader:
    """Validate the N header bytes of a file of `file_size` bytes."""
    _check_tensor_count(header, max_tensors)
    document = loads_json_object(header, SafetensorsError, "safetensors header")
    metadata = _parse_metadata(document.pop(METADATA_KEY, None))
    tensors = {name: _parse_entry(name, entry) for name, entry in document.items()}
    _check_layout(tensors, file_size - PREFIX_BYTES - len(header))
    return SafetensorsHeader(header_size=len(header), tensors=tensors, metadata=metadata)


def _check_tensor_count(header: bytes, max_tensors: int) -> None:
    """Refuse too many tensors before the strict parse, which takes seconds on 100,000 entries.

    Counting stops one past the limit, so the cost follows the limit, not the header; a header too
    short to hold that many entries is not counted at all. A malformed header is left to the strict parse.
    """
    if len(header) < _MIN_ENTRY_BYTES * (max_tensors + 1):
        return
    try:
        count = _count_entries(str(header, "utf-8"), max_tensors + 1)
    except (ValueError, StopIteration, IndexError, RecursionError):
        return
    if count > max_tensors:
        raise SafetensorsError(f"header lists more than {max_tensors} tensors, the limit")


def _count_entries(text: str, stop: int) -> int:
    """Members of the top-level JSON object but __metadata__, counted with the C scanner up to `stop`."""
    index = _skip_space(text, 0)
    if text[index] != "{":
        return 0
    count, index = 0, _skip_space(text, index + 1)
    while text[index] != "}" and count < stop:
        if text[index] != '"':
            raise ValueError("expected a key")
        key, index = json.decoder.scanstring(text, index + 1)  # type: ignore[attr-defined]
        index = _skip_space(text, index)
        if text[index] != ":":
            raise ValueError("expected ':'")
        _, index = _scan_value(text, _skip_space(text, index + 1))
        count += key != METADATA_KEY
        index = _skip_space(text, index)
        if text[index] == ",":
            index = _skip_space(text, index + 1)
        elif text[index] != "}":
            raise ValueError("expected ',' or '}'")
    return count


def _skip_space(text: str, index: int) -> int:
    return _SPACE_RE.match(text, index).end()  # type: ignore[union-attr]


def read_header(
    read_range: Callable[[int, int], bytes],
    file_size: int,
    *,
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_tensors: int = MAX_TENSORS,
) -> SafetensorsHeader:
    """Read and validate a header through `read_range(start, length)`; its own errors propagate."""
    prefix = read_range(0, PREFIX_BYTES) if file_size >= PREFIX_BYTES else b""
    length = header_length(prefix, file_size, max_header_bytes=max_header_bytes)
    header = read_range(PREFIX_BYTES, length)
    if len(header) != length:
        raise SafetensorsError(f"read {len(header)} header bytes where the file declares {length}")
    return parse_header(header, file_size, max_tensors=max_tensors)


def read_header_from_path(
    path: str | os.PathLike[str], *, max_header_bytes: int = MAX_HEADER_BYTES
) -> SafetensorsHeader:
    """Read and validate the header of a local file (OSError propagates)."""
    with open(path, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size

        def read_range(start: int, length: int) -> bytes:
            stream.seek(start)
            return stream.read(length)

        return read_header(read_range, size, max_header_bytes=max_header_bytes)


def write_safetensors(
    tensors: Mapping[str, tuple[str, Sequence[int], bytes]],
    metadata: Mapping[str, str] | None = None,
) -> bytes:
    """Serialize (dtype, shape, raw little-endian bytes) tensors, laid out in name order."""
    document: dict[str, object] = {METADATA_KEY: _checked_metadata(metadata)} if metadata else {}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        dtype, shape, data = tensors[name]
        raw = bytes(data)
        info = _writable(name, dtype, shape, offset, offset + len(raw))
        document[name] = {"dtype": dtype, "shape": list(info.shape), "data_offsets": [info.start, info.end]}
        chunks.append(raw)
        offset = info.end
    header = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    # Pad with spaces to a multiple of 8 so the data section starts aligned, as the Rust writer does.
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"".join(chunks)


def tensor_manifest(header: SafetensorsHeader) -> dict[str, dict[str, object]]:
    """JSON-ready name -> {"dtype", "shape"}, sorted by name."""
    return {name: {"dtype": info.dtype, "shape": list(info.shape)} for name, info in sorted(header.tensors.items())}


# Opcodes that may follow PROTO in a real pickle; 0x00 (the high byte of a small header length) is none.
_PICKLE_OPCODES = frozenset(ord(op.code) for op in pickletools.opcodes)


def looks_like_pickle(prefix: bytes) -> bool:
    """True if the file starts like a pickle (protocol 2-5) or a zip archive (torch.save's format).

    Best given the first 9+ bytes: a safetensors header length can begin with the pickle magic,
    but then the header that follows starts with '{'.
    """
    head = bytes(prefix[: PREFIX_BYTES + 1])
    if head.startswith(b"PK\x03\x04"):
        return True
    if len(head) < 2 or head[0] != 0x80 or not 2 <= head[1] <= 5:
        return False
    if len(head) > 2 and head[2] not in _PICKLE_OPCODES:
        return False
    return not _plausible_safetensors(head)


def _plausible_safetensors(head: bytes) -> bool:
    """A sane header length followed by the JSON object's opening brace."""
    if len(head) <= PREFIX_BYTES:
        return False
    (length,) = struct.unpack("<Q", head[:PREFIX_BYTES])
    return length <= MAX_HEADER_BYTES and head[PREFIX_BYTES:] in (b"{", b" ", b"\t", b"\n", b"\r")


def _parse_metadata(value: object) -> dict[str, str]:
    """Validate __metadata__ (the Rust library also accepts null for "no metadata")."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SafetensorsError(f"{METADATA_KEY} must be an object of strings, not {type(value).__name__}")
    for key, item in value.items():
        if not isinstance(item, str):
            kind = type(item).__name__
            raise SafetensorsError(f"{METADATA_KEY} entry {show(key)} must be a string, not {kind}")
        if not (is_utf8_text(key) and is_utf8_text(item)):
            raise SafetensorsError(f"{METADATA_KEY} entry {show(key)} holds an unpaired UTF-16 surrogate")
    return value


def _parse_entry(name: str, entry: object) -> TensorInfo:
    """Validate one tensor entry of the header."""
    where = _where(name)
    if not isinstance(entry, dict):
        raise SafetensorsError(f"{where}: entry must be an object, not {type(entry).__name__}")
    if tuple(sorted(entry)) != _ENTRY_FIELDS:
        fields = ", ".join(show(key) for key in sorted(entry))
        raise SafetensorsError(f"{where}: entry must have exactly dtype, shape, data_offsets; got {fields}")
    dtype = entry["dtype"]
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise SafetensorsError(f"{where}: unknown dtype {show(dtype)}")
    shape = _int_list(entry["shape"], where, "shape")
    offsets = _int_list(entry["data_offsets"], where, "data_offsets")
    if len(offsets) != 2:
        raise SafetensorsError(f"{where}: data_offsets must be [start, end], got {len(offsets)} numbers")
    return TensorInfo(name=name, dtype=dtype, shape=tuple(shape), start=offsets[0], end=offsets[1])


def _where(name: str) -> str:
    """Name a tensor in a message, refusing names that cannot be stored as text."""
    if not name:
        raise SafetensorsError("a tensor has an empty name")
    if not is_utf8_text(name):
        raise SafetensorsError(f"tensor {show(name)}: name holds an unpaired UTF-16 surrogate")
    return f"tensor {show(name)}"


def _int_list(value: object, where: str, field: str) -> list[int]:
    """A JSON array of non-negative integers (true/false and 2.0 are not integers)."""
    if not isinstance(value, list):
        raise SafetensorsError(f"{where}: {field} must be a list of integers, not {type(value).__name__}")
    for item in value:
        if type(item) is not int or not 0 <= item <= U64_MAX:
            raise SafetensorsError(f"{where}: {field} holds {show(item)}, not an integer in [0, 2**64)")
    return value


def _check_layout(tensors: dict[str, TensorInfo], data_size: int) -> None:
    """Tensors sorted by offset must tile the data section from 0 to its end exactly."""
    if data_size < 0:
        raise SafetensorsError(f"file ends {-data_size} bytes before the end of its header")
    cursor, previous = 0, None
    for info in sorted(tensors.values(), key=lambda item: (item.start, item.end, item.name)):
        if info.end < info.start:
            offsets = f"[{info.start}, {info.end}]"
            raise SafetensorsError(f"{_where(info.name)}: data_offsets {offsets} end before they start")
        if info.start != cursor:
            raise SafetensorsError(_layout_gap(info, cursor, previous))
        _check_size(info)
        cursor, previous = info.end, info
    if cursor != data_size:
        last = f" (the last tensor, {_where(previous.name)}, ends at {cursor})" if previous else ""
        raise SafetensorsError(f"tensors cover {cursor} bytes but the data section holds {data_size}{last}")


def _layout_gap(info: TensorInfo, cursor: int, previous: TensorInfo | None) -> str:
    """Describe a tensor that does not start where the previous one ended."""
    after = f"{_where(previous.name)} ends at {cursor}" if previous else "the data section starts at 0"
    problem = "overlaps the previous tensor" if info.start < cursor else "leaves a gap"
    return f"{_where(info.name)}: data_offsets start at {info.start} but {after}: it {problem}"


def _check_size(info: TensorInfo) -> None:
    """The byte span must equal numel * dtype bits / 8, in whole bytes."""
    bits = DTYPE_BITS[info.dtype]
    span = info.nbytes
    numel = _bounded_numel(info.shape, limit=span * 8 // bits + 1)
    described = f"{_where(info.name)}: shape {_show_shape(info.shape)} of {info.dtype}"
    if numel is None:
        raise SafetensorsError(f"{described} needs more than the {span} bytes its data_offsets span")
    if numel * bits % 8:
        raise SafetensorsError(f"{described} is {numel * bits} bits, not a whole number of bytes")
    if numel * bits // 8 != span:
        raise SafetensorsError(f"{described} needs {numel * bits // 8} bytes but data_offsets span {span}")


def _bounded_numel(shape: tuple[int, ...], limit: int) -> int | None:
    """Product of `shape`, or None as soon as it exceeds `limit` (absurd shapes stay cheap)."""
    if 0 in shape:
        # The Rust reader multiplies in order with overflow checks: [2**40, 2**40, 0] overflows first.
        return 0 if _bounded_numel(shape[: shape.index(0)], U64_MAX) is not None else None
    total = 1
    for dim in shape:
        total *= dim
        if total > limit:
            return None
    return total


def _show_shape(shape: tuple[int, ...]) -> str:
    """A shape for messages; very long shapes are cut."""
    if len(shape) <= 8:
        return str(list(shape))
    return f"[{', '.join(map(str, shape[:8]))}, ... ({len(shape)} dims)]"


def _checked_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Metadata for the writer: strings only, as readers require."""
    checked = dict(metadata)
    if not all(isinstance(key, str) for key in checked):
        raise SafetensorsError(f"{METADATA_KEY} keys must be strings")
    return _parse_metadata(checked)


def _writable(name: object, dtype: object, shape: object, start: int, end: int) -> TensorInfo:
    """Validate one tensor handed to the writer with the reader's own rules."""
    if not isinstance(name, str) or name == METADATA_KEY:
        raise SafetensorsError(f"tensor name {show(name)} is not a usable string")
    where = _where(name)
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise SafetensorsError(f"{where}: unknown dtype {show(dtype)}")
    if isinstance(shape, str | bytes) or not isinstance(shape, Sequence):
        raise SafetensorsError(f"{where}: shape must be a sequence of integers")
    info = TensorInfo(name, dtype, tuple(_int_list(list(shape), where, "shape")), start, end)
    _check_size(info)
    return info
