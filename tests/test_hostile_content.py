"""Content files with hostile Markdown and HTML are stored and shown escaped or sanitised.

A vault whose lens, titles and links carry script tags, event handlers, javascript: and data: links,
frames, SVG, styles, forms, entities that spell tags, unclosed tags and deep nesting is synced with
`sync_content`. Every piece of HTML stored in the registry, and every page that shows the lens, is then
parsed: only harmless tags, no event-handler or style attribute, and links and images only to http(s),
mailto or this site.
"""

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from content_loader.models import ContentItem, ModuleEntry
from content_loader.sync import sync_content
from content_loader.tests.vaults import LENS_A, LENS_B, basic_vault, lens

pytestmark = pytest.mark.django_db

HOSTILE = "\n\n".join(
    [
        "<script>alert('script')</script>",
        "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
        "[plain js](javascript:alert('link'))",
        "[upper js](JAVASCRIPT:alert('link'))",
        "[tab js](java\tscript:alert('link'))",
        "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[vb](vbscript:msgbox('x'))",
        "<a href=\"javascript:alert('raw')\">raw link</a>",
        "<a href=\"&#106;avascript:alert('entity')\">entity link</a>",
        "<img src=x onerror=alert('img')>",
        "![image js](javascript:alert('img'))",
        '<iframe src="https://evil.example/"></iframe>',
        "<svg onload=alert('svg')><script>alert('in svg')</script></svg>",
        "<math><mi xlink:href=\"javascript:alert('math')\">x</mi></math>",
        "<style>body { display: none }</style>",
        "<div style=\"background:url(javascript:alert('style'))\">styled</div>",
        '<form action="https://evil.example/"><input name="password"><button>Go</button></form>',
        '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
        '<base href="https://evil.example/">',
        '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">',
        "<details open ontoggle=alert('details')><summary>s</summary>d</details>",
        "&lt;script&gt;alert('entity text')&lt;/script&gt;",
        "<div><b><i>unclosed tags",
        "<p title='\"><script>alert(1)</script>'>attribute breakout</p>",
        "[[../Lenses/B|<script>alert('alias')</script>]]",
        "> " * 300 + "deeply quoted",
        "<div>" * 2000 + "deep divs",
        "- " * 200 + "deep list",
        "*" * 5000 + "emphasis storm",
    ]
)

ALLOWED_SCHEMES = {"", "http", "https", "mailto"}
FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "svg",
    "math",
    "style",
    "form",
    "input",
    "button",
    "meta",
    "base",
    "object",
    "embed",
    "link",
}


# What a whole page of the site itself may hold: its own scripts and styles, its forms, the YouTube player.
PAGE_ALLOWANCES = {
    "script": lambda attrs: (attrs.get("src") or "").startswith("/static/"),
    "link": lambda attrs: (attrs.get("href") or "").startswith("/static/"),
    "meta": lambda attrs: "http-equiv" not in attrs,
    "iframe": lambda attrs: (attrs.get("src") or "").startswith("https://www.youtube-nocookie.com/"),
    "form": lambda attrs: (attrs.get("action") or "/").startswith("/") and not attrs.get("action", "").startswith("//"),
    "input": lambda attrs: True,
    "button": lambda attrs: True,
}


class Audit(HTMLParser):
    """Collects what would be dangerous in a piece of HTML as a browser would parse it."""

    def __init__(self, *, page: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.allowances = PAGE_ALLOWANCES if page else {}
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        if tag in FORBIDDEN_TAGS:
            allowed = self.allowances.get(tag)
            if not (allowed and allowed(dict(attrs))):
                self.problems.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            if name.startswith(("on", "xlink")) or name == "style":
                self.problems.append(f"{tag} {name}={value!r}")
            if name in {"href", "src", "action", "formaction", "data", "srcset"} and value is not None:
                scheme = urlsplit(value.strip().replace("\t", "").replace("\n", "")).scheme.lower()
                if scheme not in ALLOWED_SCHEMES:
                    self.problems.append(f"{tag} {name}={value!r}")

    def handle_endtag(self, tag):
        self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append(f"inline script {data[:80]!r}")


def problems(html: str, **kwargs) -> list[str]:
    audit = Audit(**kwargs)
    audit.feed(html)
    audit.close()
    return audit.problems


def stored_html(value, key: str = "") -> list[str]:
    """Every HTML string of a stored body (keys ending in `html`; the plain-text ones are escaped when shown)."""
    if isinstance(value, dict):
        return [html for name, item in value.items() for html in stored_html(item, name)]
    if isinstance(value, list):
        return [html for item in value for html in stored_html(item, key)]
    return [value] if isinstance(value, str) and key.endswith("html") else []


@pytest.fixture
def hostile_vault(tmp_path):
    """The basic test vault, with lens A full of hostile markup and a hostile title."""
    files = basic_vault()
    files["Lenses/A.md"] = lens(LENS_A, HOSTILE, title="<script>alert('title')</script> Lens A")
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    report = sync_content(tmp_path)
    assert ContentItem.objects.filter(pk=LENS_A).exists(), report
    return ContentItem.objects.get(pk=LENS_A)


def test_sync_stores_only_sanitised_html(hostile_vault):
    """The stored lens has its text, and no HTML in it could run a script, load a frame or restyle the
    page; text that spelled a tag with entities stays text."""
    pieces = stored_html(hostile_vault.body)
    assert pieces, "the hostile text produced no HTML at all"
    for piece in pieces:
        assert problems(piece) == [], piece[:500]
    html = "".join(pieces)
    assert "&lt;script&gt;alert" in html  # the entity text is still shown as text


def test_the_wikilink_alias_and_title_are_text(hostile_vault):
    """The hostile alias of a wikilink and a hostile title are kept as text, never as a tag."""
    assert hostile_vault.title.startswith("<script>")  # stored as written; templates escape it
    assert str(LENS_B) in json.dumps(hostile_vault.body)
    assert "&lt;script&gt;alert('alias')&lt;/script&gt;</a>" in "".join(stored_html(hostile_vault.body))


def lens_pages(item: ContentItem) -> list[str]:
    """The module viewer page that shows the lens."""
    entry = ModuleEntry.objects.select_related("module").filter(item=item).first()
    course = ContentItem.objects.filter(content_type="course").first()
    return [
        reverse("learn:lens", kwargs={"course_slug": course.slug, "module_slug": entry.module.slug, "lens_id": item.pk})
    ]


def test_pages_show_the_hostile_lens_escaped(hostile_vault):
    """Every page that shows the lens renders its title and text without a live script, handler or frame:
    only the site's own scripts, styles and forms and the privacy-enhanced YouTube player."""
    client = Client()
    for path in lens_pages(hostile_vault):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert problems(html, page=True) == [], path
        assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt; Lens A" in html, path
