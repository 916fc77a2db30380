"""`hub merge` end to end against a live hub: publish sources, merge with TIES, reload; refusals on one line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")

from sdk import Hub  # noqa: E402
from tests.sdk.test_merge_methods import WEIGHTS, peft_add_weighted  # noqa: E402
from tests.sdk.torch.peft_helpers import inputs, logits, save_adapter, tiny_llama  # noqa: E402

if TYPE_CHECKING:  # imported by pytest_plugins; importing it here first would skip its assertion rewriting
    from tests.sdk.cli_support import Cli

pytest_plugins = ["tests.sdk.test_support", "tests.sdk.cli_support"]
pytestmark = [pytest.mark.usefixtures("sdk_env"), pytest.mark.slow]

BASE = "tiny/llama-test"
TARGETS = ["q_proj", "v_proj"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    configs = {
        "a": peft.LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS),
        "b": peft.LoraConfig(r=4, lora_alpha=4, target_modules=TARGETS),
        "r2": peft.LoraConfig(r=2, lora_alpha=4, target_modules=TARGETS),
        "ia3": peft.IA3Config(target_modules=TARGETS, feedforward_modules=[]),
    }
    return {
        name: save_adapter(tiny_llama, config, root / name, seed=i + 3)
        for i, (name, config) in enumerate(configs.items())
    }


@pytest.fixture
def published(hub: Hub, folders: dict[str, Path]) -> dict[str, dict]:
    done = {
        name: hub.publish(folder, f"alice/{name}", base_model=BASE, base=tiny_llama())
        for name, folder in folders.items()
    }
    done["other"] = hub.publish(folders["b"], "alice/other-base", base_model="tiny/other-model")
    return done


def test_merge_ties_publishes_a_private_adapter_that_reloads(cli: Cli, alice, hub: Hub, folders, published) -> None:
    ran = cli("merge", "alice/a", "alice/b@v1", "--weights", *map(str, WEIGHTS), "--method", "ties", "--density",
              "0.5", "--majority-sign", "total", "--name", "alice/merged", "--private", token=alice.token)  # fmt: skip
    assert ran.code == 0, ran.err
    assert ran.out.startswith("Published alice/merged v1 (revision ")
    assert "merged with ties from alice/a@v1 x0.7, alice/b@v1 x0.4" in ran.out
    version = hub.version("alice/merged")
    assert [(e["adapter"], e["revision"], e["weight"]) for e in version["lineage"]] == [
        ("alice/a", published["a"]["revision"], 0.7),
        ("alice/b", published["b"]["revision"], 0.4),
    ]
    assert hub.info("alice/merged")["private"] is True
    card = (hub.download("alice/merged") / "README.md").read_text()
    assert "merge_method: ties" in card and '"density": 0.5' in card and "| majority_sign_method | `total` |" in card
    ids = inputs()
    reference = peft_add_weighted("llama", [folders["a"], folders["b"]], "ties", ids, density=0.5)
    pulled = logits(hub.pull("alice/merged", into=tiny_llama().eval()), ids)
    in_peft = logits(peft.PeftModel.from_pretrained(tiny_llama().eval(), str(hub.download("alice/merged"))), ids)
    print(f"hub merge ties: pull vs PEFT {(pulled - reference).abs().max().item():.2e}, "
          f"PeftModel.from_pretrained vs PEFT {(in_peft - reference).abs().max().item():.2e}")  # fmt: skip
    assert (pulled - reference).abs().max().item() <= 1e-4
    assert (in_peft - reference).abs().max().item() <= 1e-4


@pytest.mark.parametrize(
    ("sources", "method", "expected"),
    [
        (["alice/a", "alice/other-base"], ["cat"], ["different base models (alice/a@v1 (revision",
                                                    ": tiny/llama-test; alice/other-base@v1", ": tiny/other-model)"]),
        (["alice/a", "alice/ia3"], ["svd"], ["alice/ia3@v1 (revision", "method ia3; only LoRA adapters can be merged"]),
        (["alice/a", "alice/r2"], ["ties", "--density", "0.5"],
         ["module 'model.layers.0.self_attn.q_proj': rank 4 in alice/a@v1", "but 2 in alice/r2@v1",
          "ties needs equal ranks (use cat or ties_svd)"]),
    ],
    ids=["different-bases", "ia3-with-lora", "ties-needs-equal-ranks"],
)  # fmt: skip
def test_refusals_name_adapters_and_modules_on_one_line_before_any_download(
    cli: Cli, alice, published, traffic, sources: list[str], method: list[str], expected: list[str]
) -> None:
    traffic.reset()
    ran = cli("merge", *sources, "--method", *method, "--name", "alice/refused", token=alice.token)
    assert ran.code == 1 and ran.out == ""
    (line,) = ran.err.splitlines()
    assert line.startswith(f"error: cannot merge with method {method[0]!r}: ")
    assert all(part in line for part in expected), line
    assert traffic.file_requests() == [] and not any("/uploads" in path for _, path in traffic.requests)


def test_bad_options_print_one_line(cli: Cli, alice, published) -> None:
    ran = cli("merge", "alice/a", "alice/b", "--method", "ties", "--name", "alice/x", token=alice.token)
    assert ran.code == 1 and ran.err.splitlines() == [
        "error: method 'ties' needs density (the fraction of entries kept, 0 < density <= 1)"
    ]
    ran = cli(
        "merge", "alice/a", "alice/b", "--method", "svd", "--density", "0.5", "--name", "alice/x", token=alice.token
    )
    assert ran.code == 1 and ran.err.startswith("error: density applies to methods ties, ")
