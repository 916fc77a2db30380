"""Settings: the only module that reads HUB_* environment variables.

Every field is documented in docs/configuration.md; tests/hub/test_config.py fails when one is not.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ONE_MIB = 1 << 20
ONE_GIB = 1 << 30


class Settings(BaseSettings):
    """The hub's configuration, built once by the entry point and passed to create_app()."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    data_dir: Path = Field(Path(".hub"), description="Folder for the embedded defaults (SQLite file, blobs).")
    database_url: str = Field("", description="SQLAlchemy URL; default: SQLite at <data_dir>/hub.db.")
    storage_url: str = Field("", description="file:///path or s3://bucket/prefix; default: <data_dir>/blobs.")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint for MinIO/R2/moto; unset means AWS.")
    s3_region: str | None = Field(None, description="S3 region; unset lets boto3 decide (AWS_DEFAULT_REGION).")
    # A private MinIO or a bucket without public DNS is reachable by the hub but not by clients: only an endpoint
    # named here is one clients can reach, so only then do transfers bypass the hub by default.
    s3_public_endpoint_url: str | None = Field(
        None, description="S3 endpoint as clients reach it; set, it turns on redirected downloads and direct uploads."
    )
    s3_redirect_downloads: bool | None = Field(
        None, description="Answer file GETs with a 302 to a presigned storage URL; default: on with a public endpoint."
    )
    s3_direct_uploads: bool | None = Field(
        None,
        description="Let clients upload blobs straight to S3 (presigned parts); default: on with a public endpoint.",
    )
    public_url: str | None = Field(None, description="Base URL clients reach this hub at; default: each request's.")
    # An r=256 LoRA on all linear layers of a 70B model is about 3.3 GB in bf16; 4 GiB leaves room.
    max_file_bytes: int = Field(4 * ONE_GIB, gt=0, description="Largest single file accepted at publish.")
    # JSON and Markdown are read whole into memory to validate them, so they get a far smaller cap.
    max_text_file_bytes: int = Field(4 * ONE_MIB, gt=0, description="Largest config/README/text file.")
    max_files_per_version: int = Field(64, gt=0, description="Most files one version may hold.")
    # The safetensors library refuses headers over 100 MB; adapters have a few thousand tensors at most.
    max_header_bytes: int = Field(16 * ONE_MIB, gt=0, description="Largest safetensors JSON header.")
    # A Llama LoRA on every projection has about 450 tensors; checks, answers and pages grow with the count.
    max_tensors_per_file: int = Field(10_000, gt=0, description="Most tensors one .safetensors file may hold.")
    upload_chunk_bytes: int = Field(8 * ONE_MIB, ge=5 * ONE_MIB, description="Buffer per storage write.")
    # Behind nginx or a load balancer every request comes from the proxy; only these may name the client.
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Proxy addresses whose X-Forwarded-For names the client (JSON list)."
    )
    # Counted in process memory: with several replicas or workers, a user may have replicas x this many.
    max_concurrent_uploads_per_user: int = Field(
        8, gt=0, description="Most blob uploads (PUT) one user may stream at once, per hub process; then 429."
    )
    page_size: int = Field(20, gt=0, le=100, description="Default number of search results per page.")
    download_flush_seconds: float = Field(
        2.0, gt=0, le=3600, description="How often each process writes the download counts it holds in memory."
    )
    # Each process runs the worker; claims in the database keep replicas from sending the same attempt twice.
    webhook_delivery: bool = Field(True, description="Run the webhook delivery worker in this server process.")
    webhook_poll_seconds: float = Field(
        2.0, gt=0, le=3600, description="How often the worker looks for due deliveries."
    )
    webhook_retry_base_seconds: float = Field(
        10.0, ge=0, le=86400, description="Delay before the first retry; doubled after each further failure."
    )
    webhook_max_attempts: int = Field(10, ge=1, le=50, description="Attempts per delivery before it is marked failed.")
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Timeout of one delivery request (per phase)."
    )
    # Any server that speaks the Hugging Face download protocol: huggingface.co, a mirror, another Adapter Hub.
    upstream_url: str | None = Field(
        None, description="Answer Hugging Face requests for repositories this hub does not hold from here."
    )
    # Sent to the upstream instead of the caller's token (which is never forwarded): every caller of this hub
    # then reads what this token reads there.
    upstream_token: str | None = Field(None, description="Bearer token for the upstream; unset sends none.")
    # Below the clients' own 10 s metadata timeout, so an unreachable upstream is answered from the cache in time.
    upstream_timeout_seconds: float = Field(
        5.0, gt=0, le=300, description="Timeout of one request to the upstream (per phase)."
    )

    @field_validator("upstream_url")
    @classmethod
    def _http_upstream(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("HUB_UPSTREAM_URL must be an http:// or https:// URL")
        return value.rstrip("/") if value else None

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'hub.db').resolve()}"
        if not self.storage_url:
            self.storage_url = (self.data_dir / "blobs").resolve().as_uri()
        reachable = self.s3_public_endpoint_url is not None
        if self.s3_redirect_downloads is None:
            self.s3_redirect_downloads = reachable
        if self.s3_direct_uploads is None:
            self.s3_direct_uploads = reachable
        return self
