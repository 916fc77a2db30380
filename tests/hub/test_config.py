"""Settings: embedded defaults, environment parsing, and every field documented in docs/configuration.md."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.config import Settings

DOCS = Path(__file__).parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented():
    text = DOCS.read_text()
    missing = [name for name in Settings.model_fields if f"`HUB_{name.upper()}`" not in text]
    assert missing == [], f"document these settings in docs/configuration.md: {missing}"


def test_embedded_defaults_live_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUB_STORAGE_URL", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/hub.db"
    assert settings.storage_url == (tmp_path / "blobs").resolve().as_uri()


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+psycopg://u@db/hub")
    monkeypatch.setenv("HUB_STORAGE_URL", "s3://bucket/prefix")
    monkeypatch.setenv("HUB_MAX_FILE_BYTES", "1024")
    settings = Settings()
    assert (settings.database_url, settings.storage_url, settings.max_file_bytes) == (
        "postgresql+psycopg://u@db/hub",
        "s3://bucket/prefix",
        1024,
    )


def test_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("HUB_MAX_FILE_BYTES", "-1")
    with pytest.raises(ValidationError, match="max_file_bytes"):
        Settings()


def test_every_error_code_is_documented():
    from hub.errors import all_errors

    text = (DOCS.parent / "api.md").read_text()
    missing = [error.code for error in all_errors() if f"`{error.code}`" not in text]
    assert missing == [], f"document these error codes in docs/api.md: {missing}"


def test_the_upstream_url_must_be_http(monkeypatch):
    monkeypatch.setenv("HUB_UPSTREAM_URL", "huggingface.co")
    with pytest.raises(ValidationError, match="upstream_url"):
        Settings()
    monkeypatch.setenv("HUB_UPSTREAM_URL", "https://huggingface.co/")
    assert Settings().upstream_url == "https://huggingface.co"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (False, False)),
        ({"HUB_S3_PUBLIC_ENDPOINT_URL": "https://s3.example.com"}, (True, True)),
        ({"HUB_S3_PUBLIC_ENDPOINT_URL": "https://s3.example.com", "HUB_S3_DIRECT_UPLOADS": "false"}, (True, False)),
        ({"HUB_S3_REDIRECT_DOWNLOADS": "true"}, (True, False)),
    ],
)
def test_a_public_s3_endpoint_turns_direct_transfers_on_unless_told_otherwise(monkeypatch, env, expected):
    for name in ("HUB_S3_PUBLIC_ENDPOINT_URL", "HUB_S3_REDIRECT_DOWNLOADS", "HUB_S3_DIRECT_UPLOADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert (settings.s3_redirect_downloads, settings.s3_direct_uploads) == expected
