"""Agreement with the real `safetensors` library (Rust): what one writes the other reads."""

from __future__ import annotations

import struct

import pytest

from sdk.formats.safetensors import (
    DTYPE_BITS,
    SafetensorsError,
    read_header,
    read_header_from_path,
    write_safetensors,
)
from tests.sdk.formats.builders import entry, raw_file

safetensors = pytest.importorskip("safetensors")


def test_every_dtype_we_know_is_known_to_the_reference():
    tensors = {f"t_{dtype}": (dtype, [2, 4], bytes(bits)) for dtype, bits in DTYPE_BITS.items()}
    loaded = {
        name: (info["dtype"], info["shape"]) for name, info in safetensors.deserialize(write_safetensors(tensors))
    }
    assert loaded == {name: (dtype, shape) for name, (dtype, shape, _) in tensors.items()}


def test_writer_output_loads_with_numpy_values_intact():
    np_loader = pytest.importorskip("safetensors.numpy")
    numpy = pytest.importorskip("numpy")
    weights = numpy.arange(6, dtype="<f4").reshape(2, 3)
    ids = numpy.array([1, -2, 3], dtype="<i8")
    data = write_safetensors({"w": ("F32", [2, 3], weights.tobytes()), "ids": ("I64", [3], ids.tobytes())})
    loaded = np_loader.load(data)
    assert (loaded["w"] == weights).all() and (loaded["ids"] == ids).all()


def test_writer_output_loads_with_torch_even_when_unaligned(tmp_path):
    torch_loader = pytest.importorskip("safetensors.torch")
    torch = pytest.importorskip("torch")
    # Name order puts the 4-byte F32 tensor at offset 2, after a 2-byte F16 tensor.
    half = torch.tensor([1.5], dtype=torch.float16)
    full = torch.tensor([[2.0, -3.0]], dtype=torch.float32)
    data = write_safetensors(
        {"a": ("F16", [1], half.numpy().tobytes()), "b": ("F32", [1, 2], full.numpy().tobytes())},
        {"format": "pt"},
    )
    loaded = torch_loader.load(data)
    assert torch.equal(loaded["a"], half) and torch.equal(loaded["b"], full)
    path = tmp_path / "x.safetensors"
    path.write_bytes(data)
    with safetensors.safe_open(str(path), framework="pt") as handle:
        assert handle.metadata() == {"format": "pt"}


def test_reference_output_parses_identically(tmp_path):
    np_writer = pytest.importorskip("safetensors.numpy")
    numpy = pytest.importorskip("numpy")
    arrays = {
        "layer.weight": numpy.zeros((4, 8), dtype=numpy.float16),
        "layer.bias": numpy.ones(4, dtype=numpy.float32),
        "flags": numpy.zeros(3, dtype=bool),
        "empty": numpy.zeros((0, 2), dtype=numpy.float64),
    }
    path = tmp_path / "reference.safetensors"
    np_writer.save_file(arrays, str(path), metadata={"format": "np"})
    header = read_header_from_path(path)
    assert header.metadata == {"format": "np"}
    assert {name: list(info.shape) for name, info in header.tensors.items()} == {
        name: list(array.shape) for name, array in arrays.items()
    }
    assert [header.tensors[name].dtype for name in arrays] == ["F16", "F32", "BOOL", "F64"]
    assert header.file_size == path.stat().st_size


@pytest.mark.parametrize(
    "data",
    [
        raw_file({"a": entry("U8", [1], 1, 2)}, b"xx"),
        raw_file({"a": entry("U8", [2], 0, 2), "b": entry("U8", [2], 1, 3)}, b"xyz"),
        raw_file({"a": entry("F32", [2], 0, 4)}, b"xxxx"),
        raw_file({"a": entry("F4", [3], 0, 2)}, b"xx"),
        raw_file({"a": entry("U8", [2], 0, 2)}, b"xyz"),
        raw_file({"a": entry("U4", [2], 0, 1)}, b"x"),
        raw_file({"a": entry("U8", [2**40, 2**40, 0], 0, 0)}),
        raw_file({"__metadata__": {"k": 1}}),
        raw_file(b'{"a": {"dtype": "U8", "shape": [-0], "data_offsets": [0, 0]}}'),
        raw_file(b'{"a": {"dtype": "U8", "shape": [NaN], "data_offsets": [0, 0]}}'),
        struct.pack("<Q", 100_000_001) + b"{}",
    ],
    ids=["gap", "overlap", "size", "sub-byte", "trailing", "dtype", "overflow", "metadata", "-0", "NaN", "cap"],
)
def test_files_the_reference_refuses_are_refused(data):
    with pytest.raises(Exception):  # noqa: B017  (the reference raises its own error types)
        safetensors.deserialize(data)
    with pytest.raises(SafetensorsError):
        read_header(lambda start, length: data[start : start + length], len(data))
