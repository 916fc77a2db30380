"""The search surface: every facet filter and sort, in ONE table that the hub's API schema and query, the web
search page and the SDK's `Hub.search` are all derived from (add a facet here and it appears everywhere).

Pure data, importable by the client without the server. The hub maps each facet name to its column in
hub/registry/search/query.py and checks at import time that every facet here has one.
"""

from __future__ import annotations

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
