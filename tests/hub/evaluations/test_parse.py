"""The two Hugging Face formats of evaluation results give the same typed rows; bad entries become warnings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hub.registry.evaluations.parse import EvalRow, read_evaluations

CARD = """---
license: apache-2.0
model-index:
- name: alice/sst2-lora
  results:
  - task: {type: text-classification, name: Text Classification}
    dataset: {type: glue, name: GLUE SST-2, config: sst2, split: validation}
    metrics:
    - {type: accuracy, value: 0.912, name: Accuracy}
    - {type: f1, value: 0.9}
    source: {name: own run, url: https://example.org/run/1}
---
# An adapter
"""

EVAL_FILE = """
- dataset: {id: glue, name: GLUE SST-2, config: sst2, split: validation}
  task: text-classification
  metric: {type: accuracy, name: Accuracy}
  value: 0.912
  source: {name: own run, url: https://example.org/run/1}
- dataset: {id: glue, name: GLUE SST-2, config: sst2, split: validation}
  task: text-classification
  metric: f1
  value: 0.9
  source: {name: own run, url: https://example.org/run/1}
"""

BASES = ("tiny/base",)


def _rows(texts: dict[str, str], task: str | None = "text-classification"):
    return read_evaluations(texts, base_models=BASES, default_task=task)


def test_model_index_and_eval_results_give_the_same_rows():
    from_card = _rows({"README.md": CARD})
    from_file = _rows({".eval_results/sst2.yaml": EVAL_FILE})
    assert from_card.warnings == [] and from_file.warnings == []
    assert len(from_card.rows) == 2
    assert [replace(row, origin="") for row in from_card.rows] == [replace(row, origin="") for row in from_file.rows]
    first = from_card.rows[0]
    assert first == EvalRow(
        task="text-classification",
        dataset_id="glue",
        metric="accuracy",
        value=0.912,
        dataset_name="GLUE SST-2",
        dataset_config="sst2",
        dataset_split="validation",
        metric_name="Accuracy",
        source_name="own run",
        source_url="https://example.org/run/1",
        origin="README.md",
    )
    assert first.verified is False
    assert from_file.rows[0].origin == ".eval_results/sst2.yaml"


def test_hf_eval_results_defaults_metric_from_task_id_and_task_from_the_version():
    text = "- dataset: {id: cais/hle, task_id: default}\n  value: 20.9\n  date: 2025-01-15\n  notes: no-tools\n"
    (row,) = _rows({".eval_results/hle.yaml": text}, task="text-generation").rows
    assert (row.task, row.dataset_id, row.metric, row.value, row.date) == (
        "text-generation",
        "cais/hle",
        "default",
        20.9,
        date(2025, 1, 15),
    )


def test_a_baseline_is_the_entry_named_after_the_base_or_marked():
    card = CARD.replace("- name: alice/sst2-lora", "- name: tiny/base")
    assert all(row.baseline for row in _rows({"README.md": card}).rows)
    marked = EVAL_FILE.replace("  value: 0.9\n", "  value: 0.9\n  baseline: true\n")
    assert [row.baseline for row in _rows({".eval_results/a.yaml": marked}).rows] == [False, True]
    assert not any(row.baseline for row in _rows({"README.md": CARD}).rows)


def test_malformed_entries_are_warnings_and_good_ones_are_kept():
    bad_card = CARD.replace("value: 0.912", 'value: "91 ± 1"').replace("type: glue", "type: 12")
    parsed = _rows(
        {
            "README.md": bad_card,
            ".eval_results/x.yaml": "- {dataset: {id: glue}, value: nope}\n- 3\n",
            ".eval_results/y.yaml": "a: [unclosed",
            ".eval_results/z.yaml": "{just: a mapping}",
        }
    )
    assert parsed.rows == []
    assert len(parsed.warnings) == 5, parsed.warnings
    assert parsed.warnings[0].startswith("README.md: model-index[0].results[0]: dataset.type '12'")
    assert any(w.startswith(".eval_results/x.yaml: entry 0: value 'nope'") for w in parsed.warnings)
    assert any(w.startswith(".eval_results/x.yaml: entry 1: entry is missing") for w in parsed.warnings)
    assert any(w.startswith(".eval_results/y.yaml: not valid YAML") for w in parsed.warnings)
    assert any(w.startswith(".eval_results/z.yaml: is not a list") for w in parsed.warnings)
    one_bad_metric = _rows({"README.md": CARD.replace("value: 0.9}", "value: .nan}")})
    assert [row.metric for row in one_bad_metric.rows] == ["accuracy"] and len(one_bad_metric.warnings) == 1


def test_a_card_without_model_index_or_front_matter_has_no_rows_and_no_warnings():
    for card in ("# plain", "---\nlicense: mit\n---\n# card", "---\n: : bad yaml\n"):
        assert _rows({"README.md": card}).rows == []
    assert _rows({"README.md": "---\n- [unclosed\n---\n"}).warnings[0].startswith("README.md: not valid YAML")


def test_hostile_yaml_gives_bounded_warnings_not_an_error():
    deep = "- " + "[" * 50_000 + "]" * 50_000 + "\n"
    assert _rows({".eval_results/deep.yaml": deep}).warnings[0].startswith(".eval_results/deep.yaml: ")
    # Aliases: 1000 x 1000 references to one bad metric, from a few hundred bytes.
    bomb = (
        "x: &x {type: accuracy, value: bad}\nr: &r {task: {type: t}, dataset: {type: d}, metrics: ["
        + "*x, " * 999
        + "*x]}\nmodel-index: [{name: m, results: ["
        + "*r, " * 999
        + "*r]}]\n"
    )
    parsed = _rows({"README.md": f"---\n{bomb}---\n"})
    assert parsed.rows == [] and len(parsed.warnings) == 51
    assert parsed.warnings[-1] == "README.md: more than 50 problems; the rest was not read."
