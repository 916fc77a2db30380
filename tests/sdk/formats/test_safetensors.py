"""The safetensors header reader and writer: every rejection rule, on hand-built files."""

from __future__ import annotations

import json
import pickle
import struct
import zipfile
from io import BytesIO

import pytest

from sdk.formats.safetensors import (
    DTYPE_BITS,
    MAX_HEADER_BYTES,
    SafetensorsError,
    TensorInfo,
    header_length,
    looks_like_pickle,
    parse_header,
    read_header,
    read_header_from_path,
    tensor_manifest,
    write_safetensors,
)
from tests.sdk.formats.builders import entry, file_of, parse_file, raw_file


def rejected(data: bytes) -> str:
    """Parse a whole file that must be refused; return the message."""
    with pytest.raises(SafetensorsError) as caught:
        parse_file(data)
    assert caught.value.code == "InvalidSafetensors"
    return str(caught.value)


# header_length


def test_header_length_decodes_little_endian_u64():
    assert header_length(struct.pack("<Q", 16), 100) == 16


@pytest.mark.parametrize(
    ("prefix", "file_size", "words"),
    [
        (b"\x10\x00\x00", 100, "got 3 bytes"),
        (struct.pack("<Q", 16), 7, "too short"),
        (struct.pack("<Q", 0), 100, "is 0"),
        (struct.pack("<Q", 93), 100, "past the end"),
        (struct.pack("<Q", 2**64 - 1), 2**70, "exceeds the limit"),
    ],
)
def test_header_length_rejections(prefix, file_size, words):
    with pytest.raises(SafetensorsError, match=words):
        header_length(prefix, file_size)


def test_header_length_cap_is_configurable():
    assert MAX_HEADER_BYTES == 100_000_000
    with pytest.raises(SafetensorsError, match="limit of 64 bytes"):
        header_length(struct.pack("<Q", 65), 1000, max_header_bytes=64)


# parse_header: what is accepted


def test_parse_reads_tensors_metadata_and_sizes():
    data = file_of({"b": ("F16", [2, 3]), "a": ("F32", [4])}, {"format": "pt"})
    header = parse_file(data)
    assert header.metadata == {"format": "pt"}
    assert header.tensors["a"] == TensorInfo("a", "F32", (4,), 0, 16)
    assert header.tensors["b"] == TensorInfo("b", "F16", (2, 3), 16, 28)
    assert (header.tensors["b"].numel, header.tensors["b"].nbytes) == (6, 12)
    assert (header.data_size, header.file_size) == (28, len(data))


def test_parse_accepts_padding_and_leading_whitespace():
    body = {"t": entry("U8", [2], 0, 2)}
    assert parse_file(raw_file(json.dumps(body).encode() + b"       ", b"xy")).tensors["t"].shape == (2,)
    assert parse_file(raw_file(b"\n " + json.dumps(body).encode(), b"xy")).tensors["t"].end == 2


def test_parse_accepts_an_empty_file_and_zero_size_tensors():
    assert parse_file(raw_file({})).tensors == {}
    header = parse_file(raw_file({"e": entry("F32", [0, 5], 0, 0), "f": entry("F32", [1], 0, 4)}, b"\0" * 4))
    assert header.tensors["e"].numel == 0 and header.data_size == 4


def test_null_metadata_means_none_as_in_the_rust_library():
    assert parse_file(raw_file({"__metadata__": None, "t": entry("U8", [1], 0, 1)}, b"x")).metadata == {}


def test_offsets_may_be_listed_in_any_order():
    header = {"second": entry("U8", [2], 1, 3), "first": entry("U8", [1], 0, 1)}
    assert parse_file(raw_file(header, b"abc")).tensors["second"].start == 1


def test_sub_byte_dtypes_that_fill_whole_bytes():
    assert parse_file(raw_file({"q": entry("F4", [2, 3], 0, 3)}, b"\0" * 3)).tensors["q"].nbytes == 3
    assert parse_file(raw_file({"q": entry("F6_E2M3", [4], 0, 3)}, b"\0" * 3)).tensors["q"].numel == 4


# parse_header: rejections of the document


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"{not json}", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{} {}", "not valid JSON"),
        (b'{"t": {"dtype": "U8", "shape": [NaN], "data_offsets": [0, 1]}}', "NaN"),
        (b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {}}', "duplicate key 'a'"),
        (b'{"a": {"dtype": "U8", "dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}', "duplicate key 'dtype'"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"t": {"dtype": "U8", "shape": [' + b"9" * 5000 + b'], "data_offsets": [0, 1]}}', "not valid JSON"),
    ],
)
def test_document_rejections(header, words):
    assert words in rejected(raw_file(header, b"x"))


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        ([], "must be an object of strings"),
        ({"format": 1}, "entry 'format' must be a string"),
        ({"format": "\ud800"}, "surrogate"),
    ],
)
def test_metadata_rejections(metadata, words):
    assert words in rejected(raw_file({"__metadata__": metadata}))


# parse_header: rejections of one tensor, each naming it


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ([1, 2], "entry must be an object"),
        ({"dtype": "U8", "shape": [1]}, "exactly dtype, shape, data_offsets"),
        ({**entry("U8", [1], 0, 1), "extra": 1}, "'extra'"),
        ({**entry("U8", [1], 0, 1), "dtype": "U4"}, "unknown dtype 'U4'"),
        ({**entry("U8", [1], 0, 1), "dtype": 8}, "unknown dtype 8"),
        ({**entry("U8", [1], 0, 1), "shape": "1"}, "shape must be a list"),
        ({**entry("U8", [1], 0, 1), "shape": [-1]}, "shape holds -1"),
        ({**entry("U8", [0], 0, 0), "shape": [0, 2**64]}, "shape holds 18446744073709551616"),
        ({**entry("U8", [1], 0, 1), "shape": [True]}, "shape holds True"),
        ({**entry("U8", [1], 0, 1), "shape": [1.0]}, "shape holds 1.0"),
        ({**entry("U8", [1], 0, 1), "data_offsets": [0, 1, 2]}, "data_offsets must be [start, end]"),
        ({**entry("U8", [1], 0, 1), "data_offsets": [False, True]}, "data_offsets holds False"),
        ({**entry("U8", [1], 0, 1), "data_offsets": {"start": 0}}, "data_offsets must be a list"),
    ],
)
def test_entry_rejections_name_the_tensor(value, words):
    message = rejected(raw_file({"the.tensor": value}, b"x"))
    assert "tensor 'the.tensor'" in message and words in message


def test_empty_and_unencodable_names():
    assert "empty name" in rejected(raw_file({"": entry("U8", [1], 0, 1)}, b"x"))
    assert "surrogate" in rejected(raw_file({"bad\ud800": entry("U8", [1], 0, 1)}, b"x"))


@pytest.mark.parametrize(
    ("tensors", "data", "words"),
    [
        ({"a": entry("U8", [1], 1, 2)}, b"xx", "start at 1 but the data section starts at 0: it leaves a gap"),
        ({"a": entry("U8", [1], 0, 1), "b": entry("U8", [1], 2, 3)}, b"xyz", "tensor 'b'"),
        ({"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 1, 3)}, b"xyz", "overlaps the previous tensor"),
        ({"a": entry("U8", [2], 0, 2), "b": entry("U8", [0], 2, 1)}, b"xy", "end before they start"),
        ({"a": entry("F32", [2], 0, 4)}, b"xxxx", "needs 8 bytes but data_offsets span 4"),
        ({"a": entry("F4", [3], 0, 2)}, b"xx", "12 bits, not a whole number of bytes"),
        ({"a": entry("U8", [2], 0, 2)}, b"xyz", "tensors cover 2 bytes but the data section holds 3"),
        ({"a": entry("U8", [4], 0, 4)}, b"xy", "tensors cover 4 bytes but the data section holds 2"),
        ({}, b"x", "tensors cover 0 bytes but the data section holds 1"),
    ],
)
def test_layout_rejections(tensors, data, words):
    assert words in rejected(raw_file(tensors, data))


def test_overlap_names_both_tensors():
    message = rejected(raw_file({"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 1, 3)}, b"xyz"))
    assert "tensor 'b'" in message and "tensor 'a' ends at 2" in message


def test_absurd_shapes_are_refused_without_building_huge_numbers():
    message = rejected(raw_file({"huge": entry("F32", [2**62] * 200_000, 0, 4)}, b"\0" * 4))
    assert "tensor 'huge'" in message and "needs more than the 4 bytes" in message
    assert "(200000 dims)" in message


def test_products_that_overflow_u64_before_a_zero_are_refused_like_the_rust_reader():
    assert "needs more than" in rejected(raw_file({"z": entry("U8", [2**40, 2**40, 0], 0, 0)}))
    assert parse_file(raw_file({"z": entry("U8", [0, 2**40, 2**40], 0, 0)})).tensors["z"].numel == 0


def test_parse_header_with_an_inconsistent_file_size():
    data = file_of({"a": ("U8", [1])})
    with pytest.raises(SafetensorsError, match="before the end of its header"):
        parse_header(data[8:-1], 10)


def test_long_names_are_cut_in_messages():
    message = rejected(raw_file({"n" * 10_000: entry("U8", [2], 0, 1)}, b"x"))
    assert len(message) < 400


# read_header / read_header_from_path


def test_read_header_reads_only_the_prefix_then_the_header():
    data = file_of({"a": ("F32", [64, 64])})
    calls: list[tuple[int, int]] = []

    def read_range(start: int, length: int) -> bytes:
        calls.append((start, length))
        return data[start : start + length]

    header = read_header(read_range, len(data))
    (length,) = struct.unpack("<Q", data[:8])
    assert calls == [(0, 8), (8, length)]
    assert header.tensors["a"].shape == (64, 64)


def test_read_header_refuses_short_reads_and_tiny_files():
    data = file_of({"a": ("U8", [1])})
    with pytest.raises(SafetensorsError, match="header bytes where the file declares"):
        read_header(lambda start, length: data[start : start + min(length, 8)], len(data))
    with pytest.raises(SafetensorsError, match="got 7 bytes where the 8-byte header length"):
        read_header(lambda start, length: data[start : start + 7], len(data))
    with pytest.raises(SafetensorsError, match="too short"):
        read_header(lambda start, length: b"", 3)


def test_read_header_honours_max_header_bytes():
    data = file_of({"a": ("U8", [1])})
    with pytest.raises(SafetensorsError, match="exceeds the limit"):
        read_header(lambda start, length: data[start : start + length], len(data), max_header_bytes=8)


def test_read_header_from_path(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(file_of({"w": ("BF16", [3, 2])}, {"format": "pt"}))
    header = read_header_from_path(path)
    assert header.tensors["w"].nbytes == 12 and header.metadata == {"format": "pt"}
    path.write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(SafetensorsError):
        read_header_from_path(str(path))


# write_safetensors and tensor_manifest


def test_writer_pads_the_header_and_lays_tensors_out_by_name():
    data = write_safetensors({"z": ("U8", [1], b"Z"), "a": ("U8", [2], b"AA")}, {"k": "v"})
    (length,) = struct.unpack("<Q", data[:8])
    assert length % 8 == 0 and data[8:9] == b"{"
    assert data[8 + length :] == b"AAZ"
    assert json.loads(data[8 : 8 + length])["__metadata__"] == {"k": "v"}


def test_writer_output_round_trips():
    tensors = {f"t{i}": (dtype, [2, 4], bytes(range(bits))) for i, (dtype, bits) in enumerate(DTYPE_BITS.items())}
    header = parse_file(write_safetensors(tensors))
    assert {name: (info.dtype, list(info.shape)) for name, info in header.tensors.items()} == {
        name: (dtype, shape) for name, (dtype, shape, _) in tensors.items()
    }


def test_writer_without_tensors_or_metadata():
    data = write_safetensors({})
    assert data == struct.pack("<Q", 8) + b"{}      "
    assert parse_file(data).tensors == {}


@pytest.mark.parametrize(
    ("tensors", "metadata", "words"),
    [
        ({"a": ("F32", [2], b"\0" * 4)}, None, "needs 8 bytes"),
        ({"a": ("F4", [3], b"\0\0")}, None, "not a whole number of bytes"),
        ({"a": ("Q4", [1], b"\0")}, None, "unknown dtype"),
        ({"a": ("U8", [-1], b"")}, None, "shape holds -1"),
        ({"a": ("U8", "1", b"\0")}, None, "shape must be a sequence"),
        ({"": ("U8", [1], b"\0")}, None, "empty name"),
        ({"__metadata__": ("U8", [1], b"\0")}, None, "not a usable string"),
        ({}, {"k": 1}, "must be a string"),
        ({}, {1: "v"}, "keys must be strings"),
    ],
)
def test_writer_rejections(tensors, metadata, words):
    with pytest.raises(SafetensorsError, match=words):
        write_safetensors(tensors, metadata)


def test_tensor_manifest_is_sorted_and_json_ready():
    manifest = tensor_manifest(parse_file(file_of({"b": ("F16", [2]), "a": ("I64", [1, 3])})))
    assert list(manifest) == ["a", "b"]
    assert manifest["a"] == {"dtype": "I64", "shape": [1, 3]}
    assert json.loads(json.dumps(manifest)) == manifest


# looks_like_pickle


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickles_are_recognised(protocol):
    assert looks_like_pickle(pickle.dumps({"weight": [1.0, 2.0]}, protocol=protocol))
    assert looks_like_pickle(pickle.dumps({"weight": [1.0]}, protocol=protocol)[:2])


def test_zip_archives_are_recognised():
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    assert looks_like_pickle(buffer.getvalue()[:8])


def test_safetensors_files_are_not_pickles():
    assert not looks_like_pickle(file_of({"a": ("F32", [4])}))
    assert not looks_like_pickle(b"")
    assert not looks_like_pickle(b"\x80")
    # A 640-byte header starts with the protocol-2 magic; the next byte (0) is no pickle opcode.
    assert not looks_like_pickle(struct.pack("<Q", 640))
    # A header length whose third byte is an opcode is still told apart by the '{' that follows.
    assert not looks_like_pickle(struct.pack("<Q", 0x7D0280) + b"{")
