"""Issue 3's end-to-end matrix through a live hub: publish a real PEFT adapter with the SDK, find it by
search, pull it into a fresh base, and compare with PEFT (1e-5); unload restores the base exactly;
merge equals unmerged (1e-4). GPT-2 (Conv1D) and Llama (all projections, GQA), LoRA with and without
rsLoRA and rank/alpha patterns, and IA3."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")

from sdk import Hub  # noqa: E402  (after the skips: torch is optional)
from tests.sdk.torch.peft_helpers import FACTORIES, inputs, logits, peft_logits, save_adapter  # noqa: E402
from tests.sdk.torch.test_torch_parity import CASES  # noqa: E402

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = [pytest.mark.usefixtures("sdk_env"), pytest.mark.slow]
MATRIX = ["gpt2-lora", "gpt2-lora-rslora-patterns", "gpt2-ia3", "llama-lora", "llama-lora-rslora-patterns", "llama-ia3"]


@pytest.mark.parametrize("backend", ["sqlite-local"])  # the transport is covered on both backends elsewhere
@pytest.mark.parametrize("case", MATRIX)
def test_publish_search_pull_matches_peft(hub: Hub, tmp_path, case: str) -> None:
    family, config_class, fields = CASES[case]
    factory = FACTORIES[family]
    folder = save_adapter(factory, getattr(peft, config_class)(**fields), tmp_path / case)
    name = f"alice/{case}"
    hub.publish(folder, name, base_model=f"tiny/{family}", base=factory(), tags=["matrix"])
    method = "ia3" if config_class == "IA3Config" else "lora"
    assert name in [a["id"] for a in hub.search(case.split("-")[0], tag="matrix", method=method)]
    ids = inputs()
    base_logits, reference = logits(factory(), ids), peft_logits(factory, folder, ids)
    model = hub.pull(name, into=factory().eval())
    pulled = logits(model, ids)
    assert (pulled - reference).abs().max().item() <= 1e-5
    model.hub_adapters["default"].merge()
    assert (logits(model, ids) - pulled).abs().max().item() <= 1e-4
    fresh = hub.pull(name, into=factory().eval())
    fresh.hub_adapters["default"].unload()
    assert torch.equal(logits(fresh, ids), base_logits)
