"""Issue 17, the first hour: a new version inherits its base, identical re-publishes make no version, the
compatibility panel's details, the tokens page, PEFT's placeholder card (API, SDK, CLI and pages)."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from hub.demo import GPT2, DemoAdapter, adapter_files
from hub.registry.publish.metadata import PublishMetadata
from hub.timeutil import utcnow
from tests.helpers import assert_error, publish, start_upload, stored_state, tiny_lora_files, upload_missing
from tests.sdk.test_support import write_folder
from tests.web.test_pages import HTML, Tags, csrf_of, sign_in

pytest_plugins = ["tests.sdk.test_support"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def without_base(files: dict[str, bytes]) -> dict[str, bytes]:
    """The folder with adapter_config.json's base_model_name_or_path set to null, as PEFT writes it for a
    base built from a config."""
    config = json.loads(files["adapter_config.json"])
    config["base_model_name_or_path"] = None
    return {**files, "adapter_config.json": json.dumps(config).encode()}


def commit(client, account, adapter: str, files: dict[str, bytes], **body):
    started = start_upload(client, account, adapter, files).json()
    upload_missing(client, account, adapter, files, started)
    return client.post(started["commit_url"], json=body, headers=account.headers)


def gpt2_lora_files() -> dict[str, bytes]:
    """A LoRA on GPT-2's c_attn (a Conv1D: 768 -> 2304), as PEFT saves it."""
    demo = DemoAdapter(
        name="t", base=GPT2, method="lora", targets=["c_attn"], task_type="CAUSAL_LM", card="# gpt2 lora",
        meta=PublishMetadata(), rank=4,
    )  # fmt: skip
    return adapter_files(demo)


# 17.7: a new version need not restate its base model ------------------------------------------------


def test_a_new_version_inherits_the_previous_versions_base(client, alice):
    first = commit(client, alice, "alice/inherit", tiny_lora_files(seed=1), base_revision="r1", base_model_type="llama")
    assert first.status_code == 201, first.text
    second = commit(client, alice, "alice/inherit", without_base(tiny_lora_files(seed=2)))
    assert second.status_code == 201, second.text
    version = second.json()
    assert (version["version"], version["base_model"]) == ("v2", "tiny/llama-test")
    assert (version["base_revision"], version["base_model_type"]) == ("r1", "llama")
    other = commit(client, alice, "alice/inherit", without_base(tiny_lora_files(seed=3)), base_model="org/other")
    assert other.json()["base_model"] == "org/other" and other.json()["base_revision"] is None  # not org/other's


def test_a_first_version_without_a_base_is_still_refused(client, alice):
    refused = commit(client, alice, "alice/no-base", without_base(tiny_lora_files()))
    assert "base_model is required" in assert_error(refused, 400, "InvalidMetadata")["message"]


def test_the_new_version_form_prefills_the_latest_base(client, alice):
    publish(client, alice, "alice/prefill", tiny_lora_files(), base_model="org/base-x", base_model_type="llama")
    sign_in(client, alice)
    inputs = {
        a.get("name"): a.get("value")
        for a in Tags(client.get("/new?adapter=alice/prefill", headers=HTML).text).find("input")
    }
    assert inputs["base_model"] == "org/base-x" and inputs["base_model_type"] == "llama" and inputs["name"] == "prefill"
    fresh = {
        a.get("name"): a.get("value")
        for a in Tags(client.get("/new?adapter=alice/nothing", headers=HTML).text).find("input")
    }
    assert fresh["base_model"] == "" and fresh["name"] == "nothing"


# 17.8: identical bytes and metadata make no version --------------------------------------------------


def test_an_identical_publish_answers_unchanged_and_makes_no_version(client, app, alice):
    files = tiny_lora_files()
    assert publish(client, alice, "alice/same", files, license="mit").status_code == 201
    before = stored_state(app)
    again = publish(client, alice, "alice/same", files)  # license unstated: kept, so still the same
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["unchanged"] is True and body["version"] == "v1"
    assert body["message"].startswith("Nothing changed since v1")
    assert stored_state(app)["versions"] == before["versions"]
    assert publish(client, alice, "alice/same", files, license="apache-2.0").json()["version"] == "v2"
    forced = publish(client, alice, "alice/same", files, license="apache-2.0", allow_unchanged=True)
    assert forced.status_code == 201 and forced.json()["version"] == "v3" and "unchanged" not in forced.json()


def test_a_changed_file_or_field_is_a_new_version(client, alice):
    files = tiny_lora_files()
    publish(client, alice, "alice/diff", files, tags=["a"])
    card = {**files, "README.md": b"# a better card"}
    assert publish(client, alice, "alice/diff", card).json()["version"] == "v2"
    assert publish(client, alice, "alice/diff", card, tags=["b"]).json()["version"] == "v3"
    assert publish(client, alice, "alice/diff", card, task="summarization").json()["version"] == "v4"
    assert publish(client, alice, "alice/diff", card, task="summarization").json()["unchanged"] is True


@pytest.mark.usefixtures("sdk_env")
def test_the_sdk_returns_and_logs_unchanged(hub, tmp_path, caplog):
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    hub.publish(folder, "alice/sdk-same", base_model="tiny/llama-test")
    with caplog.at_level(logging.WARNING, logger="sdk"):
        again = hub.publish(folder, "alice/sdk-same", base_model="tiny/llama-test")
    assert again["unchanged"] is True and again["version"] == "v1"
    assert "alice/sdk-same: Nothing changed since v1" in caplog.text
    assert hub.publish(folder, "alice/sdk-same", allow_unchanged=True)["version"] == "v2"


@pytest.mark.usefixtures("sdk_env")
def test_the_cli_says_unchanged_and_force_publishes(hub_url, alice, tmp_path):
    folder = write_folder(tmp_path / "adapter", tiny_lora_files())
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUB_")}, "HUB_URL": hub_url}
    env |= {"HUB_TOKEN": alice.token, "HUB_CACHE": str(tmp_path / "cache")}

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "hub.cli", "publish", str(folder), "--name", "alice/cli-same", *extra]
        return subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)

    assert run().stdout.startswith("Published alice/cli-same v1")
    again = run()
    assert again.returncode == 0 and again.stdout.startswith("Unchanged: alice/cli-same v1"), again
    assert "Nothing changed since v1" in again.stderr and "Traceback" not in again.stderr
    assert run("--force").stdout.startswith("Published alice/cli-same v2")


def test_the_web_form_says_unchanged(client, alice):
    sign_in(client, alice)
    upload = [("files", (path, data)) for path, data in tiny_lora_files().items()]
    fields = {"csrf": csrf_of(client, "/new"), "namespace": "alice", "name": "form-same"}
    assert client.post("/new", data=fields, files=upload, follow_redirects=False).status_code == 303
    again = client.post("/new", data=fields, files=upload, follow_redirects=False)
    assert again.status_code == 409 and "Nothing changed since v1" in again.text
    forced = client.post("/new", data={**fields, "allow_unchanged": "1"}, files=upload, follow_redirects=False)
    assert forced.status_code == 303
    assert [v["version"] for v in client.get("/api/adapters/alice/form-same").json()["versions"]] == ["v2", "v1"]


# 17.11: the compatibility panel ---------------------------------------------------------------------


def test_an_empty_paste_is_explained_in_the_panel(client, alice):
    publish(client, alice, "alice/paste", tiny_lora_files())
    data = {"csrf": csrf_of(client, "/alice/paste"), "structure": ""}
    response = client.post("/alice/paste/compat", data=data, headers=HTML)
    assert response.status_code == 400
    panel = response.text.split('id="compat"', 1)[1]
    assert 'class="verdict error"' in panel and "no module listed" in panel
    missing = client.post("/alice/paste/compat", data={"csrf": data["csrf"]}, headers=HTML)  # no field at all
    assert missing.status_code == 400 and "Field required" not in missing.text


def _selected(text: str) -> list[str | None]:
    return [a.get("value") for a in Tags(text).find("option") if "selected" in a]


def test_the_chosen_base_stays_selected(client, alice):
    publish(client, alice, "alice/one", tiny_lora_files(), base_model="org/one")
    publish(client, alice, "alice/two", tiny_lora_files(seed=2), base_model="org/two")
    assert _selected(client.get("/alice/one", headers=HTML).text) == ["org/one"]
    assert _selected(client.get("/alice/one/compat?base=org/two", headers=HTML).text) == ["org/two"]
    unknown = client.get("/alice/one/compat?base=org/unknown", headers=HTML).text
    assert _selected(unknown) == ["org/unknown"]
    pasted = client.post(
        "/alice/one/compat", data={"csrf": csrf_of(client, "/alice/one"), "structure": "x 1 2"}, headers=HTML
    )
    assert _selected(pasted.text) == ["org/one"]


def test_a_lora_on_gpt2_conv1d_is_labelled_as_the_sdk_words_it(client, alice):
    publish(client, alice, "alice/gpt2-lora", gpt2_lora_files(), base_model="openai-community/gpt2")
    pasted = "\n".join(f"transformer.h.{i}.attn.c_attn conv1d 768 2304" for i in range(12))
    data = {"csrf": csrf_of(client, "/alice/gpt2-lora"), "structure": pasted}
    text = client.post("/alice/gpt2-lora/compat", data=data, headers=HTML).text
    assert "Compatible</strong> with the pasted structure" in text
    assert "<td>linear or conv1d 768 → 2304</td><td>conv1d 768 → 2304</td>" in text


# 17.13: the tokens page -----------------------------------------------------------------------------


def test_a_token_made_on_the_web_can_expire(client, alice):
    sign_in(client, alice)
    csrf = csrf_of(client, "/tokens")
    made = client.post("/tokens", data={"csrf": csrf, "name": "ci", "expires_days": "30"}, headers=HTML)
    assert made.status_code == 200
    expected = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    row = re.search(r"<tr>\s*<td>ci</td>.*?</tr>", made.text, re.DOTALL).group(0)
    assert f'"Expires">{expected}</td>' in row
    never = client.post("/tokens", data={"csrf": csrf, "name": "laptop", "expires_days": ""}, headers=HTML)
    assert '"Expires">never</td>' in re.search(r"<tr>\s*<td>laptop</td>.*?</tr>", never.text, re.DOTALL).group(0)
    refused = client.post("/tokens", data={"csrf": csrf, "name": "x", "expires_days": "-3"}, headers=HTML)
    assert refused.status_code == 422 and "whole number from 1 to 3650" in refused.text
    assert 'name="expires_days"' in client.get("/tokens", headers=HTML).text


def test_a_token_without_a_name_has_a_readable_label(client, alice):
    sign_in(client, alice)  # alice's fixture token was made with no name, as `hub token create` used to
    text = client.get("/tokens", headers=HTML).text
    assert "unnamed" not in text and "no name (made on the server)" in text


def test_console_tokens_are_named_console(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUB_")}, "HUB_DATA_DIR": str(tmp_path)}
    hub = [sys.executable, "-m", "hub.cli"]
    options = {"env": env, "capture_output": True, "text": True, "cwd": REPO_ROOT, "timeout": 120}
    assert subprocess.run([*hub, "db", "upgrade"], **options).returncode == 0
    assert subprocess.run([*hub, "token", "create", "carol"], **options).returncode == 0
    listing = subprocess.run([*hub, "token", "list", "carol"], **options).stdout
    assert " console " in listing, listing


# 17.10: PEFT's untouched card template ----------------------------------------------------------------


def test_peft_placeholder_card_gives_way_to_the_hubs_summary(client, alice, peft_folder):
    files = {path.name: path.read_bytes() for path in peft_folder.iterdir()}
    assert b"[More Information Needed]" in files["README.md"]  # what save_pretrained writes
    published = publish(client, alice, "alice/template-card", files)
    assert published.status_code == 201, published.text
    page = client.get("/alice/template-card", headers=HTML).text
    assert "[More Information Needed]" not in page and "PEFT's unfilled template" in page
    assert "LoRA adapter for tiny/llama-test, text-generation." in page
    for listing in ("/search", "/alice", "/"):
        about = re.findall(r'<p class="card-about">(.*?)</p>', client.get(listing, headers=HTML).text)
        assert set(about) == {"LoRA adapter for tiny/llama-test, text-generation."}, listing
    filled = files["README.md"].replace(b"[More Information Needed]", b"", 1) + b"\n\nTrained on SQL questions.\n"
    publish(client, alice, "alice/template-card", {**files, "README.md": filled})
    assert "Trained on SQL questions." in client.get("/alice/template-card", headers=HTML).text
