"""hub.pull side by side + run-time weights, and hub.merge -> a published adapter with lineage, on a live hub."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")

from sdk import Hub  # noqa: E402
from sdk.torch.active import set_active  # noqa: E402
from sdk.torch.errors import MergeIncompatible  # noqa: E402
from tests.sdk.torch.peft_helpers import LLAMA_LINEAR, inputs, logits, save_adapter, tiny_llama  # noqa: E402
from tests.sdk.torch.peft_references import peft_merged, peft_weighted_run  # noqa: E402

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = [pytest.mark.usefixtures("sdk_env"), pytest.mark.slow]

BASE = "tiny/llama-test"
WEIGHTS = [0.6, -0.3]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    specs = [
        {"r": 4, "lora_alpha": 8, "target_modules": LLAMA_LINEAR},
        {"r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]},
    ]
    return [
        save_adapter(tiny_llama, peft.LoraConfig(**spec), root / f"source-{index}", seed=index + 11)
        for index, spec in enumerate(specs)
    ]


@pytest.fixture
def published(hub: Hub, folders) -> list[dict]:
    return [
        hub.publish(folder, name, base_model=BASE, base=tiny_llama())
        for folder, name in zip(folders, ["alice/code", "alice/french"], strict=True)
    ]


def test_two_pulls_into_one_model_weighted(hub: Hub, folders, published) -> None:
    model = tiny_llama().eval()
    hub.pull("alice/code", into=model, adapter_name="code")
    hub.pull("alice/french", into=model, adapter_name="french")
    assert set(model.hub_adapters) == {"code", "french"}
    set_active(model, ["code", "french"], weights=WEIGHTS)
    ids = inputs()
    assert (logits(model, ids) - peft_weighted_run("llama", folders, WEIGHTS, ids)).abs().max().item() <= 1e-5


def test_cat_merge_is_published_with_lineage_and_equals_both(hub: Hub, folders, published, traffic) -> None:
    merged = hub.merge(["alice/code", "alice/french@v1"], weights=WEIGHTS, method="cat", name="alice/code-fr")
    expected = [
        {"adapter": "alice/code", "revision": published[0]["revision"], "version": "v1", "weight": 0.6},
        {"adapter": "alice/french", "revision": published[1]["revision"], "version": "v1", "weight": -0.3},
    ]
    assert merged["lineage"] == expected and merged["rank"] == 6
    assert hub.version("alice/code-fr")["lineage"] == expected and hub.info("alice/code-fr")["lineage"] == expected
    card = (hub.download("alice/code-fr") / "README.md").read_text()
    assert "`alice/code` | v1" in card and published[1]["revision"] in card and "`cat` method" in card
    ids = inputs()
    pulled = hub.pull("alice/code-fr", into=tiny_llama().eval())
    both = tiny_llama().eval()
    hub.pull("alice/code", into=both, adapter_name="a")
    hub.pull("alice/french", into=both, adapter_name="b")
    set_active(both, ["a", "b"], weights=WEIGHTS)
    assert (logits(pulled, ids) - logits(both, ids)).abs().max().item() <= 1e-5
    assert (logits(pulled, ids) - peft_merged("llama", folders, WEIGHTS, "cat", ids)).abs().max().item() <= 1e-5


def test_svd_merge_matches_peft(hub: Hub, folders, published) -> None:
    hub.merge(["alice/code", "alice/french"], weights=WEIGHTS, method="svd", name="alice/svd", svd_rank=3)
    ids = inputs()
    ours = logits(hub.pull("alice/svd", into=tiny_llama().eval()), ids)
    reference = peft_merged("llama", folders, WEIGHTS, "svd", ids, svd_rank=3)
    assert (ours - reference).abs().max().item() <= 1e-4


def test_incompatible_merge_is_refused_before_any_download(hub: Hub, published, traffic) -> None:
    traffic.reset()
    with pytest.raises(MergeIncompatible) as caught:
        hub.merge(["alice/code", "alice/french"], method="linear", name="alice/linear")
    message = str(caught.value)
    assert "alice/french@v1" in message and "lacks model.layers.0.mlp.down_proj" in message
    assert "module 'model.layers.0.self_attn.q_proj': rank 4 in alice/code@v1" in message
    assert traffic.file_requests() == [] and not any("/uploads" in path for _, path in traffic.requests)
    with pytest.raises(ValueError, match="2 adapters but 1 weights"):
        hub.merge(["alice/code", "alice/french"], weights=[1.0], method="cat", name="alice/x")
