"""peft pulls a real LoRA with HF_ENDPOINT from a hub on PostgreSQL + S3 (moto) whose HUB_S3_PUBLIC_ENDPOINT_URL is
set: every weight and config GET is a 302 to storage, and the logits equal loading the published folder from disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import Settings
from tests.fixtures.hub import Account
from tests.hf.conftest import RequestLog, publish_folder
from tests.hf.test_peft import REPO, TOLERANCE, adapter_dir, base_dir, local_logits, remote_logits  # noqa: F401

pytest.importorskip("peft")


@pytest.fixture
def backend() -> str:
    return "postgres-s3"


@pytest.fixture
def settings(settings: Settings, moto_server: str) -> Settings:
    # Built anew, so redirects follow from the public endpoint by default, as in a deployment.
    defaults = settings.model_dump(exclude={"s3_redirect_downloads", "s3_direct_uploads"})
    return Settings.model_validate({**defaults, "s3_public_endpoint_url": moto_server})


def test_peft_from_pretrained_follows_redirects_to_storage(
    hf_hub: str,
    request_log: RequestLog,
    alice: Account,
    lora_files: list[dict[str, bytes]],
    base_dir: Path,  # noqa: F811
    adapter_dir: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    publish_folder(hf_hub, alice.token, REPO, lora_files[0])
    expected = local_logits(base_dir, adapter_dir)
    request_log.clear()
    pulled = remote_logits(tmp_path, "hf_endpoint", base_dir, hf_hub)
    assert (pulled - expected).abs().max() <= TOLERANCE
    gets = sorted((seen.path.rsplit("/", 1)[-1], seen.status) for seen in request_log.resolves("GET"))
    assert gets == [("adapter_config.json", 302), ("adapter_model.safetensors", 302)]
    assert all(seen.status in (200, 302) for seen in request_log.entries)
