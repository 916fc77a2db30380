"""search, info, version and download against a live hub; the downloaded folder loads with PEFT."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import sdk
from sdk import Hub
from tests.helpers import gpt2_ia3_files, publish, tiny_lora_files
from tests.sdk.test_support import Traffic, sha256, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


def _publish_tiny(hub: Hub, tmp_path: Path, name: str, seed: int = 0, **meta: object) -> dict:
    folder = write_folder(tmp_path / f"{name}-{seed}", tiny_lora_files(seed=seed))
    return hub.publish(folder, name, base_model="tiny/llama-test", **meta)


def test_search_filters_and_reports_totals(hub: Hub, tmp_path: Path) -> None:
    _publish_tiny(hub, tmp_path, "alice/sql-lora", task="text-generation", tags=["sql"])
    hub.publish(write_folder(tmp_path / "ia3", gpt2_ia3_files()), "alice/gpt2-ia3", base_model="gpt2")
    results = hub.search(method="ia3")
    assert results.total == 1 and [row["id"] for row in results] == ["alice/gpt2-ia3"]
    assert [row["id"] for row in hub.search("sql")] == ["alice/sql-lora"]
    assert [row["id"] for row in hub.search(architecture="llama", tag="sql")] == []  # no model type was sent
    assert {item["value"] for item in hub.search().facets["method"]} == {"lora", "ia3"}


def test_search_sorts_by_a_stated_metric_within_a_task(hub: Hub, tmp_path: Path) -> None:
    for name, seed, accuracy in (("alice/low", 1, 0.6), ("alice/high", 2, 0.9)):
        files = {
            **tiny_lora_files(seed=seed),
            ".eval_results/glue.yaml": f"- {{dataset: {{id: glue}}, metric: accuracy, value: {accuracy}}}\n".encode(),
        }
        hub.publish(write_folder(tmp_path / name, files), name, base_model="tiny/llama-test", task="text-generation")
    ranked = hub.search(task="text-generation", sort="metric:accuracy")
    assert [row["id"] for row in ranked] == ["alice/high", "alice/low"]
    with pytest.raises(sdk.errors.InvalidRequest, match="task filter"):
        list(hub.search(sort="metric:accuracy"))  # the hub says why
    with pytest.raises(sdk.errors.InvalidRequest, match="metric:NAME"):
        hub.search(sort="metric:Not An Id")  # refused before any request


def test_search_follows_the_cursor_lazily(hub: Hub, client, alice, traffic: Traffic) -> None:
    for number in range(23):
        assert publish(client, alice, f"alice/many-{number:02d}", tiny_lora_files()).status_code == 201
    traffic.reset()
    first_five = list(itertools.islice(hub.search(sort="name", limit=None), 5))
    assert [row["name"] for row in first_five] == [f"many-{n:02d}" for n in range(5)]
    assert len(traffic.requests) == 1  # one page of 20 was enough
    traffic.reset()
    everything = list(hub.search(sort="name", limit=None))
    assert [row["name"] for row in everything] == [f"many-{n:02d}" for n in range(23)]
    assert len(traffic.requests) == 2  # the second page was fetched only when iteration reached it
    assert len(list(hub.search(limit=3))) == 3


def test_info_and_version(hub: Hub, tmp_path: Path) -> None:
    first = _publish_tiny(hub, tmp_path, "alice/versions", seed=1)
    second = _publish_tiny(hub, tmp_path, "alice/versions", seed=2)
    info = hub.info("alice/versions")
    assert [v["version"] for v in info["versions"]] == ["v2", "v1"] and info["refs"] == {"main": "v2"}
    assert hub.version("alice/versions")["revision"] == second["revision"]
    assert hub.version("alice/versions@v1")["revision"] == first["revision"]
    assert hub.version("alice/versions", revision=first["revision"][:10])["version"] == "v1"


def test_a_tag_names_a_version_until_it_moves(hub: Hub, client, alice, tmp_path: Path) -> None:
    first = _publish_tiny(hub, tmp_path, "alice/tagged", seed=1)
    second = _publish_tiny(hub, tmp_path, "alice/tagged", seed=2)
    tag = client.put("/api/adapters/alice/tagged/refs/stable", json={"revision": "v1"}, headers=alice.headers)
    assert tag.status_code == 200, tag.text
    assert hub.download("alice/tagged@stable").name == first["revision"]
    client.put("/api/adapters/alice/tagged/refs/stable", json={"revision": "v2"}, headers=alice.headers)
    assert hub.download("alice/tagged@stable").name == second["revision"]  # tags are looked up each time


def test_download_gives_the_published_bytes_in_peft_layout(hub: Hub, tmp_path: Path) -> None:
    files = tiny_lora_files(seed=3)
    hub.publish(write_folder(tmp_path / "src", files), "alice/dl", base_model="tiny/llama-test")
    folder = hub.download("alice/dl")
    assert folder == hub.cache.hub_root / "snapshots" / "alice--dl" / hub.version("alice/dl")["revision"]
    assert {p.name: sha256(p.read_bytes()) for p in folder.iterdir()} == {n: sha256(d) for n, d in files.items()}
    assert hub.download("alice/dl@v1") == folder == hub.download("alice/dl", revision="v1")


def test_module_functions_use_a_default_hub_from_the_environment(
    hub_url: str,
    alice,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_URL", hub_url)
    monkeypatch.setenv("HUB_TOKEN", alice.token)
    monkeypatch.setattr(sdk, "_default", None)
    version = sdk.publish(write_folder(tmp_path / "a", tiny_lora_files()), "alice/module-level", base_model="x/y")
    assert sdk.info("alice/module-level")["latest_version"] == version["version"]
    assert sdk.download("alice/module-level").is_relative_to(tmp_path / "env-cache")
    assert sdk.default_hub().url == hub_url


@pytest.mark.slow
def test_a_downloaded_folder_loads_with_peft(hub: Hub) -> None:
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model

    from tests.sdk.formats.models import tiny_llama

    trained = get_peft_model(
        tiny_llama(), LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    hub.publish(trained, "alice/llama-lora", base_model="tiny/llama-test")
    loaded = PeftModel.from_pretrained(tiny_llama(), hub.download("alice/llama-lora"))
    tokens = torch.tensor([[1, 5, 9, 2]])
    with torch.no_grad():
        assert torch.allclose(loaded(tokens).logits, trained(tokens).logits, atol=1e-6)
