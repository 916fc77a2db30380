"""The Jinja2 environment, its filters, and render(): every page goes through render() so the nav,
the CSRF cookie and the status code are handled the same way everywhere."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from hub.registry.catalog.sizes import bytes_text
from hub.registry.evaluations.models import Evaluation
from web.auth import csrf_token, current_user, remember_csrf
from web.card_template import adapter_summary, is_untouched_template, version_summary
from web.cards import card_summary
from web.search_params import FILTERS, LABELS, SORT_LABELS

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
# A second line of defence behind the card sanitizer: even markup that got through could not run a script
# or send a form elsewhere. Card images may come from any https site.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' https: data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NONE = "\u2013"  # an en dash reads as "nothing here" in a table cell


def filesize(size: int | None) -> str:
    return NONE if size is None else bytes_text(size)


def number(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else NONE


def compact(value: int | None) -> str:
    """1234 -> 1.2k, as download counts read at a glance."""
    if value is None:
        return "0"
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if value >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return str(value)


# How the methods are written in their papers and in PEFT's documentation.
METHOD_NAMES = {
    "lora": "LoRA", "ia3": "IA³", "adalora": "AdaLoRA", "loha": "LoHa", "lokr": "LoKr", "oft": "OFT",
    "boft": "BOFT", "vera": "VeRA", "fourierft": "FourierFT", "prefix_tuning": "Prefix tuning",
    "prompt_tuning": "Prompt tuning", "p_tuning": "P-tuning", "seq_bn": "Bottleneck", "dora": "DoRA",
}  # fmt: skip


def method_name(method: str | None) -> str:
    return METHOD_NAMES.get(method or "", (method or NONE).upper())


def dotbreak(path: str) -> Markup:
    """Let long module paths wrap at their dots rather than mid-name."""
    return Markup("<wbr>.").join(escape(path).split("."))


def score(value: float) -> str:
    """An evaluation value, to four significant digits (0.9123, 20.9)."""
    return f"{value:.4g}"


def dataset_label(row: Evaluation) -> str:
    """An evaluation's dataset as one label: glue (sst2, validation)."""
    details = ", ".join(part for part in (row.dataset_config, row.dataset_split) if part)
    return f"{row.dataset_id} ({details})" if details else row.dataset_id


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


templates.env.filters.update(
    filesize=filesize,
    number=number,
    day=day,
    compact=compact,
    urlpart=quote,
    method=method_name,
    summary=card_summary,
    dotbreak=dotbreak,
)
templates.env.globals.update(
    adapter_summary=adapter_summary, version_summary=version_summary, is_untouched_template=is_untouched_template
)
templates.env.globals.update(score=score, dataset_label=dataset_label)
templates.env.globals.update(plural=plural, labels=LABELS, sort_labels=SORT_LABELS, clear_all=dict.fromkeys(FILTERS))


def render(request: Request, page: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """Render one of the page dataclasses in web.contexts with its template."""
    # Not dataclasses.asdict: that deep-copies every row, which costs milliseconds on a results page.
    values = {field.name: getattr(page, field.name) for field in fields(page)}
    values.update(user=current_user(request), csrf=csrf_token(request))
    headers = {**SECURITY_HEADERS, **(headers or {})}
    response = templates.TemplateResponse(request, page.template, values, status_code=status, headers=headers)
    remember_csrf(request, response)
    return response
