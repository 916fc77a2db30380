"""Every PEFT combination type in merge_lora against PEFT's own add_weighted_adapter, on GPT-2 (Conv1D) and Llama.

Sources are real peft LoRAs (get_peft_model + random weights + save_pretrained). Ours is written to a folder
and reloaded by PEFT (PeftModel.from_pretrained) and natively (pull_folder); the reference is PEFT merging
the same folders in memory. DARE draws random masks from torch's global generator: the reference reseeds it
once add_weighted_adapter has injected the new adapter (whose initialisation draws numbers too), so both
draw the same masks, module by module in the same order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")

from sdk.torch.errors import MergeIncompatible  # noqa: E402
from sdk.torch.loaders import pull_folder  # noqa: E402
from sdk.torch.merge import load_source, merge_lora, write_adapter  # noqa: E402
from sdk.torch.merge_check import DELTA_METHODS, METHODS, PRUNING_METHODS, SEPARATE_METHODS  # noqa: E402
from tests.sdk.torch.peft_helpers import FACTORIES, inputs, logits, save_adapter  # noqa: E402
from tests.sdk.torch.peft_references import peft_model  # noqa: E402

pytestmark = pytest.mark.slow

WEIGHTS = [0.7, 0.4]
SEED = 1234
TARGETS = {"gpt2": {"target_modules": ["c_attn", "c_proj", "c_fc"], "fan_in_fan_out": True},
           "llama": {"target_modules": ["q_proj", "v_proj"]}}  # fmt: skip
RANKS = {"equal": [(4, 8), (4, 4)], "different": [(4, 8), (2, 4)]}  # (r, lora_alpha) per source
CASES = [
    pytest.param(kind, ranks, method, id=f"{kind}-{ranks}-{method}")
    for kind in TARGETS
    for ranks in RANKS
    for method in METHODS
    if not (ranks == "different" and method in SEPARATE_METHODS)
]


def options_for(method: str) -> dict[str, object]:
    chosen: dict[str, object] = {}
    if method in PRUNING_METHODS:
        chosen["density"] = 0.5
    if method.startswith("dare"):
        chosen["seed"] = SEED
    if "ties" in method:
        chosen["majority_sign_method"] = "frequency" if method.endswith("_svd") else "total"
    return chosen


def folders_for(root: Path, kind: str, ranks: list[tuple[int, int]], **extra: object) -> list[Path]:
    return [
        save_adapter(
            FACTORIES[kind],
            peft.LoraConfig(r=r, lora_alpha=alpha, **TARGETS[kind], **extra),
            root / f"{kind}-{index}",
            seed=index + 3,
        )
        for index, (r, alpha) in enumerate(ranks)
    ]


def peft_add_weighted(kind: str, folders: list[Path], method: str, ids: torch.Tensor, **options: object):
    """PEFT's merge of the same folders, in memory; DARE's generator seeded where its draws begin."""
    model = peft_model(kind, folders)
    options = dict(options)
    seed = options.pop("seed", None)
    if seed is not None:
        lora = model.base_model
        inject = lora.inject_adapter

        def inject_then_seed(*args, **kwargs):
            inject(*args, **kwargs)
            torch.manual_seed(seed)

        lora.inject_adapter = inject_then_seed
    model.add_weighted_adapter(["a", "b"], WEIGHTS, "merged", combination_type=method, **options)
    model.set_adapter("merged")
    return logits(model, ids)


def merged_folder(folders: list[Path], method: str, out: Path, **options: object) -> Path:
    merged = merge_lora([load_source(folder) for folder in folders], WEIGHTS, method, **options)
    return write_adapter(merged, out)


@pytest.mark.parametrize(("kind", "ranks", "method"), CASES)
def test_merge_equals_peft_add_weighted_adapter(tmp_path: Path, kind: str, ranks: str, method: str) -> None:
    folders = folders_for(tmp_path, kind, RANKS[ranks])
    options = options_for(method)
    folder = merged_folder(folders, method, tmp_path / "merged", **options)
    ids = inputs()
    reference = peft_add_weighted(kind, folders, method, ids, **options)
    reloaded = logits(peft.PeftModel.from_pretrained(FACTORIES[kind]().eval(), str(folder)), ids)
    native = FACTORIES[kind]().eval()
    pull_folder(native, folder)
    difference = (reloaded - reference).abs().max().item()
    print(f"{kind} {ranks} {method}: max |logit difference| = {difference:.2e}")
    assert difference <= 1e-4
    assert (logits(native, ids) - reloaded).abs().max().item() <= 1e-5
    assert (reference - logits(FACTORIES[kind]().eval(), ids)).abs().max().item() > 1e-3  # the merge does something


@pytest.mark.parametrize("method", ["cat", "linear", "ties", "dare_linear", "svd", "magnitude_prune_svd"])
def test_merge_of_rank_pattern_sources_reloads_in_peft(tmp_path: Path, method: str) -> None:
    """peft#3737: PEFT saves such a merge with r = the largest rank and no rank_pattern, over smaller tensors."""
    folders = folders_for(tmp_path, "llama", RANKS["equal"], rank_pattern={"v_proj": 2}, alpha_pattern={"v_proj": 6})
    options = options_for(method)
    folder = merged_folder(folders, method, tmp_path / "merged", **options)
    ids = inputs()
    before_saving = peft_add_weighted("llama", folders, method, ids, **options)
    reloaded = logits(peft.PeftModel.from_pretrained(FACTORIES["llama"]().eval(), str(folder)), ids)
    difference = (reloaded - before_saving).abs().max().item()
    print(f"rank_pattern {method}: max |logit difference| = {difference:.2e}")
    assert difference <= 1e-4


@pytest.mark.parametrize("method", ["dare_linear", "dare_ties"])
def test_dare_keeps_density_and_rescales(tmp_path: Path, method: str) -> None:
    """The invariants, independent of PEFT's draws: with one source and weight 1, every entry of A and B is
    either dropped or kept and scaled by 1/density (times sqrt of the scaling), about density of them kept."""
    (folder,) = folders_for(tmp_path, "llama", [(4, 4)])
    source = load_source(folder)
    merged = merge_lora([source], [1.0], method, density=0.25, seed=5)
    kept_count = total = 0
    for key, original in source.tensors.items():
        got = merged.tensors[key]
        kept = got != 0
        assert torch.allclose(got[kept], original[kept] / 0.25, rtol=1e-5)
        kept_count, total = kept_count + int(kept.sum()), total + kept.numel()
    assert abs(kept_count / total - 0.25) < 0.04  # ~2000 entries: 4 standard deviations
    again = merge_lora([source], [1.0], method, density=0.25, seed=5)
    assert all(torch.equal(again.tensors[key], merged.tensors[key]) for key in merged.tensors)
    assert merged.parameters == {"method": method, **options_for(method), "density": 0.25, "seed": 5}


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("ties", {}, "method 'ties' needs density"),
        ("ties", {"density": 0}, "0 < density <= 1"),
        ("ties", {"density": 0.5, "majority_sign_method": "mean"}, "total or frequency"),
        ("svd", {"density": 0.5}, "density applies to methods"),
        ("dare_linear", {"density": 0.5, "majority_sign_method": "total"}, "majority_sign_method applies to"),
        ("ties", {"density": 0.5, "svd_rank": 2}, "svd_rank applies to"),
        ("bogus", {}, "is not one of"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, method: str, options: dict, message: str) -> None:
    sources = [load_source(folder) for folder in folders_for(tmp_path, "llama", RANKS["equal"])]
    with pytest.raises(ValueError, match=message):
        merge_lora(sources, WEIGHTS, method, **options)


@pytest.mark.parametrize("method", [m for m in SEPARATE_METHODS if m != "linear"])
def test_methods_needing_equal_ranks_name_adapters_and_modules(tmp_path: Path, method: str) -> None:
    folders = folders_for(tmp_path, "gpt2", RANKS["different"])
    with pytest.raises(MergeIncompatible) as caught:
        merge_lora([load_source(folder) for folder in folders], WEIGHTS, method, **options_for(method))
    message = str(caught.value)
    assert f"module 'transformer.h.0.attn.c_attn': rank 4 in {folders[0]} but 2 in {folders[1]}" in message
    assert f"{method} needs equal ranks (use cat or {method}_svd)" in message


def test_every_peft_combination_type_is_offered() -> None:
    assert set(METHODS) == {"cat", *SEPARATE_METHODS, *DELTA_METHODS} == {
        "svd", "linear", "cat", "ties", "ties_svd", "dare_ties", "dare_linear", "dare_ties_svd", "dare_linear_svd",
        "magnitude_prune", "magnitude_prune_svd",
    }  # fmt: skip
