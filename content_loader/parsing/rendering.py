"""Markdown to safe HTML, with the vault's extensions.

Markdown is rendered with markdown-it-py (CommonMark plus tables, strikethrough and footnotes); raw HTML
in the source is allowed through the parser and then sanitised with nh3, so `<sup>` survives and
`<script>`, event handlers and `javascript:` links do not. On top of Markdown:

- wikilinks `[[path|text]]` and `![[path]]` become links to the content item they name
  (`<a class="content-link" data-content-id="UUID" href="#content-UUID">`, with `data-target-kind` when
  the file named is an article or transcript and the UUID that of the lens excerpting it), or plain text
  when they name nothing a learner can open; `::card[[path]]` becomes a card link (`class="content-card"`).
  Pages turn these into links to the item's page (learn/links.py);
- headings nest under the page's h1: the first one of a piece is an `<h2>` and none skips a level
  (`# A` / `### B` become `<h2>` / `<h3>`);
- article directives: `:::collapse` blocks become `<details class="collapse">` labelled by their heading
  (or `:::collapse Label`), inline `:collapse[...]` becomes `<span class="collapse">` (a `<details>` cannot
  sit inside a paragraph; the page's script folds it behind "…"), `:::note` blocks `<aside class="note">`,
  `:note[...]` `<span class="note">` and `::note[...]` a note on its own line, each starting with a "Note"
  label; `:footnote[...]` is a footnote of the course team: a marker `[a]` in the text and the note in a
  list after the text. Directives nest. A `:::name` block or `::name[...]` the format does not know shows
  its content as text (`class="directive"`), never the raw directive; sync reports the name.

`render_markdown(..., id_prefix=, base_url=)` also makes the result safe to put on a page with other
pieces: every `id` gets the prefix (so two excerpts' footnotes do not collide, and no id of the page
itself can be taken), in-page links `#x` follow, a link to an anchor that is not in the piece goes to
the original (`base_url#x`), relative links and images resolve against `base_url`, and images load
lazily without sending a referrer.
"""

from __future__ import annotations

import functools
import html
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urljoin

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

_DIRECTIVE = re.compile(r":{1,2}(collapse|note|footnote)\[")
_KNOWN_BLOCKS = {"collapse", "note"}
_UNKNOWN_BLOCK = re.compile(r"^\s*([A-Za-z][\w-]*)")
_UNKNOWN_LEAF = re.compile(r"::([A-Za-z][\w-]*)\[")
_CARD = re.compile(r"::card\[\[([^\[\]\n]+)\]\]")
_WIKILINK = re.compile(r"!?\[\[([^\[\]|#\n]*)(#[^\[\]|\n]*)?(?:\|([^\[\]\n]*))?\]\]")
# Left out of plain text (the tutor's prompt, question keys): labels the renderer adds, not the authors' words.
_NOT_TEXT = re.compile(
    r"<summary>[^<]*</summary>|<a [^>]*footnote-backref[^>]*>.*?</a>"
    r"|<(?:span|p) class=\"note__label\">[^<]*</(?:span|p)>"
    r"|<p class=\"lens-footnotes__title\">[^<]*</p>|<span class=\"lens-footnote__marker\">[^<]*</span>"
)
_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|blockquote|div|details|summary|aside|tr|pre)>|<br\s*/?>")

_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"details", "summary", "aside", "section"}
_ATTRIBUTES = {
    "*": {"class", "id"},  # ids are prefixed after cleaning (`localize`), so none can take one of the page's
    "a": {"href", "title", "data-content-id", "data-target-kind"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
}


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """Where a wikilink goes: a content item (by UUID), the text to show, and what the file named is when
    that is not the item itself (`"article"`, `"video"`: the item is the lens that excerpts it)."""

    content_id: str | None
    text: str
    kind: str = ""


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
    if state.src[start] != ":":
        return False
    if not state.src.startswith(_DIRECTIVE_STARTS, start):
        return _unknown_leaf(state, silent)
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
        # `::note[...]` at the start of a line is a note of its own line
        token.meta = {
            "name": name,
            "line": state.src.startswith("::", start) and (start == 0 or state.src[start - 1] == "\n"),
        }
        old_max = state.posMax
        state.pos = label_start
        state.posMax = label_end
        state.md.inline.tokenize(state)
        state.posMax = old_max
        token = state.push("directive_close", "", -1)
        token.meta = {"name": name}
    state.pos = label_end + 1
    return True


def _unknown_leaf(state: StateInline, silent: bool) -> bool:
    """`::name[text]` with a name the format does not know: its text, never the raw directive (sync reports
    the name)."""
    start = state.pos
    match = _UNKNOWN_LEAF.match(state.src, start, state.posMax)
    if match is None or match.group(1) == "card":
        return False
    label_end = state.md.helpers.parseLinkLabel(state, match.end() - 1, False)
    if label_end < 0:
        return False
    if not silent:
        token = state.push("directive_open", "", 1)
        token.meta = {"name": "unknown"}
        old_max = state.posMax
        state.pos = match.end()
        state.posMax = label_end
        state.md.inline.tokenize(state)
        state.posMax = old_max
        token = state.push("directive_close", "", -1)
        token.meta = {"name": "unknown"}
    state.pos = label_end + 1
    return True


def _render_directive(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    name = token.meta["name"]
    if name == "unknown":
        return '<span class="directive">' if token.nesting == 1 else "</span>"
    if name == "note":
        if token.nesting == -1:
            return "</span>"
        css = "note note--line" if token.meta.get("line") else "note"
        return f'<span class="{css}"><span class="note__label">Note:</span> '
    return '<span class="collapse">' if token.nesting == 1 else "</span>"


def _lens_footnotes(state: StateCore) -> None:
    """Move each `:footnote[...]` out of the text into a list after it, leaving a marker `[a]` behind."""
    if ":footnote[" not in state.src:  # the only way a footnote directive is written
        return
    notes: list[list[Token]] = []
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        index = 0
        while index < len(block.children):
            token = block.children[index]
            if token.type == "directive_open" and token.meta["name"] == "footnote":
                depth, end = 1, index + 1
                while end < len(block.children) and depth:
                    depth += block.children[end].nesting if block.children[end].type.startswith("directive") else 0
                    end += 1
                notes.append(block.children[index + 1 : end - 1])
                ref = Token("lens_footnote_ref", "", 0)
                ref.meta = {"number": len(notes)}
                children.append(ref)
                index = end
                continue
            children.append(token)
            index += 1
        block.children = children
    if notes:
        token = Token("lens_footnotes", "", 0, block=True)
        token.meta = {"notes": notes}
        state.tokens.append(token)


def _note_marker(number: int) -> str:
    """a, b, ..., z, aa, ab, ...: course-team footnotes are lettered, the article's own are numbered."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = string.ascii_lowercase[rest] + letters
    return letters


def _render_lens_footnote_ref(self, tokens, idx, options, env) -> str:
    marker = _note_marker(tokens[idx].meta["number"])
    return (
        f'<sup class="footnote-ref lens-footnote-ref"><a href="#lfn-{marker}" id="lfnref-{marker}">[{marker}]</a></sup>'
    )


def _render_lens_footnotes(self, tokens, idx, options, env) -> str:
    items = []
    for number, children in enumerate(tokens[idx].meta["notes"], start=1):
        marker = _note_marker(number)
        text = self.renderInline(children, options, env)
        items.append(
            f'<li id="lfn-{marker}" class="lens-footnote"><span class="lens-footnote__marker">[{marker}]</span> '
            f'{text} <a href="#lfnref-{marker}" class="footnote-backref">↩</a></li>'
        )
    return (
        '<section class="footnotes lens-footnotes"><p class="lens-footnotes__title">Notes from the course team</p>'
        f'<ol class="lens-footnotes__list">{"".join(items)}</ol></section>\n'
    )


def _nest_headings(state: StateCore) -> None:
    """Headings of a piece nest under the page's own h1: the first is an h2, none skips a level."""
    previous = 1
    shift = None
    for token in state.tokens:
        if token.type not in ("heading_open", "heading_close"):
            continue
        level = int(token.tag[1])
        if token.type == "heading_open":
            if shift is None:
                shift = level - 2
            level = max(2, min(level - shift, previous + 1, 6))
            previous = level
        else:
            level = previous
        token.tag = f"h{level}"


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
    kind = f' data-target-kind="{html.escape(found.kind)}"' if found.kind else ""
    return f'<a class="{css}" data-content-id="{cid}"{kind} href="#content-{cid}">{html.escape(label)}</a>'


def _render_collapse(self, tokens, idx, options, env) -> str:
    """A collapsed block, labelled by `:::collapse Label`, else by the heading it starts with (shown once:
    as the label, not again inside; its text stays in the plain text, unlike the renderer's own labels)."""
    if tokens[idx].nesting == -1:
        return "</details>\n"
    label = tokens[idx].info.strip().removeprefix("collapse").strip()
    if label:
        return f'<details class="collapse"><summary>{html.escape(label)}</summary>\n'
    if idx + 3 < len(tokens) and tokens[idx + 1].type == "heading_open":
        heading = self.renderInline(tokens[idx + 2].children or [], options, env).strip()
        tokens[idx + 1].hidden = tokens[idx + 3].hidden = True
        tokens[idx + 2].children = []
        if heading:
            return f'<details class="collapse"><summary class="collapse__heading">{heading}</summary>\n'
    return '<details class="collapse"><summary>Show the collapsed text</summary>\n'


def _is_unknown_block(params: str, *args) -> bool:
    match = _UNKNOWN_BLOCK.match(params)
    return match is not None and match.group(1) not in _KNOWN_BLOCKS


def _render_unknown_block(self, tokens, idx, options, env) -> str:
    """A `:::name` block the format does not know: its content as text (sync reports the name)."""
    return '<div class="directive">\n' if tokens[idx].nesting == 1 else "</div>\n"


def _render_note(self, tokens, idx, options, env) -> str:
    if tokens[idx].nesting == -1:
        return "</aside>\n"
    return '<aside class="note"><p class="note__label">Note</p>\n'


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    # Long articles repeat the same URLs; normalising each once is a measurable share of rendering.
    md.normalizeLink = functools.lru_cache(maxsize=65536)(md.normalizeLink)  # type: ignore[method-assign]
    md.use(footnote_plugin)
    md.use(container_plugin, name="collapse", render=_render_collapse)
    md.use(container_plugin, name="note", render=_render_note)
    md.use(container_plugin, name="directive", validate=_is_unknown_block, render=_render_unknown_block)
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.inline.ruler.before("link", "directive", _directive_rule)
    md.add_render_rule("wikilink", _render_link)
    md.add_render_rule("wikicard", _render_link)
    md.add_render_rule("directive_open", _render_directive)
    md.add_render_rule("directive_close", _render_directive)
    md.core.ruler.push("lens_footnotes", _lens_footnotes)  # after the article's own footnotes
    md.core.ruler.push("nest_headings", _nest_headings)
    md.add_render_rule("lens_footnote_ref", _render_lens_footnote_ref)
    md.add_render_rule("lens_footnotes", _render_lens_footnotes)
    md.use(anchors_plugin, min_level=1, max_level=6)  # in-article links to a heading (`#section-one`) find it
    return md


_MD = _build()


def render_markdown(
    text: str, *, resolve_link: LinkResolver | None = None, id_prefix: str = "c-", base_url: str = ""
) -> str:
    """Safe HTML for a piece of vault Markdown, its ids prefixed and its links resolved (see `localize`)."""
    if not text.strip():
        return ""
    return localize(sanitize(_MD.render(text, {"resolve_link": resolve_link})), id_prefix=id_prefix, base_url=base_url)


# Only the tags `localize` changes: those with an id, a link or a source (most tags have none, and a call each
# for them was a measurable share of a sync). A tag holds no `<` or `>`, so these are the same matches.
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b([^<>]* (?:id|href|src)=[^<>]*)>")
_ID_ATTR = re.compile(r'\sid="([^"]*)"')
_ID_VALUE = re.compile(r'id="([^"]*)"')  # `_ID_ATTR` without the space before it: a literal to look for, fast
_URL_ATTR = re.compile(r'\s(href|src)="([^"]*)"')
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SAFE_SCHEMES = {"http", "https", "mailto"}  # as `sanitize` allows
_KEPT_AS_IS = frozenset("&<>'\"\\")  # a URL holding none of these is written back as it was read


def localize(markup: str, *, id_prefix: str, base_url: str = "") -> str:
    """Make sanitised HTML one piece of a page: ids prefixed, links and images resolved.

    - every `id` gets `id_prefix`, and `href="#x"` follows when `x` is an id of this piece; an anchor that
      is not here leads to the original at `base_url#x`, or is no link at all without a `base_url`;
    - relative links and image sources resolve against `base_url` (the article's `source_url`); without
      one, a relative link is dropped (it would lead to a page of this site that does not exist);
    - images come over HTTPS, load lazily and send no referrer (the Content-Security-Policy allows
      HTTPS images, see settings.py).
    `#content-UUID` links (wikilinks, rewritten by the pages) are left alone.
    """
    if not markup:
        return markup
    ids = {html.unescape(value) for value in _ids(markup)}
    origin = base_url.split("#", 1)[0].strip()
    if not origin.lower().startswith(("https://", "http://")):
        origin = ""  # this runs after sanitising: a `javascript:` source_url must not become a link

    def fix_url(attribute: str, value: str, tag: str) -> str | None:
        # Some exported articles escape the quotes of raw HTML attributes (`href=\"https://...\"`).
        url = html.unescape(value).strip().strip("\\\"' ")
        if attribute == "href" and url.startswith("#"):
            if url.startswith("#content-"):
                return url
            anchor = url[1:]
            if anchor in ids or unquote(anchor) in ids:
                return "#" + id_prefix + (anchor if anchor in ids else unquote(anchor))
            return f"{origin}{url}" if origin and anchor else None
        if url.startswith("//"):
            url = "https:" + url
        elif not _SCHEME.match(url):
            if not origin or not url:
                return None
            url = urljoin(origin, url)
        if attribute == "src" and url.startswith("http://"):
            url = "https://" + url.removeprefix("http://")  # the policy allows HTTPS images only
        if url.split(":", 1)[0].lower() not in _SAFE_SCHEMES:
            return None
        return url

    def fix_tag(match: re.Match[str]) -> str:
        name, attributes = match.group(1).lower(), match.group(2)
        if name != "img" and 'id="' not in attributes and all(map(_kept_as_is, _URL_ATTR.finditer(attributes))):
            return match.group(0)  # most tags: a link to a page elsewhere, which nothing here changes
        attributes = _ID_ATTR.sub(lambda m: f' id="{html.escape(id_prefix + html.unescape(m.group(1)))}"', attributes)

        def url(m: re.Match[str]) -> str:
            fixed = fix_url(m.group(1), m.group(2), name)
            return "" if fixed is None else f' {m.group(1)}="{html.escape(fixed)}"'

        attributes = _URL_ATTR.sub(url, attributes)
        if name == "img":
            attributes = ' loading="lazy" decoding="async" referrerpolicy="no-referrer"' + attributes
        return f"<{match.group(1)}{attributes}>"

    return _TAG.sub(fix_tag, markup)


def _ids(markup: str) -> list[str]:
    """The values of `_ID_ATTR` in `markup`, found as a literal and then checked for the space before it."""
    return [m.group(1) for m in _ID_VALUE.finditer(markup) if m.start() and markup[m.start() - 1].isspace()]


def _kept_as_is(match: re.Match[str]) -> bool:
    """Whether `localize` writes this `href`/`src` back unchanged: an absolute http(s) URL (HTTPS for an
    image source) after a plain space, with nothing to unescape, strip or escape again."""
    space, attribute, url = match.group(0)[0], match.group(1), match.group(2)
    return (
        space == " "
        and url.startswith("https://" if attribute == "src" else ("https://", "http://"))
        and not url[-1].isspace()
        and _KEPT_AS_IS.isdisjoint(url)
    )


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
    text = html.unescape(nh3.clean(_BLOCK_END.sub("\n", _NOT_TEXT.sub("", markup)), tags=set()))
    # Every run of spaces and tabs becomes one space (never across a line break: the same as line by line), by
    # a few passes of `replace`: a regex pass over all the text was half of this function's time.
    if "\t" in text:
        text = text.replace("\t", " ")
    while "  " in text:
        text = text.replace("  ", " ")
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def word_count(text: str) -> int:
    return len(text.split())
