"""Which files a version may hold, and checks on the file list a client declares before uploading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from hub.errors import (
    DuplicateFile,
    FileTooLarge,
    InvalidRequest,
    MissingAdapterFile,
    PickleRefused,
    TooManyFiles,
    UnsupportedFile,
)
from hub.naming import check_file_path
from hub.registry.publish.limits import Limits
from sdk.formats import is_sha256
from sdk.signing.bundle import SIGNATURE_NAME  # a JSON bundle, checked by hub/signing/verify.py

# Pickle can run arbitrary code when loaded; the hub never stores it (see docs/formats.md).
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".dill"})
TEXT_SUFFIXES = frozenset({".json", ".md", ".txt", ".yaml", ".yml", ".jinja"})
TENSOR_SUFFIX = ".safetensors"
# SentencePiece tokenizer models (protobuf) travel with adapters that resize the vocabulary.
OPAQUE_SUFFIXES = frozenset({".model"})
CONFIG_NAME = "adapter_config.json"
# OpenDelta's delta config; an upload has this or CONFIG_NAME (validation.py tells which library wrote it).
OPENDELTA_CONFIG_NAME = "config.json"


@dataclass(frozen=True)
class DeclaredFile:
    path: str
    sha256: str
    size: int

    def as_json(self) -> dict[str, object]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


def suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lower()


def is_text(path: str) -> bool:
    return suffix(path) in TEXT_SUFFIXES or path == SIGNATURE_NAME


def is_json(path: str) -> bool:
    return suffix(path) == ".json" or path == SIGNATURE_NAME


def check_declared_files(files: list[DeclaredFile], limits: Limits) -> None:
    """Refuse a file list before any byte is uploaded: paths, types, sizes, duplicates, required files."""
    if not files:
        raise InvalidRequest("The upload lists no files.")
    if len(files) > limits.max_files_per_version:
        raise TooManyFiles(f"The upload lists {len(files)} files; the limit is {limits.max_files_per_version}.")
    seen: set[str] = set()
    for declared in files:
        _check_one(declared, limits)
        if declared.path in seen:
            raise DuplicateFile(f"The file {declared.path!r} is listed twice.")
        seen.add(declared.path)
    _check_required(seen)


def _check_one(declared: DeclaredFile, limits: Limits) -> None:
    check_file_path(declared.path)
    if not is_sha256(declared.sha256):
        raise InvalidRequest(f"The sha256 of {declared.path!r} must be 64 lower-case hex characters.")
    _check_type(declared.path)
    limit = limits.max_text_file_bytes if is_text(declared.path) else limits.max_file_bytes
    if not 0 <= declared.size <= limit:
        raise FileTooLarge(f"The file {declared.path!r} is {declared.size} bytes; the limit for it is {limit}.")


def _check_type(path: str) -> None:
    kind = suffix(path)
    if path == SIGNATURE_NAME:
        return
    if kind in PICKLE_SUFFIXES:
        raise PickleRefused(
            f"The file {path!r} is a pickle ({kind}); the hub accepts weights only as .safetensors. "
            "Convert with `hub publish` (which loads it with torch.load(weights_only=True)) or safetensors; "
            "the SDK does so for PEFT's adapter_model.bin, `adapters`' pytorch_adapter.bin and "
            "pytorch_model_head.bin, and OpenDelta's pytorch_model.bin."
        )
    if kind not in TEXT_SUFFIXES | OPAQUE_SUFFIXES | {TENSOR_SUFFIX}:
        raise UnsupportedFile(
            f"The file {path!r} has a type the hub does not store; allowed: .safetensors, "
            + ", ".join(sorted(TEXT_SUFFIXES | OPAQUE_SUFFIXES))
            + "."
        )


def _check_required(paths: set[str]) -> None:
    if CONFIG_NAME not in paths and OPENDELTA_CONFIG_NAME not in paths:
        raise MissingAdapterFile(
            f"The upload has no {CONFIG_NAME} at its top level (nor, for an OpenDelta delta, "
            f"{OPENDELTA_CONFIG_NAME}); every adapter needs one."
        )
    if not any(suffix(path) == TENSOR_SUFFIX for path in paths):
        raise MissingAdapterFile("The upload has no .safetensors weights file.")
