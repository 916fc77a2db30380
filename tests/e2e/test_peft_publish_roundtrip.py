"""A real PEFT LoRA (made with the real `peft` on a tiny random GPT-2) published over real HTTP, found by
each facet, and downloaded byte-identical, on both backends."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from tests.helpers import declare

peft = pytest.importorskip("peft")


@pytest.fixture(scope="module")
def gpt2_lora_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.sdk.formats.models import tiny_gpt2

    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM")
    model = peft.get_peft_model(tiny_gpt2(), config)
    folder = tmp_path_factory.mktemp("gpt2-lora")
    model.save_pretrained(folder)
    return folder


def _publish(base: str, token: str, folder: Path) -> dict:
    files = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        started = http.post("/api/adapters/alice/gpt2-peft-lora/uploads", json={"files": declare(files)}).json()
        by_sha = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
        for blob in started["missing"]:
            http.put(blob["url"], content=by_sha[blob["sha256"]]).raise_for_status()
        meta = {
            "base_model": "openai-community/gpt2",
            "base_model_type": "gpt2",
            "task": "text-generation",
            "license": "mit",
            "tags": ["e2e"],
        }
        response = http.post(started["commit_url"], json=meta)
    assert response.status_code == 201, response.text
    return response.json()


def test_real_peft_adapter_publish_find_download(live_hub, alice, gpt2_lora_folder):
    version = _publish(live_hub, alice.token, gpt2_lora_folder)
    assert version["method"] == "lora" and version["target_modules"] == ["c_attn"] and version["rank"] == 4
    assert version["facts"]["modules"]["transformer.h.1.attn.c_attn"]["out_features"] == 96
    for facet, value in [
        ("base_model", "openai-community/gpt2"),
        ("task", "text-generation"),
        ("architecture", "gpt2"),
        ("method", "lora"),
        ("library", "peft"),
        ("license", "mit"),
        ("tag", "e2e"),
        ("q", "gpt2-peft"),
    ]:
        found = httpx.get(f"{live_hub}/api/adapters", params={facet: value}).json()["adapters"]
        assert [a["id"] for a in found] == ["alice/gpt2-peft-lora"], facet
        other = httpx.get(f"{live_hub}/api/adapters", params={facet: value + "-nope"}).json()["adapters"]
        assert other == [], facet
    for entry in version["files"]:
        data = httpx.get(entry["url"]).content
        assert data == (gpt2_lora_folder / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
