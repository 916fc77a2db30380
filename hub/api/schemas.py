"""Request bodies of the JSON API (pydantic validates types and sizes before any service runs)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.registry.catalog.registered import BaseDocument
from hub.registry.publish.filetypes import DeclaredFile
from hub.registry.publish.metadata import PublishMetadata
from sdk.bases import SIDE_FILES
from sdk.formats import REVISION_RE

# Registered bases: an id is ORG/NAME like a Hugging Face repo; the bounds fit any real checkpoint.
BASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,38}/[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
MAX_BASE_PARAMETERS = 10**14
MAX_BASE_MODULES = 200_000
BASE_FILES = frozenset({"config.json", *SIDE_FILES})
MAX_BASE_FILES_BYTES = 1 << 20


class FileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(max_length=255, examples=["adapter_model.safetensors"])
    sha256: str = Field(min_length=64, max_length=64, description="Lower-case hex sha256 of the file's bytes.")
    size: int = Field(ge=0, description="Size in bytes.")


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: list[FileIn] = Field(max_length=1000)

    def declared(self) -> list[DeclaredFile]:
        return [DeclaredFile(path=f.path, sha256=f.sha256, size=f.size) for f in self.files]


class DirectPartsIn(BaseModel):
    """The parts a client will send straight to storage: the base64 SHA-256 of each, in order."""

    model_config = ConfigDict(extra="forbid")

    checksums: list[str] = Field(min_length=1, max_length=10_000, description="Base64 SHA-256 of each part.")


class LineageIn(BaseModel):
    """One source of a merged adapter: which adapter, which revision of it, and its weight in the merge."""

    model_config = ConfigDict(extra="forbid")

    adapter: str = Field(max_length=200, examples=["acme/sst2-lora"])
    revision: str = Field(pattern=f"^{REVISION_RE.pattern}$", description="The source version's 40-hex revision id.")
    version: str | None = Field(None, max_length=16, description="v3; optional, checked against the revision.")
    weight: float = Field(allow_inf_nan=False, description="The source's weight in the merge.")


class CommitIn(BaseModel):
    """What the publisher states; anything left out is read from adapter_config.json where possible."""

    model_config = ConfigDict(extra="forbid")

    base_model: str | None = Field(None, max_length=200, description="Canonical id, e.g. 'gpt2'; never a path.")
    base_revision: str | None = Field(None, max_length=64)
    base_model_type: str | None = Field(None, max_length=64, description="Architecture family: llama, gpt2...")
    base_fingerprint: str | None = Field(None, max_length=64, description="sha256 of the base's structure.")
    task: str | None = Field(None, max_length=64, examples=["text-classification"])
    license: str | None = Field(None, max_length=64, examples=["apache-2.0"])
    tags: list[str] = Field(default_factory=list, max_length=32)
    description: str | None = Field(None, description="Model card (markdown), used when no README.md is uploaded.")
    private: bool | None = Field(None, description="Hide the adapter from everyone without a role in its namespace.")
    lineage: list[LineageIn] = Field(
        default_factory=list, max_length=64, description="For a merged adapter: the adapters it was built from."
    )
    converted_from: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="Pickled files the client converted to safetensors (torch.load(weights_only=True)) before upload.",
    )

    allow_unchanged: bool = Field(
        False, description="Make a version even when the files and metadata equal the latest version's."
    )

    def metadata(self) -> PublishMetadata:
        return PublishMetadata(**self.model_dump(exclude={"allow_unchanged"}))


class RefIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: str = Field(max_length=64, description="The version to point at: v3, a revision id, or a tag.")


class VisibilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    private: bool


class OrgIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=96)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(pattern="^(owner|write|read)$")


class BaseIn(BaseModel):
    """A base model's registration, as sdk/bases.py describe_base writes it (plus the small JSON files)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=BASE_ID_PATTERN, max_length=200, examples=["acme/llama-3-8b"])
    revision: str = Field("main", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
    model_type: str | None = Field(None, max_length=64)
    num_layers: int | None = Field(None, ge=0, le=100_000)
    hidden_size: int | None = Field(None, ge=0, le=10_000_000)
    vocab_size: int | None = Field(None, ge=0, le=100_000_000)
    total_parameters: int = Field(ge=1, le=MAX_BASE_PARAMETERS)
    total_bytes: int = Field(ge=1, le=MAX_BASE_PARAMETERS * 8)
    dtype: str = Field(max_length=32, pattern=r"^[a-z0-9_]+$")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    structure: dict[str, Any] = Field(description="ModelStructure.to_dict(): modules {path: [kind, in, out]}")
    files: dict[str, dict[str, Any]] = Field(description="config.json and small JSON side files, parsed")

    @field_validator("structure")
    @classmethod
    def _bounded_structure(cls, value: dict[str, Any]) -> dict[str, Any]:
        modules = value.get("modules")
        if isinstance(modules, dict) and len(modules) > MAX_BASE_MODULES:
            raise ValueError(f"at most {MAX_BASE_MODULES} modules")
        return value

    @field_validator("files")
    @classmethod
    def _small_files(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if "config.json" not in value or not set(value) <= BASE_FILES:
            raise ValueError(f"config.json is required; the files may be {', '.join(sorted(BASE_FILES))}")
        if len(json.dumps(value)) > MAX_BASE_FILES_BYTES:
            raise ValueError(f"the files exceed {MAX_BASE_FILES_BYTES} bytes of JSON")
        return value

    def document(self) -> BaseDocument:
        sizes = self.model_dump(exclude={"id", "revision", "structure", "files"})
        return BaseDocument(self.id, self.revision, self.structure, sizes, self.files)
