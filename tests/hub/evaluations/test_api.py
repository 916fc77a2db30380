"""Evaluation results through the API, on both engines: read at publish into the version JSON, malformed ones as
warnings in the publish answer, `sort=metric:NAME` within a task, and the leaderboard (ranks, baselines, privacy)."""

from __future__ import annotations

import pytest

from tests.fixtures.hub import make_account
from tests.helpers import assert_error, publish, tiny_lora_files
from tests.hub.evaluations.test_parse import CARD, EVAL_FILE

TASK = "text-classification"
BASE = "tiny/llama-test"


def _card(accuracy: float, *, name: str = "x", extra: str = "") -> str:
    return (
        "---\nmodel-index:\n"
        f"- name: {name}\n  results:\n  - task: {{type: {TASK}}}\n"
        "    dataset: {type: glue, config: sst2, split: validation}\n"
        f"    metrics:\n    - {{type: accuracy, value: {accuracy}}}\n{extra}---\n# card\n"
    )


def _publish(client, account, adapter: str, seed: int, card: str | None = None, **files: str):
    contents = tiny_lora_files(seed=seed)
    if card is not None:
        contents["README.md"] = card.encode()
    contents.update({path.replace("__", "/"): text.encode() for path, text in files.items()})
    response = publish(client, account, adapter, contents, task=TASK)
    assert response.status_code == 201, response.text
    return response.json()


def test_card_and_eval_results_folder_give_the_same_rows_in_the_version_json(client, alice):
    from_card = _publish(client, alice, "alice/card", 1, CARD)
    eval_folder = {".eval_results__sst2.yaml": EVAL_FILE}
    from_folder = _publish(client, alice, "alice/folder", 2, "# no front matter", **eval_folder)
    assert from_card["warnings"] == [] and from_folder["warnings"] == []
    card_rows = client.get("/api/adapters/alice/card/versions/v1").json()["evaluations"]
    folder_rows = client.get("/api/adapters/alice/folder/versions/v1").json()["evaluations"]
    assert card_rows == from_card["evaluations"] and len(card_rows) == 2
    assert card_rows[0] == {
        "task": TASK,
        "dataset": {"id": "glue", "name": "GLUE SST-2", "config": "sst2", "split": "validation", "revision": None},
        "metric": {"type": "accuracy", "name": "Accuracy", "value": 0.912},
        "source": {"name": "own run", "url": "https://example.org/run/1", "file": "README.md"},
        "date": None,
        "baseline": False,
        "verified": False,
    }

    def without_file(rows):
        return [{**row, "source": {**row["source"], "file": None}} for row in rows]

    assert without_file(card_rows) == without_file(folder_rows)
    assert folder_rows[0]["source"]["file"] == ".eval_results/sst2.yaml"


def test_malformed_results_are_warnings_in_the_publish_answer_and_the_rest_is_kept(client, alice):
    card = _card(0.8) + "\n"
    bad_file = "- {dataset: {id: glue}, value: not-a-number}\n"
    answer = _publish(
        client,
        alice,
        "alice/bad",
        1,
        card,
        **{".eval_results__bad.yaml": bad_file, ".eval_results__broken.yaml": "[unclosed"},
    )
    assert [row["metric"]["value"] for row in answer["evaluations"]] == [0.8]
    assert len(answer["warnings"]) == 2
    assert answer["warnings"][0].startswith(".eval_results/bad.yaml: entry 0: value 'not-a-number'")
    assert answer["warnings"][1].startswith(".eval_results/broken.yaml: not valid YAML")
    # A card whose front matter is not YAML at all: still published, one warning.
    broken = _publish(client, alice, "alice/broken-card", 2, "---\nmodel-index: [\n---\n")
    assert broken["evaluations"] == [] and broken["warnings"][0].startswith("README.md: not valid YAML")


def _ranked(client, account=None, **params):
    query = {"task": TASK, "base_model": BASE, "metric": "accuracy", **params}
    response = client.get("/api/leaderboards", params=query, headers=account.headers if account else {})
    assert response.status_code == 200, response.text
    return response.json()


def test_leaderboard_ranks_by_the_metric_with_the_baseline_delta_and_hides_private_adapters(client, alice, bob):
    _publish(client, alice, "alice/low", 1, _card(0.71))
    _publish(client, alice, "alice/high", 2, _card(0.93))
    _publish(client, bob, "bob/mid", 3, _card(0.85))
    _publish(client, bob, "bob/secret", 4, _card(0.99))
    assert client.patch("/api/adapters/bob/secret", json={"private": True}, headers=bob.headers).status_code == 200
    _publish(client, alice, "alice/base-scores", 5, _card(0.60, name=BASE))  # the base's own score
    _publish(client, alice, "alice/other-task", 6, _card(0.99).replace(TASK, "summarization"))
    board = _ranked(client)
    assert [e["adapter"] for e in board["entries"]] == ["alice/high", "bob/mid", "alice/low"]
    assert [e["rank"] for e in board["entries"]] == [1, 2, 3]
    top = board["entries"][0]
    assert top["value"] == 0.93 and top["baseline_value"] == 0.60 and top["delta"] == pytest.approx(0.33)
    assert top["method"] == "lora" and top["total_bytes"] > 0 and top["trainable_params"] > 0
    assert 0 < top["share_of_adapted_weights"] < 1
    assert [b["metric"]["value"] for b in board["baselines"]] == [0.60]
    # Bob sees his private adapter first; alice and an outsider never see it.
    public = ["alice/high", "bob/mid", "alice/low"]
    assert [e["adapter"] for e in _ranked(client, bob)["entries"]] == ["bob/secret", *public]
    assert "bob/secret" not in [e["adapter"] for e in _ranked(client, alice)["entries"]]
    carol = make_account(client.app, "carol")
    assert [e["adapter"] for e in _ranked(client, carol)["entries"]] == public
    assert [e["adapter"] for e in _ranked(client, limit=1)["entries"]] == ["alice/high"]
    # A newer version without results leaves the board: only the latest version counts.
    _publish(client, alice, "alice/high", 7, "# no results now")
    assert [e["adapter"] for e in _ranked(client)["entries"]] == ["bob/mid", "alice/low"]


def test_loss_like_metrics_rank_lowest_first(client, alice):
    for name, seed, loss in (("alice/a", 1, 0.5), ("alice/b", 2, 0.2), ("alice/c", 3, 0.9)):
        _publish(client, alice, name, seed, _card(loss).replace("type: accuracy", "type: loss"))
    board = _ranked(client, metric="loss")
    assert board["lower_is_better"] is True
    assert [e["adapter"] for e in board["entries"]] == ["alice/b", "alice/a", "alice/c"]


def test_leaderboard_refuses_bad_parameters(client):
    assert_error(client.get("/api/leaderboards", params={"task": TASK, "base_model": BASE}), 422, "InvalidRequest")
    bad = {"task": "Not A Slug", "base_model": BASE, "metric": "accuracy"}
    assert_error(client.get("/api/leaderboards", params=bad), 422, "InvalidRequest")


def test_sort_by_metric_within_a_task_pages_with_cursors(client, alice):
    for index, accuracy in enumerate((0.5, 0.9, 0.7, 0.9)):
        _publish(client, alice, f"alice/m{index}", index + 1, _card(accuracy))
    _publish(client, alice, "alice/none", 9, "# no results")
    seen, cursor = [], None
    while True:
        params = {"task": TASK, "sort": "metric:accuracy", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/adapters", params=params)
        assert page.status_code == 200, page.text
        seen += [adapter["id"] for adapter in page.json()["adapters"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == ["alice/m3", "alice/m1", "alice/m2", "alice/m0", "alice/none"]  # ties by newest id; none last
    assert page.json()["total"] == 5
    no_task = client.get("/api/adapters", params={"sort": "metric:accuracy"})
    assert "task filter" in assert_error(no_task, 422, "InvalidRequest")["message"]
    assert_error(client.get("/api/adapters", params={"sort": "metric:Bad Name"}), 422, "InvalidRequest")
