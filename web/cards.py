"""Model cards: markdown rendered with markdown-it-py, then sanitized with nh3.

Sanitizing the *output* (not the input) is what makes a card safe: whatever the markdown parser
produces, only the tags, attributes and URL schemes listed here reach the browser.

A card is also kept cheap and inert for every viewer: only its first MAX_RENDERED_CHARS characters,
and at most MAX_MARKUP markup characters, are rendered (markdown-it's work follows the markup: about
0.1-0.3 ms per bracket, star or table bar here); tags nested deeper than MAX_NESTING are dropped
before the sanitizer (whose work grows with the depth); and URLs that would make a viewer's browser
call this hub's API or download routes (which count downloads) are dropped.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from urllib.parse import unquote, urljoin, urlsplit

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
# Real cards are a few KB, long ones with link lists and tables some tens of KB: 3,000 markup
# characters render in a few tenths of a second; plain prose costs next to nothing.
MAX_RENDERED_CHARS = 100_000
MAX_MARKUP = 3_000
_MARKUP_RE = re.compile(r"[\[\]()!*_|<>`~&\\]")
# Markdown itself nests at most 20 levels (markdown-it's maxNesting); raw HTML could nest without end.
MAX_NESTING = 32
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^>]*)>")
# Routes that count a download or serve the API: /api/..., /{namespace}/{name}/resolve/...
_HUB_ROUTE_RE = re.compile(r"/(?:api(?:/|$)|[^/]+/[^/]+/resolve(?:/|$))")
# Relative URLs are resolved as a browser would from the pages that show a card (/{ns}/{name}, /{ns}/{name}/compat).
_PAGE_PATHS = ("/namespace/name", "/namespace/name/compat")
_URL_NOISE = str.maketrans("", "", "\t\n\r")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def strip_front_matter(text: str) -> str:
    return _FRONT_MATTER_RE.sub("", text, count=1)


@lru_cache(maxsize=CARD_CACHE_SIZE)  # cards are immutable per version; caching is a pure speed-up
def render_card(text: str, own_hosts: frozenset[str] = frozenset()) -> str:
    """Markdown -> HTML that is safe to embed: no script, no event handler, no javascript: URL, no URL
    that calls this hub (`own_hosts`: the host names it answers on, e.g. "hub.example.org:8080")."""
    card, cut = _bounded(strip_front_matter(text or ""))
    html = nh3.clean(
        _flatten(_markdown.render(card)),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        attribute_filter=lambda tag, attribute, value: _inert_url(tag, attribute, value, own_hosts),
    )
    return html + _cut_notice(len(text)) if cut else html


def _bounded(card: str) -> tuple[str, bool]:
    """The part of the card to render, cut at a line end when one is near; and whether it was cut."""
    end = min(len(card), MAX_RENDERED_CHARS, _markup_end(card))
    if end == len(card):
        return card, False
    line_end = card.rfind("\n", 0, end)
    return card[: line_end if line_end > end // 2 else end], True


def _markup_end(card: str) -> int:
    """Where the markup character past MAX_MARKUP sits in the rendered span (the card's length if none)."""
    for count, found in enumerate(_MARKUP_RE.finditer(card, 0, MAX_RENDERED_CHARS)):
        if count == MAX_MARKUP:
            return found.start()
    return len(card)


def _cut_notice(size: int) -> str:
    return (
        '<p class="card-cut"><em>The card is cut here: it is longer or more heavily formatted than the hub '
        f'renders ({size:,} characters). The whole README.md is under <a href="#files">Files</a>.</em></p>'
    )


def _flatten(html: str) -> str:
    """Drop tags nested deeper than MAX_NESTING (and their end tags); the text inside stays.

    Only a pre-pass: nh3 still parses and sanitizes whatever comes out of it.
    """
    open_tags: list[str] = []
    dropped: Counter[str] = Counter()

    def keep_or_drop(tag: re.Match[str]) -> str:
        closing, name = tag[1] == "/", tag[2].lower()
        if name in VOID_TAGS:  # "<div/>" still opens a div in HTML
            return tag[0]
        if closing:
            return _close(name, open_tags, dropped, tag[0])
        if len(open_tags) >= MAX_NESTING:
            dropped[name] += 1
            return ""
        open_tags.append(name)
        return tag[0]

    return _TAG_RE.sub(keep_or_drop, html)


def _close(name: str, open_tags: list[str], dropped: Counter[str], text: str) -> str:
    """An end tag: dropped with its dropped start tag, else it closes the innermost open tag of its name."""
    if dropped[name]:
        dropped[name] -= 1
        return ""
    if name in open_tags:
        del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name) :]
    return text


def _inert_url(tag: str, attribute: str, value: str, own_hosts: frozenset[str]) -> str | None:
    """Keep a URL unless loading or following it would call this hub's API or count a download.

    Images load on every view, so only absolute URLs to other hosts stay; links stay unless they
    lead to an API or download route of this hub.
    """
    if (tag, attribute) not in (("img", "src"), ("a", "href")):
        return value
    url = _as_browsers_read(value)
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2].lower()
    same_origin = not host or host in own_hosts or (parts.hostname or "") in own_hosts
    if not same_origin or parts.scheme == "mailto" or url.startswith("#"):
        return value
    if tag == "img":
        return None
    paths = (unquote(urlsplit(urljoin(base, url)).path) for base in _PAGE_PATHS)
    return None if any(_HUB_ROUTE_RE.match(path) for path in paths) else value


def _as_browsers_read(url: str) -> str:
    """Browsers drop tabs and newlines inside a URL, trim controls and spaces, and read \\ as /."""
    return url.translate(_URL_NOISE).strip(_C0_AND_SPACE).replace("\\", "/")


def card_summary(text: str, limit: int = 160) -> str:
    """The first paragraph of plain prose, for result lists."""
    for block in strip_front_matter(text or "").split("\n\n"):
        line = " ".join(block.replace("`", "").replace("**", "").split())  # plain text: no markdown marks
        if line and not line.startswith(("#", "```", "<", "|", "-", "*", ">")):
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""
