"""`hub demo` publishes realistic adapters through the publish path, on both backends, and is idempotent."""

from __future__ import annotations

from hub.demo import demo_adapters, load_demo
from tests.helpers import stored_state


def test_demo_publishes_then_changes_nothing(app, client):
    state = app.state
    published = load_demo(state.session_factory, state.storage, state.limits)
    assert len(published) == len(demo_adapters()) >= 5
    before = stored_state(app)
    assert load_demo(state.session_factory, state.storage, state.limits) == []
    assert stored_state(app) == before
    body = client.get("/api/adapters", params={"limit": 100}).json()
    assert body["total"] == len(published)
    methods = {f["value"] for f in body["facets"]["method"]}
    architectures = {f["value"] for f in body["facets"]["architecture"]}
    assert methods == {"lora", "ia3"} and architectures == {"gpt2", "llama"}
    info = client.get("/api/adapters/demo/tinyllama-sql-lora").json()
    assert info["refs"] == {"main": "v1", "stable": "v1"} and info["description"].startswith("---")
    version = client.get("/api/adapters/demo/tinyllama-sql-lora/versions/main").json()
    assert version["facts"]["modules"]["model.layers.21.self_attn.v_proj"]["rank"] == 4  # rank_pattern
    assert version["base_model"] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"


def test_demo_weights_load_in_the_real_safetensors_library(tmp_path):
    from safetensors.numpy import load

    from hub.demo import adapter_files

    for adapter in demo_adapters():
        tensors = load(adapter_files(adapter)["adapter_model.safetensors"])
        assert tensors and all(array.dtype.name == "float32" for array in tensors.values())
