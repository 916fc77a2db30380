"""Model cards: markdown rendered with markdown-it-py, then sanitized with nh3.

Sanitizing the *output* (not the input) is what makes a card safe: whatever the markdown parser
produces, only the tags, attributes and URL schemes listed here reach the browser.
"""

from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

# PEFT's save_pretrained writes a YAML block (base_model, library_name...) that the metadata table already shows.
_FRONT_MATTER_RE = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)
_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},  # language-python from fenced code blocks
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
CARD_CACHE_SIZE = 128


def strip_front_matter(text: str) -> str:
    return _FRONT_MATTER_RE.sub("", text, count=1)


@lru_cache(maxsize=CARD_CACHE_SIZE)  # cards are immutable per version; caching is a pure speed-up
def render_card(text: str) -> str:
    """Markdown -> HTML that is safe to embed: no script, no event handler, no javascript: URL."""
    html = _markdown.render(strip_front_matter(text or ""))
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


def card_summary(text: str, limit: int = 160) -> str:
    """The first paragraph of plain prose, for result lists."""
    for block in strip_front_matter(text or "").split("\n\n"):
        line = " ".join(block.replace("`", "").replace("**", "").split())  # plain text: no markdown marks
        if line and not line.startswith(("#", "```", "<", "|", "-", "*", ">")):
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""
