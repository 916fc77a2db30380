"""The publish limits the registry enforces, taken from Settings so services need not know the settings class."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_text_file_bytes: int
    max_files_per_version: int
    max_header_bytes: int
    max_tensors_per_file: int
    upload_chunk_bytes: int
