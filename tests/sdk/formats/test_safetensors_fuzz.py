"""Property tests: on any bytes, the header reader answers or raises SafetensorsError, nothing else.

When the real `safetensors` library is importable, every file we accept must load there with the
same tensors, and every file it accepts that we refuse must fall under one of our stricter rules.
"""

from __future__ import annotations

import contextlib
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdk.formats.safetensors import DTYPE_BITS, SafetensorsError, parse_header, read_header
from tests.sdk.formats.builders import file_of, raw_file

try:
    import safetensors as reference
except ImportError:  # the base install has no safetensors; the properties still hold without it
    reference = None

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Rules on which we are deliberately stricter than the Rust reader (ambiguous or unstorable headers).
STRICTER_RULES = ("duplicate key", "exactly dtype, shape, data_offsets", "empty name", "surrogate")
WHOLE_BYTE_DTYPES = sorted(dtype for dtype, bits in DTYPE_BITS.items() if bits % 8 == 0)

names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12).filter(lambda n: n != "__metadata__")
specs = st.dictionaries(
    names, st.tuples(st.sampled_from(WHOLE_BYTE_DTYPES), st.lists(st.integers(0, 5), max_size=3)), max_size=5
)
metadata = st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3)
valid_files = st.builds(file_of, specs, metadata)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**65), 2**65) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
entries = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(sorted(DTYPE_BITS)) | json_values,
        "shape": st.lists(st.integers(-1, 2**64), max_size=4) | json_values,
        "data_offsets": st.lists(st.integers(-1, 64), min_size=2, max_size=2) | json_values,
    },
    optional={"extra": json_values},
)


def check(data: bytes) -> None:
    """Read `data` as a whole file; accepted files must agree with the reference reader."""
    try:
        header = read_header(lambda start, length: data[start : start + length], len(data))
    except SafetensorsError as error:
        _reference_must_refuse_or_be_looser(data, error)
        return
    assert header.file_size == len(data)
    if reference is not None:
        loaded = {name: (info["dtype"], info["shape"]) for name, info in reference.deserialize(data)}
        assert loaded == {name: (info.dtype, list(info.shape)) for name, info in header.tensors.items()}


def _reference_must_refuse_or_be_looser(data: bytes, error: SafetensorsError) -> None:
    if reference is None:
        return
    try:
        reference.deserialize(data)
    except Exception:  # the reference raises SafetensorsError or its own JSON errors
        return
    assert any(rule in str(error) for rule in STRICTER_RULES), f"only we refuse: {error}"


@FUZZ
@given(st.binary(max_size=256), st.integers(-8, 2**20))
def test_parse_header_on_arbitrary_bytes(header, file_size):
    with contextlib.suppress(SafetensorsError):
        parse_header(header, file_size)


@FUZZ
@given(st.binary(max_size=512))
def test_read_header_on_arbitrary_bytes(data):
    check(data)


@FUZZ
@given(st.binary(min_size=8, max_size=64), st.binary(max_size=128))
def test_arbitrary_header_with_a_consistent_length(header, data):
    check(struct.pack("<Q", len(header)) + header + data)


@FUZZ
@given(st.dictionaries(names | st.just("__metadata__"), entries | json_values, max_size=4), st.binary(max_size=64))
def test_structured_headers(document: dict[str, Any], data):
    check(raw_file(document, data))


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """A valid file with a few byte-level edits, mostly inside the header."""
    data = bytearray(draw(valid_files))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        edit = draw(st.sampled_from(["set", "insert", "delete", "truncate", "length"]))
        if edit == "set" and data:
            data[position] = draw(st.sampled_from(b'{}[]",:0123456789 -aeFU\x00\xff'))
        elif edit == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif edit == "delete":
            del data[position : position + draw(st.integers(1, 4))]
        elif edit == "truncate":
            del data[position:]
        elif len(data) >= 8:
            (length,) = struct.unpack("<Q", data[:8])
            data[:8] = struct.pack("<Q", max(0, length + draw(st.integers(-9, 9))))
    return bytes(data)


@FUZZ
@given(mutated_files())
def test_mutated_valid_files(data):
    check(data)


@FUZZ
@given(valid_files)
def test_valid_files_are_accepted(data):
    header = read_header(lambda start, length: data[start : start + length], len(data))
    assert header.file_size == len(data)
    check(data)
