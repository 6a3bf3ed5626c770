"""Markdown to safe HTML, with the vault's extensions.

Markdown is rendered with markdown-it-py (CommonMark plus tables, strikethrough and footnotes); raw HTML
in the source is allowed through the parser and then sanitised with nh3, so `<sup>` survives and
`<script>`, event handlers and `javascript:` links do not. On top of Markdown:

- wikilinks `[[path|text]]` and `![[path]]` become links to the content item they name
  (`<a class="content-link" data-content-id="UUID" href="#content-UUID">`), or plain text when they name
  something that is not a content item; `::card[[path]]` becomes a card link (`class="content-card"`);
- article directives: `:::collapse` blocks become `<details class="collapse">`, inline `:collapse[...]`
  becomes `<span class="collapse">` (a `<details>` cannot sit inside a paragraph), `:::note` blocks
  `<aside class="note">`, `:note[...]` and `::note[...]` `<span class="note">`, and `:footnote[...]`
  `<small class="lens-footnote">`. Directives nest.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

_DIRECTIVE = re.compile(r":{1,2}(collapse|note|footnote)\[")
_CARD = re.compile(r"::card\[\[([^\[\]\n]+)\]\]")
_WIKILINK = re.compile(r"!?\[\[([^\[\]|#\n]*)(#[^\[\]|\n]*)?(?:\|([^\[\]\n]*))?\]\]")
_NOT_TEXT = re.compile(r"<summary>…</summary>|<a [^>]*footnote-backref[^>]*>.*?</a>")
_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|blockquote|div|details|summary|aside|tr|pre)>|<br\s*/?>")

_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"details", "summary", "aside", "section"}
_ATTRIBUTES = {
    "*": {"class"},
    "a": {"href", "title", "data-content-id", "id"},
    "img": {"src", "alt", "title", "width", "height"},
    "li": {"id"},
    "sup": {"id"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
}


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """Where a wikilink goes: a content item (by UUID) and the text to show."""

    content_id: str | None
    text: str


# Given the link target as written, return where it goes (None: render the text only).
LinkResolver = Callable[[str], LinkTarget | None]


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if state.src[start] not in "[!":
        return False
    match = _WIKILINK.match(state.src, start, state.posMax)
    if match is None or state.src.startswith("(", match.end()):
        return False  # `[[1]](url)` is a Markdown link whose text is "[1]" (Wikipedia citations)
    if not silent:
        token = state.push("wikilink", "", 0)
        token.meta = {"target": match.group(1).strip(), "text": (match.group(3) or "").strip()}
    state.pos = match.end()
    return True


_DIRECTIVE_STARTS = (":collapse[", ":note[", ":footnote[", "::collapse[", "::note[", "::footnote[", "::card[[")


def _directive_rule(state: StateInline, silent: bool) -> bool:
    start = state.pos
    if state.src[start] != ":" or not state.src.startswith(_DIRECTIVE_STARTS, start):
        return False
    card = _CARD.match(state.src, start, state.posMax)
    if card is not None:
        if not silent:
            token = state.push("wikicard", "", 0)
            token.meta = {"target": card.group(1).split("|")[0].strip(), "text": ""}
        state.pos = card.end()
        return True
    match = _DIRECTIVE.match(state.src, start, state.posMax)
    if match is None:
        return False
    label_start = match.end()
    label_end = state.md.helpers.parseLinkLabel(state, label_start - 1, False)
    if label_end < 0:
        return False
    if not silent:
        name = match.group(1)
        token = state.push("directive_open", "", 1)
        token.meta = {"name": name}
        old_max = state.posMax
        state.pos = label_start
        state.posMax = label_end
        state.md.inline.tokenize(state)
        state.posMax = old_max
        token = state.push("directive_close", "", -1)
        token.meta = {"name": name}
    state.pos = label_end + 1
    return True


_INLINE_TAGS = {"collapse": ("span", "collapse"), "note": ("span", "note"), "footnote": ("small", "lens-footnote")}


def _render_directive(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    tag, css = _INLINE_TAGS[token.meta["name"]]
    return f'<{tag} class="{css}">' if token.nesting == 1 else f"</{tag}>"


def _render_link(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    target, text = token.meta["target"], token.meta["text"]
    resolver: LinkResolver | None = env.get("resolve_link") if isinstance(env, dict) else None
    found = resolver(target) if resolver else None
    label = text or (found.text if found else "") or target.rsplit("/", 1)[-1]
    css = "content-card" if token.type == "wikicard" else "content-link"
    if found is None or found.content_id is None:
        return f'<span class="{css} unresolved">{html.escape(label)}</span>'
    cid = html.escape(found.content_id)
    return f'<a class="{css}" data-content-id="{cid}" href="#content-{cid}">{html.escape(label)}</a>'


def _render_collapse(self, tokens, idx, options, env) -> str:
    if tokens[idx].nesting == 1:
        return '<details class="collapse"><summary>…</summary>\n'
    return "</details>\n"


def _render_note(self, tokens, idx, options, env) -> str:
    return '<aside class="note">\n' if tokens[idx].nesting == 1 else "</aside>\n"


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    # Long articles repeat the same URLs; normalising each once is a measurable share of rendering.
    md.normalizeLink = functools.lru_cache(maxsize=65536)(md.normalizeLink)  # type: ignore[method-assign]
    md.use(footnote_plugin)
    md.use(container_plugin, name="collapse", render=_render_collapse)
    md.use(container_plugin, name="note", render=_render_note)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.inline.ruler.before("link", "directive", _directive_rule)
    md.add_render_rule("wikilink", _render_link)
    md.add_render_rule("wikicard", _render_link)
    md.add_render_rule("directive_open", _render_directive)
    md.add_render_rule("directive_close", _render_directive)
    return md


_MD = _build()


def render_markdown(text: str, *, resolve_link: LinkResolver | None = None) -> str:
    """Safe HTML for a piece of vault Markdown."""
    if not text.strip():
        return ""
    return sanitize(_MD.render(text, {"resolve_link": resolve_link}))


def sanitize(markup: str) -> str:
    return nh3.clean(
        markup,
        tags=_ALLOWED_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def plain_text(markup: str) -> str:
    """The text of rendered HTML, one line per block."""
    text = nh3.clean(_BLOCK_END.sub("\n", _NOT_TEXT.sub("", markup)), tags=set())
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in html.unescape(text).split("\n"))
    return "\n".join(line for line in lines if line)


def word_count(text: str) -> int:
    return len(text.split())
