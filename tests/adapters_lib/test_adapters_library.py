"""The real AdapterHub `adapters` library on a tiny random BERT, in the second venv, against a live hub.

This (main) environment starts the hub (SQLite + local storage) and runs tests/adapters_lib/adapters_side.py
in .venv-adapters with HUB_URL/HUB_TOKEN; there, `adapters` saves each adapter, the SDK publishes it, pulls
it into a fresh model, and the outputs are compared with the saved folder loaded by `adapters` directly.
One subprocess runs every case: the venv's torch + transformers import takes seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.adapters_lib.conftest import run_side

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sdk_env")]

CASES = [
    {"method": "seq_bn", "repo": "alice/bert-seq-bn"},
    {"method": "double_seq_bn", "repo": "alice/bert-double-seq-bn"},
    {"method": "lora", "repo": "alice/bert-lora", "via_library_too": True},
    {"method": "prompt_tuning", "repo": "alice/bert-prompt"},
    {"method": "ia3", "repo": "alice/bert-ia3"},
    # Pickled weights: seq_bn saved the default way, and prefix tuning, which safetensors cannot save
    # (its prefix pool is shared between layers); the SDK converts both with torch.load(weights_only=True).
    {"method": "seq_bn", "repo": "alice/bert-seq-bn-pickled", "safetensors": False},
    {"method": "prefix_tuning", "repo": "alice/bert-prefix", "safetensors": False},
]
TOLERANCE = 1e-5


@pytest.fixture
def backend() -> str:
    return "sqlite-local"  # the adapters behaviour does not depend on the store; PostgreSQL runs elsewhere


def test_adapters_library_end_to_end(adapters_python: Path, hub_url: str, alice: Any, hub: Any, tmp_path: Path) -> None:
    """One run of the second venv (its imports take seconds), then every check on what it reports."""
    job = {"work": str(tmp_path), "cases": CASES, "refuse": {"repo": "alice/bert-seq-bn", "hidden": 128}}
    outcome = run_side(adapters_python, job, hub_url=hub_url, token=alice.token)
    assert outcome["transformers"].startswith("4.57.") and ".venv-adapters" not in outcome["sdk_file"]
    results = {case["repo"]: result for case, result in zip(CASES, outcome["cases"], strict=True)}
    check_outputs_and_facts(results)
    check_routes(results)
    check_conversions(results)
    check_refusal(outcome["refusal"])
    check_search(hub)


def check_outputs_and_facts(results: dict[str, dict[str, Any]]) -> None:
    """publish -> pull into a fresh model == the saved folder loaded by `adapters` (and the trained model)."""
    for repo, result in results.items():
        assert result["diff_reference"] <= TOLERANCE, (repo, result["diff_reference"])
        assert result["diff_trained"] <= TOLERANCE, (repo, result["diff_trained"])
        assert result["adapter_effect"] > 1e-3, repo  # the adapter changes the output: the test can fail
        facts = result["facts"]
        assert facts["library"] == "adapters" and facts["method"] == result["method"], repo
        assert facts["config_id"] == result["library_config_id"], repo  # AdapterHub's id, as the library computes it
        assert facts["model_type"] == "bert" and facts["hidden_size"] == 64 and facts["library_version"] == "1.3.0"
        assert result["base_model"] == "tiny/bert-test" and result["base_model_type"] == "bert", repo
    assert results["alice/bert-seq-bn"]["facts"]["config_id"] == "9076f36a74755ac4"  # the index's pfeiffer id
    assert results["alice/bert-double-seq-bn"]["facts"]["config_id"] == "b1017368d7a97b11"  # houlsby
    assert results["alice/bert-lora"]["facts"]["rank"] == 8 and results["alice/bert-lora"]["facts"]["alpha"] == 8
    assert results["alice/bert-lora"]["diff_via_library"] <= TOLERANCE


def check_routes(results: dict[str, dict[str, Any]]) -> None:
    """LoRA and (IA)^3 on BERT load natively; the other methods through the `adapters` library."""
    routes = {repo: result["route"] for repo, result in results.items()}
    assert routes.pop("alice/bert-lora") == "native" and routes.pop("alice/bert-ia3") == "native"
    assert set(routes.values()) == {"adapters"}


def check_conversions(results: dict[str, dict[str, Any]]) -> None:
    """safetensors folders go up as saved; pickles are converted (weights_only) with a warning, and recorded."""
    plain = results["alice/bert-seq-bn"]
    assert plain["saved_files"] == plain["published_files"] == ["adapter.safetensors", "adapter_config.json"]
    assert "converted_from" not in plain["facts"] and not any("pickle" in w for w in plain["warnings"])
    for repo in ("alice/bert-seq-bn-pickled", "alice/bert-prefix"):
        result = results[repo]
        assert result["saved_files"] == ["adapter_config.json", "pytorch_adapter.bin"], repo
        assert result["published_files"] == ["adapter.safetensors", "adapter_config.json"], repo
        assert result["facts"]["converted_from"] == ["pytorch_adapter.bin"], repo
        assert any("pytorch_adapter.bin is a pickle" in w and "weights_only=True" in w for w in result["warnings"])


def check_refusal(refusal: dict[str, Any]) -> None:
    """A bottleneck adapter for hidden size 64 is refused for a BERT of hidden size 128, naming the modules."""
    assert refusal["refused"] and refusal["kinds"] == ["shape_mismatch"], refusal
    for layer in (0, 1):
        assert f"encoder.layer.{layer}.output.dense: the adapter expects bottleneck in=? out=64" in refusal["message"]
    assert "the model has linear in=256 out=128 (out differ)" in refusal["message"]


def check_search(hub: Any) -> None:
    """Search and facets show library and method: library=adapters&method=seq_bn finds the seq_bn adapters."""
    found = hub.search(library="adapters", method="seq_bn", limit=None)
    assert sorted(row["id"] for row in found) == ["alice/bert-seq-bn", "alice/bert-seq-bn-pickled"]
    everything = hub.search(limit=None)
    rows = list(everything)
    assert {(row["library"], row["method"]) for row in rows} >= {("adapters", "prompt_tuning"), ("adapters", "lora")}
    assert {item["value"] for item in everything.facets["library"]} == {"adapters"}
    methods = {item["value"]: item["count"] for item in everything.facets["method"]}
    assert methods == {"seq_bn": 2, "double_seq_bn": 1, "lora": 1, "prompt_tuning": 1, "ia3": 1, "prefix_tuning": 1}
