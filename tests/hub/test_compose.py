"""docker-compose.yml cannot run here (no Docker engine): check it is consistent instead.

Values are read as compose would with no `.env`: every ``${VAR:-default}`` becomes its default.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml

from hub.config import Settings

ROOT = Path(__file__).parents[2]
RAW = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def _defaults(value: object) -> object:
    """The value with each ${VAR:-default} replaced by its default, in nested lists and maps too."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: match.group(2) or "", value)
    if isinstance(value, list):
        return [_defaults(item) for item in value]
    if isinstance(value, dict):
        return {key: _defaults(item) for key, item in value.items()}
    return value


COMPOSE = _defaults(RAW)
SERVICES = COMPOSE["services"]


def _hub_env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service]["environment"].items()}


def _host_ports(service: str) -> list[str]:
    """The host side of each published port ("127.0.0.1:9000:9000" -> "127.0.0.1:9000")."""
    return [mapping.rsplit(":", 1)[0] for mapping in SERVICES[service].get("ports", [])]


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
    assert endpoint.hostname == "minio" and f"127.0.0.1:{endpoint.port}" in _host_ports("minio")
    minio = SERVICES["minio"]["environment"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )
    assert SERVICES["create-bucket"]["environment"] == minio  # the bucket is made with the same credentials
    assert '"$$MINIO_ROOT_USER" "$$MINIO_ROOT_PASSWORD"' in " ".join(SERVICES["create-bucket"]["entrypoint"])


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
    config = (ROOT / lb["volumes"][0].split(":")[0]).read_text()
    assert f"server hub:{port};" in config and "proxy_request_buffering off;" in config
    listen = config.split("listen ", 1)[1].split(";", 1)[0]
    assert f"{listen}:{listen}" in lb["ports"] and lb["depends_on"]["hub"]["condition"] == "service_healthy"


def test_no_published_port_clashes_with_a_local_postgres_or_make_serve():
    published = {service: _host_ports(service) for service in SERVICES}
    assert published["postgres"] == []
    host_ports = [mapping.rsplit(":", 1)[-1] for ports in published.values() for mapping in ports]
    assert "5432" not in host_ports and "8000" not in host_ports
    assert _hub_env("hub")["HUB_PUBLIC_URL"] == f"http://localhost:{_host_ports('lb')[0]}"
    # Anything but the hub itself is reachable from this machine only.
    assert all(
        port.startswith("127.0.0.1:") for service, ports in published.items() if service != "lb" for port in ports
    )


def test_every_image_is_pinned():
    images = {name: service["image"] for name, service in SERVICES.items() if "image" in service}
    unpinned = {name: image for name, image in images.items() if ":" not in image or image.endswith(":latest")}
    assert set(images) >= {"postgres", "minio", "create-bucket", "lb"} and unpinned == {}
    assert all(images[name].split(":", 1)[1].startswith("RELEASE.") for name in ("minio", "create-bucket"))


def test_credentials_come_from_variables_with_trial_defaults():
    raw = RAW["services"]
    secrets = {
        ("minio", "MINIO_ROOT_USER"): "${MINIO_ROOT_USER:-minioadmin}",
        ("minio", "MINIO_ROOT_PASSWORD"): "${MINIO_ROOT_PASSWORD:-minioadmin}",
        ("postgres", "POSTGRES_PASSWORD"): "${POSTGRES_PASSWORD:-hub}",
        ("hub", "AWS_ACCESS_KEY_ID"): "${MINIO_ROOT_USER:-minioadmin}",
        ("hub", "AWS_SECRET_ACCESS_KEY"): "${MINIO_ROOT_PASSWORD:-minioadmin}",
    }
    assert {key: raw[key[0]]["environment"][key[1]] for key in secrets} == secrets
    assert "${POSTGRES_PASSWORD:-hub}@postgres" in raw["hub"]["environment"]["HUB_DATABASE_URL"]
    text = (ROOT / "docker-compose.yml").read_text()
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    for variable in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "POSTGRES_PASSWORD"):
        assert variable in deployment, f"docs/deployment.md does not say how to set {variable}"
    assert "local trial" in text and "local trial" in deployment
