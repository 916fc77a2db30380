"""Test helpers: the three-step publish over HTTP, and small PEFT-format adapter folders without torch."""

from __future__ import annotations

import hashlib
from typing import Any

from hub.demo import GPT2, DemoAdapter, _llama, adapter_files
from hub.registry.publish.metadata import PublishMetadata

TINY_LLAMA = _llama("tiny/llama-test", 2, 64, 32, 128)


def tiny_lora_files(rank: int = 4, targets: tuple[str, ...] = ("q_proj", "v_proj"), seed: int = 0) -> dict[str, bytes]:
    """A PEFT LoRA folder for a 2-layer Llama-shaped base (hidden 64), as bytes."""
    demo = DemoAdapter(
        name="t",
        base=TINY_LLAMA,
        method="lora",
        targets=list(targets),
        task_type="CAUSAL_LM",
        card=f"# tiny test adapter {seed}",
        meta=PublishMetadata(),
        rank=rank,
        seed=seed,
    )
    return adapter_files(demo)


def gpt2_ia3_files() -> dict[str, bytes]:
    demo = DemoAdapter(
        name="t",
        base=GPT2,
        method="ia3",
        targets=["c_attn", "c_proj"],
        feedforward=["c_proj"],
        task_type="SEQ_CLS",
        card="# gpt2 ia3",
        meta=PublishMetadata(),
    )
    return adapter_files(demo)


def declare(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in files.items()]


def start_upload(client, account, adapter: str, files: dict[str, bytes]):
    return client.post(f"/api/adapters/{adapter}/uploads", json={"files": declare(files)}, headers=account.headers)


def upload_missing(client, account, adapter: str, files: dict[str, bytes], started: dict[str, Any]) -> None:
    by_sha = {hashlib.sha256(d).hexdigest(): d for d in files.values()}
    for blob in started["missing"]:
        response = client.put(blob["url"], content=by_sha[blob["sha256"]], headers=account.headers)
        assert response.status_code == 200, response.text


def publish(client, account, adapter: str, files: dict[str, bytes], **meta: Any):
    """declare -> upload missing -> commit; returns the commit response."""
    started = start_upload(client, account, adapter, files)
    assert started.status_code == 201, started.text
    upload_missing(client, account, adapter, files, started.json())
    body = {"base_model": "tiny/llama-test", **meta}
    return client.post(started.json()["commit_url"], json=body, headers=account.headers)


def stored_state(app) -> dict[str, Any]:
    """Row counts and storage keys: compared before and after a bad request to prove nothing was left behind."""
    from sqlalchemy import func, select

    from hub.models import Adapter, Blob, Version, VersionFile

    with app.state.session_factory() as session:
        counts = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Adapter, Version, VersionFile, Blob)
        }
    return {**counts, "keys": sorted(app.state.storage.list(""))}


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["X-Error-Code"] == code
    body = response.json()["error"]
    assert body["code"] == code and len(body["message"]) > 10
    return body


def flush_downloads(client) -> None:
    """Write the download counts the app holds in memory (its flusher would, within HUB_DOWNLOAD_FLUSH_SECONDS),
    so a test reads exact counts at once instead of sleeping."""
    client.app.state.download_counter.flush()
