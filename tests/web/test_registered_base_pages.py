"""Pages of registered bases (issue 14, items 1 and 3): the base page shows the registered structure and sizes,
an adapter's page its share of a registered base, or says the base is not registered."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from sdk.bases import describe_base, side_files
from tests.base_models import TINY_LLAMA_PARAMETERS, saved_folders, tiny_llama
from tests.helpers import gpt2_ia3_files, publish, tiny_lora_files

BASE_ID = "alice/tiny-llama"


@pytest.fixture(scope="module")
def registration(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    single, _ = saved_folders(tiny_llama(), tmp_path_factory.mktemp("bases"))
    return describe_base(single) | {"id": BASE_ID, "revision": "main", "files": side_files(Path(single))}


def test_base_page_shows_the_registered_structure(client, alice, registration):
    assert client.post("/api/bases", json=registration, headers=alice.headers).status_code == 201
    page = client.get(f"/bases/{BASE_ID}")  # no adapter is published for it yet: the registration suffices
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    modules = len(registration["structure"]["modules"])
    rows = {"Layers": "2", "Hidden size": "64", "Vocabulary": "128", "Modules": f"{modules:,}",
            "Total parameters": f"{TINY_LLAMA_PARAMETERS:,} (90.4 k)", "Weights": "361.7 KB, float32"}  # fmt: skip
    for label, value in rows.items():
        assert f'<th scope="row">{label}</th><td>{value}</td>' in text, label
    assert "Registered from its config.json and safetensors headers" in text
    assert "Learnt from the module shapes" not in text


def test_adapter_page_shows_its_share_of_the_base(client, alice, registration):
    client.post("/api/bases", json=registration, headers=alice.headers)
    publish(client, alice, "alice/fits", tiny_lora_files(), base_model=BASE_ID)
    publish(client, alice, "alice/elsewhere", tiny_lora_files(seed=1))
    share_text = client.get("/api/adapters/alice/fits").json()["base"]["text"]
    assert re.fullmatch(r"[0-9.]+% of 90\.4 k parameters; [0-9.]+ KB vs 361\.7 KB", share_text), share_text
    assert f'<th scope="row">Share of the base</th><td>{share_text}</td>' in html.unescape(
        client.get("/alice/fits").text
    )
    elsewhere = html.unescape(client.get("/alice/elsewhere").text)
    assert '<th scope="row">Share of the base</th><td>base not registered</td>' in elsewhere


def test_the_compat_panel_checks_against_the_registered_structure(client, alice, registration):
    client.post("/api/bases", json=registration, headers=alice.headers)
    publish(client, alice, "alice/elsewhere", tiny_lora_files())  # published for another base of the same shapes
    fits = html.unescape(client.get("/alice/elsewhere/compat", params={"base": BASE_ID}).text)
    assert f"Checked against the registered structure of {BASE_ID} (main)." in fits and 'class="verdict ok"' in fits
    assert publish(client, alice, "alice/gpt2-ia3", gpt2_ia3_files()).status_code == 201
    misfit = html.unescape(client.get("/alice/gpt2-ia3/compat", params={"base": BASE_ID}).text)
    assert "Checked against the registered structure" in misfit and 'class="verdict bad"' in misfit
