"""The search surface: every facet filter and sort, in ONE table that the hub's API schema and query, the web
search page and the SDK's `Hub.search` are all derived from (add a facet here and it appears everywhere).

Pure data, importable by the client without the server. The hub maps each facet name to its column in
hub/registry/search/query.py and checks at import time that every facet here has one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_VALUE = 200  # characters in one filter value or query
MAX_CURSOR = 500


@dataclass(frozen=True)
class Facet:
    name: str  # the query parameter, and the key of the facet counts
    label: str  # as the web page shows it
    description: str  # as the API schema documents it


@dataclass(frozen=True)
class Sort:
    name: str
    label: str


FACETS: tuple[Facet, ...] = (
    Facet("base_model", "Base model", "The base model id, e.g. openai-community/gpt2 (well-known aliases match)"),
    Facet("task", "Task", "text-classification, summarization, text-generation..."),
    Facet("architecture", "Architecture", "The base's model type: llama, gpt2..."),
    Facet("method", "Method", "lora, ia3, seq_bn, prefix_tuning..."),
    Facet("library", "Library", "peft, adapters, opendelta"),
    Facet("license", "License", "apache-2.0, mit..."),
)
TAG = Facet("tag", "Tag", "A topic tag set at publish")
FILTERS: tuple[Facet, ...] = (*FACETS, TAG)  # every exact filter; `tag` is counted from its own table
FACET_NAMES = tuple(facet.name for facet in FACETS)
FILTER_NAMES = tuple(facet.name for facet in FILTERS)

SORTS: tuple[Sort, ...] = (
    Sort("downloads", "Most downloaded"),
    Sort("recent", "Recently updated"),
    Sort("name", "Name"),
)
SORT_NAMES = tuple(sort.name for sort in SORTS)
DEFAULT_SORT = SORT_NAMES[0]

# sort=metric:accuracy: adapters by their latest version's best stated score on that metric, within the task
# filter's task (a score means nothing across tasks); adapters without one come last. Best is the highest,
# except for the error-like metrics below, where it is the lowest.
METRIC_SORT_PREFIX = "metric:"
METRIC_ID = r"[a-z0-9][a-z0-9_.-]{0,63}"
SORT_PATTERN = "^(" + "|".join(SORT_NAMES) + f"|{METRIC_SORT_PREFIX}{METRIC_ID})$"
LOWER_IS_BETTER = frozenset({"loss", "eval_loss", "perplexity", "ppl", "wer", "cer", "ter", "mae", "mse", "rmse"})
_SORT_RE = re.compile(SORT_PATTERN)


def is_sort(name: str) -> bool:
    return bool(_SORT_RE.fullmatch(name))


def sorted_metric(sort: str) -> str | None:
    """The metric a `metric:NAME` sort ranks by; None for the other sorts."""
    return sort.removeprefix(METRIC_SORT_PREFIX) if sort.startswith(METRIC_SORT_PREFIX) and is_sort(sort) else None


def sort_label(sort: str) -> str:
    metric = sorted_metric(sort)
    if metric is None:
        return next((s.label for s in SORTS if s.name == sort), sort)
    return f"Best {metric} ({'lowest' if metric in LOWER_IS_BETTER else 'highest'} first)"


# Base models renamed upstream: the old id still names the same weights, so a filter on either finds both.
BASE_MODEL_ALIASES = {
    "gpt2": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
    "distilgpt2": "distilbert/distilgpt2",
    "bert-base-uncased": "google-bert/bert-base-uncased",
    "bert-base-cased": "google-bert/bert-base-cased",
    "roberta-base": "FacebookAI/roberta-base",
    "roberta-large": "FacebookAI/roberta-large",
    "distilbert-base-uncased": "distilbert/distilbert-base-uncased",
    "t5-small": "google-t5/t5-small",
    "t5-base": "google-t5/t5-base",
}


def base_model_ids(model_id: str) -> tuple[str, ...]:
    """Every id naming the same base as `model_id`: itself, and its well-known old or new name."""
    canonical = BASE_MODEL_ALIASES.get(model_id, model_id)
    aliases = [old for old, new in BASE_MODEL_ALIASES.items() if new == canonical]
    return tuple(dict.fromkeys([model_id, canonical, *aliases]))
