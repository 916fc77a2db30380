"""Several adapters in one model, weighted at run time, and merges, against the real peft.

References: a PeftModel running both adapters (scales set with LoraLayer.set_scale) for run-time weights,
and ``add_weighted_adapter(..., combination_type=...)`` for merges. Tiny Llama (nn.Linear) and GPT-2
(Conv1D, fan_in_fan_out) LoRAs with random non-zero weights, and a model with an embedding and convolutions.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")

from sdk.torch import load_adapter_folder  # noqa: E402
from sdk.torch.active import active_adapters, set_active, set_weight  # noqa: E402
from sdk.torch.errors import MergeIncompatible  # noqa: E402
from sdk.torch.merge import load_source, merge_lora, write_adapter  # noqa: E402
from tests.sdk.torch.peft_helpers import FACTORIES, LLAMA_LINEAR, inputs, logits, save_adapter  # noqa: E402
from tests.sdk.torch.peft_references import peft_merged, peft_weighted_run  # noqa: E402

WEIGHTS = [0.7, -0.4]
# Two LoRAs per model: the second with another rank (and alpha) so cat and svd see different ranks.
SPECS = {
    "llama": [
        {"r": 4, "lora_alpha": 8, "target_modules": LLAMA_LINEAR},
        {"r": 6, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj", "down_proj"]},
    ],
    "gpt2": [
        {"r": 4, "lora_alpha": 8, "target_modules": ["c_attn", "c_proj"], "fan_in_fan_out": True},
        {"r": 2, "lora_alpha": 16, "target_modules": ["c_attn", "c_fc"], "fan_in_fan_out": True},
    ],
    "vision": [
        {"r": 4, "lora_alpha": 8, "target_modules": ["emb", "conv", "pointwise"]},
        {"r": 2, "lora_alpha": 2, "target_modules": ["emb", "conv", "head"]},
    ],
}
SAME_RANK = {
    "llama": [
        {"r": 4, "lora_alpha": 8, "target_modules": LLAMA_LINEAR},
        {"r": 4, "lora_alpha": 16, "target_modules": LLAMA_LINEAR},
    ],
    "gpt2": [
        {"r": 4, "lora_alpha": 8, "target_modules": ["c_attn", "c_proj", "c_fc"], "fan_in_fan_out": True},
        {"r": 4, "lora_alpha": 2, "target_modules": ["c_attn", "c_proj", "c_fc"], "fan_in_fan_out": True},
    ],
}


def make_pair(kind: str, specs: dict, folder) -> list:
    return [
        save_adapter(FACTORIES[kind], peft.LoraConfig(**spec), folder / f"{kind}-{index}", seed=index + 3)
        for index, spec in enumerate(specs[kind])
    ]


@pytest.fixture(scope="module")
def adapters(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compose")
    return {kind: make_pair(kind, SPECS, folder) for kind in SPECS}


@pytest.fixture(scope="module")
def same_rank(tmp_path_factory):
    folder = tmp_path_factory.mktemp("same-rank")
    return {kind: make_pair(kind, SAME_RANK, folder) for kind in SAME_RANK}


def ids_for(kind: str):
    return inputs(vocab=50 if kind == "vision" else 100, length=16 if kind == "vision" else 9)


def max_diff(left, right) -> float:
    return (left - right).abs().max().item()


def ours_merged(kind: str, folders, weights, method: str, out, **options):
    merged = merge_lora([load_source(folder) for folder in folders], weights, method, **options)
    folder = write_adapter(merged, out)
    model = FACTORIES[kind]().eval()
    load_adapter_folder(model, folder)
    return model, folder


def two_pulled(kind: str, folders):
    model = FACTORIES[kind]().eval()
    load_adapter_folder(model, folders[0], adapter_name="a")
    load_adapter_folder(model, folders[1], adapter_name="b")
    return model


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_weighted_run_time_composition_matches_peft(kind, adapters):
    ids = ids_for(kind)
    model = two_pulled(kind, adapters[kind])
    set_active(model, ["a", "b"], weights=WEIGHTS)
    assert active_adapters(model) == {"a": 0.7, "b": -0.4}
    assert max_diff(logits(model, ids), peft_weighted_run(kind, adapters[kind], WEIGHTS, ids)) <= 1e-5


def test_select_disable_enable_per_adapter(adapters):
    ids, folders = ids_for("llama"), adapters["llama"]
    model = two_pulled("llama", folders)
    base = logits(FACTORIES["llama"]().eval(), ids)
    alone = {}
    for name, folder in zip("ab", folders, strict=True):
        single = FACTORIES["llama"]().eval()
        load_adapter_folder(single, folder)
        alone[name] = logits(single, ids)
    set_active(model, ["b"])
    assert max_diff(logits(model, ids), alone["b"]) <= 1e-6
    assert model.hub_adapters["a"].state == "disabled"
    model.hub_adapters["a"].enable()
    model.hub_adapters["b"].disable()
    assert max_diff(logits(model, ids), alone["a"]) <= 1e-6
    set_active(model, [])
    assert max_diff(logits(model, ids), base) <= 1e-6 and active_adapters(model) == {}
    set_active(model, ["a", "b"], weights=[0.5, 1.0])
    set_weight(model, "a", 1.0)
    assert active_adapters(model) == {"a": 1.0, "b": 1.0}
    assert max_diff(logits(model, ids), peft_weighted_run("llama", folders, [1.0, 1.0], ids)) <= 1e-5


def test_bad_selection_changes_nothing(adapters, tmp_path):
    model = two_pulled("llama", adapters["llama"])
    ia3 = save_adapter(FACTORIES["llama"], peft.IA3Config(target_modules=["k_proj"], feedforward_modules=[]), tmp_path)
    load_adapter_folder(model, ia3, adapter_name="scaler")
    before = active_adapters(model)
    with pytest.raises(KeyError, match="'nope'"):
        set_active(model, ["a", "nope"])
    with pytest.raises(ValueError, match="2 adapters but 1 weights"):
        set_active(model, ["a", "b"], weights=[0.5])
    with pytest.raises(ValueError, match=r"'scaler'.*cannot be weighted"):
        set_active(model, ["a", "scaler"], weights=[0.5, 0.5])
    assert active_adapters(model) == before
    set_active(model, ["scaler", "a"], weights=[1.0, 0.5])  # IA3 at weight 1 is fine
    assert list(active_adapters(model)) == ["scaler", "a"]


@pytest.mark.parametrize("kind", ["llama", "gpt2", "vision"])
def test_cat_equals_running_both_and_peft(kind, adapters, tmp_path):
    ids, folders = ids_for(kind), adapters[kind]
    model, folder = ours_merged(kind, folders, WEIGHTS, "cat", tmp_path / "cat")
    ours = logits(model, ids)
    both = two_pulled(kind, folders)
    set_active(both, ["a", "b"], weights=WEIGHTS)
    assert max_diff(ours, logits(both, ids)) <= 1e-5
    assert max_diff(ours, peft_merged(kind, folders, WEIGHTS, "cat", ids)) <= 1e-5
    reloaded = peft.PeftModel.from_pretrained(FACTORIES[kind]().eval(), str(folder))
    assert max_diff(ours, logits(reloaded, ids)) <= 1e-5  # the merged folder is a valid PEFT adapter


@pytest.mark.parametrize("kind", ["llama", "gpt2", "vision"])
def test_svd_matches_peft_with_different_ranks(kind, adapters, tmp_path):
    ids, folders = ids_for(kind), adapters[kind]
    ours = logits(ours_merged(kind, folders, WEIGHTS, "svd", tmp_path / "svd")[0], ids)
    assert max_diff(ours, peft_merged(kind, folders, WEIGHTS, "svd", ids)) <= 1e-4
    low = logits(ours_merged(kind, folders, WEIGHTS, "svd", tmp_path / "low", svd_rank=2, svd_clamp=0.99)[0], ids)
    assert max_diff(low, peft_merged(kind, folders, WEIGHTS, "svd", ids, svd_rank=2, svd_clamp=0.99)) <= 1e-4


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_linear_matches_peft(kind, same_rank, tmp_path):
    ids, folders = ids_for(kind), same_rank[kind]
    model, _ = ours_merged(kind, folders, WEIGHTS, "linear", tmp_path / "linear")
    assert max_diff(logits(model, ids), peft_merged(kind, folders, WEIGHTS, "linear", ids)) <= 1e-4


def test_linear_refuses_other_ranks_and_targets_naming_modules(adapters):
    with pytest.raises(MergeIncompatible) as caught:
        merge_lora([load_source(folder) for folder in adapters["llama"]], WEIGHTS, "linear")
    message = str(caught.value)
    assert "linear needs the same target modules" in message and "lacks model.layers.0.mlp.gate_proj" in message
    assert "module 'model.layers.0.self_attn.q_proj': rank 4 in" in message and "use cat or svd" in message
    assert str(adapters["llama"][1]) in message


def test_other_base_and_methods_are_refused(adapters, tmp_path):
    llama = load_source(adapters["llama"][0], base_model="tiny/llama")
    wider = save_adapter(
        lambda: FACTORIES["llama"](hidden_size=96), peft.LoraConfig(r=4, target_modules=LLAMA_LINEAR), tmp_path / "w"
    )
    with pytest.raises(MergeIncompatible) as caught:
        merge_lora([llama, load_source(wider, label="acme/wide", base_model="tiny/llama")], [1, 1], "cat")
    assert "module 'model.layers.0.self_attn.q_proj': " in str(caught.value) and "acme/wide" in str(caught.value)
    other = load_source(adapters["llama"][1], label="acme/other", base_model="other/base")
    with pytest.raises(MergeIncompatible, match=r"different base models .*acme/other: other/base"):
        merge_lora([llama, other], [1, 1], "svd")
    ia3 = save_adapter(FACTORIES["llama"], peft.IA3Config(target_modules=["k_proj"], feedforward_modules=[]), tmp_path)
    with pytest.raises(MergeIncompatible, match="method ia3; only LoRA"):
        merge_lora([llama, load_source(ia3)], [1, 1], "cat")
    with pytest.raises(ValueError, match="'bogus' is not one of cat, linear, ties"):
        merge_lora([llama, llama], [1, 1], "bogus")
    with pytest.raises(ValueError, match=r"svd_rank applies to methods svd, ties_svd, .* not 'cat'"):
        merge_lora([llama, llama], [1, 1], "cat", svd_rank=2)


def test_rslora_sources_merge_exactly_where_peft_does_not(tmp_path):
    """PEFT keeps use_rslora in the merged config, so its merged scaling is sqrt(R), not 1 (peft#3761)."""
    specs = {"llama": [{"r": 4, "lora_alpha": 8, "use_rslora": True, "target_modules": ["q_proj", "v_proj"]}] * 2}
    folders, ids = make_pair("llama", specs, tmp_path), ids_for("llama")
    model, _ = ours_merged("llama", folders, WEIGHTS, "cat", tmp_path / "cat")
    both = two_pulled("llama", folders)
    set_active(both, ["a", "b"], weights=WEIGHTS)
    assert max_diff(logits(model, ids), logits(both, ids)) <= 1e-5
    assert max_diff(logits(model, ids), peft_merged("llama", folders, WEIGHTS, "cat", ids)) > 1e-3
