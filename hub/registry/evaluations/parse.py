"""Evaluation results as Hugging Face writes them, read into typed rows: pure, no database.

Two formats say the same thing. The model card's front matter `model-index: [{name, results: [{task: {type, name},
dataset: {type, name, config, split, revision}, metrics: [{type, value, name}], source: {name, url}}]}]`, and the
newer `.eval_results/*.yaml` files: lists of `{dataset: {id, task_id, config, split, revision}, value, date, source:
{name, url}, notes}`. That format leaves the metric to the benchmark, so the hub reads an optional `metric`
(`accuracy` or `{type, name}`, else the dataset's `task_id`, else "score") and `task` (else the version's own task).

A malformed entry never refuses a publish: it is skipped with a warning naming the file and the entry. A row is the
base model's own score (a baseline) when its model-index entry is named after the base model, or when the result
or the entry says `baseline: true`. `verified` is always False: the hub checks no claim.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

from sdk.formats.names import EVAL_RESULTS_FOLDER

CARD_PATH = "README.md"
EVAL_DIR = EVAL_RESULTS_FOLDER + "/"
MAX_ROWS = 500  # per version: a card is no results database, and the table stays cheap to read
# YAML aliases let a small file name the same bad entry a billion times: the warnings stop here.
MAX_WARNINGS = 50
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the same documents, faster
_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$", re.DOTALL | re.MULTILINE)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,199}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_TEXT_MAX = 200
URL_MAX = 2000


@dataclass(frozen=True)
class EvalRow:
    task: str
    dataset_id: str
    metric: str
    value: float
    dataset_name: str | None = None
    dataset_config: str | None = None
    dataset_split: str | None = None
    dataset_revision: str | None = None
    metric_name: str | None = None
    source_name: str | None = None
    source_url: str | None = None
    date: date | None = None
    baseline: bool = False
    origin: str = CARD_PATH  # the file the row was read from

    @property
    def verified(self) -> bool:
        return False  # the hub re-runs no evaluation


@dataclass
class Parsed:
    rows: list[EvalRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Malformed(ValueError):
    """One entry the hub cannot read; its message becomes a warning."""


def is_eval_file(path: str) -> bool:
    return path.startswith(EVAL_DIR) and path.endswith((".yaml", ".yml")) and "/" not in path[len(EVAL_DIR) :]


def read_evaluations(texts: dict[str, str], *, base_models: tuple[str, ...], default_task: str | None) -> Parsed:
    """Every row of the card's model-index and of each .eval_results file (in path order), and the warnings."""
    parsed = Parsed()
    if CARD_PATH in texts:
        _collect(parsed, CARD_PATH, lambda: _card_rows(texts[CARD_PATH], base_models))
    for path in sorted(p for p in texts if is_eval_file(p)):
        _collect(parsed, path, lambda path=path: _file_rows(texts[path], path, default_task))  # type: ignore[misc]
    return parsed


def _collect(parsed: Parsed, path: str, rows: Any) -> None:
    """Keep each good row, a warning for each bad entry; a whole file that is not YAML is one warning."""
    try:
        for row in rows():
            if len(parsed.warnings) >= MAX_WARNINGS:
                parsed.warnings.append(f"{path}: more than {MAX_WARNINGS} problems; the rest was not read.")
                return
            if isinstance(row, str):
                parsed.warnings.append(row)
            elif len(parsed.rows) >= MAX_ROWS:
                parsed.warnings.append(f"{path}: more than {MAX_ROWS} evaluation results; the rest were ignored.")
                return
            else:
                parsed.rows.append(row)
    except (Malformed, yaml.YAMLError) as error:
        parsed.warnings.append(f"{path}: {_short(error)}")


def _short(error: Exception) -> str:
    text = str(error).replace("\n", " ")
    return text if len(text) <= 300 else text[:300] + "…"


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_LOADER)  # a safe loader: plain data, never Python objects
    except yaml.YAMLError as error:
        raise Malformed(f"not valid YAML ({_short(error)}); its evaluation results were ignored.") from None
    except RecursionError:  # thousands of nested brackets or indents
        raise Malformed("nests too deeply to read; its evaluation results were ignored.") from None


def front_matter(card: str) -> dict[str, Any]:
    found = _FRONT_MATTER.match(card)
    if found is None:
        return {}
    data = _load_yaml(found.group(1))
    return data if isinstance(data, dict) else {}


# ---- model-index (the card) -------------------------------------------------------------------------------------


def _card_rows(card: str, base_models: tuple[str, ...]) -> Iterator[EvalRow | str]:
    index = front_matter(card).get("model-index")
    if index is None:
        return
    if not isinstance(index, list):
        raise Malformed("model-index is not a list; its evaluation results were ignored.")
    for m, model in enumerate(index):
        results = model.get("results") if isinstance(model, dict) else None
        if not isinstance(results, list):
            yield f"{CARD_PATH}: model-index[{m}] has no list of results; ignored."
            continue
        is_base = isinstance(model, dict) and model.get("name") in base_models
        for r, result in enumerate(results):
            yield from _result_rows(result, f"model-index[{m}].results[{r}]", is_base)


def _result_rows(result: Any, where: str, is_base: bool) -> Iterator[EvalRow | str]:
    try:
        common = _result_common(result, is_base)
    except Malformed as error:
        yield f"{CARD_PATH}: {where}: {error}"
        return
    metrics = result.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        yield f"{CARD_PATH}: {where}: no list of metrics; ignored."
        return
    for k, metric in enumerate(metrics):
        try:
            yield EvalRow(**common, **_metric_fields(metric))
        except Malformed as error:
            yield f"{CARD_PATH}: {where}.metrics[{k}]: {error}"


def _result_common(result: Any, is_base: bool) -> dict[str, Any]:
    task, dataset = _mapping(result, "result").get("task"), result.get("dataset")
    task, dataset = _mapping(task, "task"), _mapping(dataset, "dataset")
    return {
        "task": _slug(task.get("type"), "task.type"),
        "dataset_id": _ident(dataset.get("type"), "dataset.type"),
        "dataset_name": _text(dataset.get("name")),
        **_dataset_details(dataset),
        **_source(result.get("source")),
        "date": _date(result.get("date")),
        "baseline": is_base or result.get("baseline") is True,
    }


def _metric_fields(metric: Any) -> dict[str, Any]:
    metric = _mapping(metric, "metric")
    return {
        "metric": _slug(metric.get("type"), "metric type"),
        "metric_name": _text(metric.get("name")),
        "value": _number(metric.get("value")),
    }


# ---- .eval_results/*.yaml ---------------------------------------------------------------------------------------


def _file_rows(text: str, path: str, default_task: str | None) -> Iterator[EvalRow | str]:
    entries = _load_yaml(text)
    if entries is None:
        return
    if not isinstance(entries, list):
        raise Malformed("is not a list of results; its evaluation results were ignored.")
    for e, entry in enumerate(entries):
        try:
            yield _entry_row(entry, path, default_task)
        except Malformed as error:
            yield f"{path}: entry {e}: {error}"


def _entry_row(entry: Any, path: str, default_task: str | None) -> EvalRow:
    entry = _mapping(entry, "entry")
    dataset = _mapping(entry.get("dataset"), "dataset")
    task = entry.get("task")
    task = task.get("type") if isinstance(task, dict) else (task or default_task)
    metric = entry.get("metric")
    metric_type = metric.get("type") if isinstance(metric, dict) else (metric or dataset.get("task_id") or "score")
    return EvalRow(
        task=_slug(task, "task (none stated, and the version has none)"),
        dataset_id=_ident(dataset.get("id"), "dataset.id"),
        dataset_name=_text(dataset.get("name")),
        **_dataset_details(dataset),
        metric=_slug(metric_type, "metric"),
        metric_name=_text(metric.get("name")) if isinstance(metric, dict) else None,
        value=_number(entry.get("value")),
        **_source(entry.get("source")),
        date=_date(entry.get("date")),
        baseline=entry.get("baseline") is True,
        origin=path,
    )


# ---- fields -----------------------------------------------------------------------------------------------------


def _dataset_details(dataset: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset_config": _text(dataset.get("config")),
        "dataset_split": _text(dataset.get("split")),
        "dataset_revision": _text(dataset.get("revision")),
    }


def _source(source: Any) -> dict[str, Any]:
    if not isinstance(source, dict):
        return {"source_name": _text(source), "source_url": None}
    url = source.get("url")
    shown = isinstance(url, str) and len(url) <= URL_MAX and _is_web(url)
    return {"source_name": _text(source.get("name")), "source_url": url if shown else None}


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://"))  # a javascript: URL is never shown as a link


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{name} is missing or not a mapping; ignored.")
    return value


def _slug(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value.strip().lower()):
        raise Malformed(f"{name} {str(value)[:60]!r} is not an id like 'text-classification' or 'accuracy'; ignored.")
    return value.strip().lower()


def _ident(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value.strip()):
        raise Malformed(f"{name} {str(value)[:60]!r} is not a dataset id like 'glue' or 'org/name'; ignored.")
    return value.strip()


def _number(value: Any) -> float:
    # bool is an int in Python; "0.9 ± 0.1" is allowed by model-index but cannot be ranked.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Malformed(f"value {str(value)[:60]!r} is not a finite number; ignored.")
    return float(value)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:_TEXT_MAX] or None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value  # YAML reads 2025-01-15 as a date already
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        raise Malformed(f"date {str(value)[:40]!r} is not an ISO date like 2025-01-15; ignored.") from None
