"""PEFT's untouched model-card template, and the summary the hub shows in its place.

`save_pretrained` writes huggingface_hub's model-card template: some 200 lines of headings, HTML comments and
"[More Information Needed]". Shown as is, it fills the adapter page and becomes every listing's summary;
the hub's own line (method, base model, task) says more.
"""

from __future__ import annotations

import re

from hub.registry.models import Adapter, Version
from web.cards import card_summary, strip_front_matter

PLACEHOLDER = "[More Information Needed]"
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
# The template's few fixed sentences, which are not the author's words either.
_BOILERPLATE = (
    re.compile(r"Users \(both direct and downstream\) should be made aware of the risks"),
    re.compile(r"Use the code below to get started with the model\."),
    re.compile(r"Carbon emissions can be estimated using the \[Machine Learning Impact calculator\]"),
    re.compile(r"\*\*(BibTeX|APA):\*\*"),
    re.compile(r"- PEFT \S+"),  # "### Framework versions" lists the PEFT release
)


def without_placeholders(card: str) -> str:
    """The card with front matter, comments, placeholder lines and template boilerplate blanked out."""
    text = _COMMENT_RE.sub("", strip_front_matter(card or ""))
    return "\n".join(line if not _template_line(line.strip()) else "" for line in text.splitlines())


def _template_line(line: str) -> bool:
    return PLACEHOLDER in line or any(pattern.match(line) for pattern in _BOILERPLATE)


def authored_lines(card: str) -> list[str]:
    """The lines someone wrote (headings aside: the template has its own)."""
    return [line for line in without_placeholders(card).splitlines() if line.strip() and not line.startswith("#")]


def is_untouched_template(card: str) -> bool:
    """True for PEFT's template with nothing filled in (placeholders only)."""
    return PLACEHOLDER in (card or "") and not authored_lines(card)


def shown_card(card: str) -> str:
    """The card to render on the adapter page: nothing when it is the untouched template."""
    return "" if is_untouched_template(card) else card


def hub_summary(method: str | None, base_model: str | None, task: str | None) -> str:
    """The hub's own one-line description, from what it read off the files: 'LoRA adapter for gpt2, text-generation.'"""
    from web.templating import method_name  # imported here: web.templating imports this module

    about = f"{method_name(method)} adapter" + (f" for {base_model}" if base_model else "")
    return about + (f", {task}." if task else ".")


def adapter_summary(adapter: Adapter) -> str:
    """A listing's line: the card's first authored paragraph, or the hub's summary when there is none."""
    written = card_summary(without_placeholders(adapter.description))
    return written or hub_summary(adapter.method, adapter.base_model, adapter.task)


def version_summary(version: Version) -> str:
    """The adapter page's line under the name, for the version shown."""
    written = card_summary(without_placeholders(version.card))
    return written or hub_summary(version.method, version.base_model, version.task)
