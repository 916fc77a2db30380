"""docker-compose.yml cannot run here (no Docker engine): check it is consistent instead."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import yaml

from hub.config import Settings

COMPOSE = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _hub_env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service]["environment"].items()}


def test_every_hub_variable_is_a_real_setting():
    for service in ("hub", "migrate"):
        names = [key for key in _hub_env(service) if key.startswith("HUB_")]
        unknown = [name for name in names if name[4:].lower() not in Settings.model_fields]
        assert names and unknown == [], f"{service}: not settings: {unknown}"


def test_database_url_points_at_the_postgres_service():
    url = urlparse(_hub_env("hub")["HUB_DATABASE_URL"].replace("postgresql+psycopg", "postgresql"))
    postgres = SERVICES["postgres"]["environment"]
    assert url.hostname == "postgres" and url.port == 5432
    assert (url.username, url.password, url.path.lstrip("/")) == (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )


def test_storage_points_at_minio_and_the_bucket_that_is_created():
    env = _hub_env("hub")
    bucket = urlparse(env["HUB_STORAGE_URL"]).netloc
    assert env["HUB_STORAGE_URL"].startswith("s3://")
    assert f"local/{bucket}" in " ".join(SERVICES["create-bucket"]["entrypoint"])
    endpoint = urlparse(env["HUB_S3_ENDPOINT_URL"])
    assert endpoint.hostname == "minio" and f"{endpoint.port}:{endpoint.port}" in SERVICES["minio"]["ports"]
    minio = SERVICES["minio"]["environment"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )


def test_hub_starts_after_migration_and_bucket():
    depends = SERVICES["hub"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert depends["create-bucket"]["condition"] == "service_completed_successfully"
    assert SERVICES["migrate"]["command"] == ["hub", "db", "upgrade"]


def test_replicas_sit_behind_the_load_balancer():
    hub, lb = SERVICES["hub"], SERVICES["lb"]
    assert hub["deploy"]["replicas"] >= 2 and "ports" not in hub  # only the balancer is published
    command = hub["command"]
    port = command[command.index("--port") + 1]
    assert port in hub["expose"] and "/healthz" in " ".join(hub["healthcheck"]["test"])
    config = (Path(__file__).parents[2] / lb["volumes"][0].split(":")[0]).read_text()
    assert f"server hub:{port};" in config and "proxy_request_buffering off;" in config
    listen = config.split("listen ", 1)[1].split(";", 1)[0]
    assert f"{listen}:{listen}" in lb["ports"] and lb["depends_on"]["hub"]["condition"] == "service_healthy"
