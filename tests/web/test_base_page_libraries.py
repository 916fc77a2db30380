"""A base model's page lists the adapters of every library that fit it (issue 8, item 5)."""

from __future__ import annotations

from tests.adapters_lib.folders import adapters_files
from tests.helpers import publish, tiny_lora_files


def test_base_page_lists_peft_and_adapters_library_adapters(client, alice):
    base = "tiny/bert-test"
    assert publish(client, alice, "alice/peft-one", tiny_lora_files(seed=1), base_model=base).status_code == 201
    made = publish(client, alice, "alice/bottleneck", adapters_files("seq_bn"), base_model=base)
    assert made.status_code == 201, made.text
    assert made.json()["library"] == "adapters" and made.json()["method"] == "seq_bn"
    page = client.get(f"/bases/{base}")
    assert page.status_code == 200
    assert "bottleneck" in page.text and "peft-one" in page.text
    listed = client.get("/api/adapters", params={"base_model": base}).json()
    assert {a["library"] for a in listed["adapters"]} == {"peft", "adapters"}
