"""The real vault through the learner pages: no dead link, no blocked image, drafts kept from learners.

The vault is synced into the test database, then every published lens is read as a learner reads it, on
its standalone page and in every module of every course that places it; every link on those pages is
followed through the test client. Skips when the vault is not on this machine.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client

from content_loader.models import ContentItem, ContentType, CourseEntry, ModuleEntry
from content_loader.sync import sync_content
from devtools.corpus import real_vault
from learn.links import standalone_lens_url

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def synced_vault():
    path = real_vault()
    if path is None:
        pytest.skip("the real vault is not here (../shared/corpora/lens-edu-relay; set LENS_VAULT)")
    sync_content(path)
    return path


class PageParts(HTMLParser):
    """The ids, link targets, htmx URLs and image sources of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.hx_gets: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(values["id"])
        if tag == "a" and values.get("href") is not None:
            self.hrefs.append(values["href"])
        if values.get("hx-get"):
            self.hx_gets.append(values["hx-get"])
        if tag == "img":
            self.images.append(values.get("src") or "")


def parts(html: str) -> PageParts:
    parser = PageParts()
    parser.feed(html)
    return parser


def img_sources(policy: str) -> list[str]:
    for directive in policy.split(";"):
        name, *sources = directive.split()
        if name == "img-src":
            return sources
    return []


def image_allowed(src: str, sources: list[str]) -> bool:
    """Whether the Content-Security-Policy's img-src sources allow this image (on this site's pages)."""
    scheme = urlsplit(src).scheme
    if not scheme:
        return "'self'" in sources and not src.startswith("//")
    return f"{scheme}:" in sources or any(src.startswith(source) for source in sources if "//" in source)


def lens_pages() -> list[str]:
    """Every published lens on its standalone page, and in every module of every course placing it."""
    pages = [
        standalone_lens_url(pk, title)
        for pk, title in ContentItem.objects.published()
        .filter(content_type=ContentType.LENS)
        .values_list("pk", "title")
    ]
    courses_of: dict = {}
    for module_id, course_slug in CourseEntry.objects.filter(
        kind=CourseEntry.Kind.MODULE, course__is_draft=False, course__retired_at__isnull=True
    ).values_list("module_id", "course__slug"):
        courses_of.setdefault(module_id, []).append(course_slug)
    for module_id, module_slug, item_id in ModuleEntry.objects.filter(
        module__is_draft=False, module__retired_at__isnull=True, item__retired_at__isnull=True
    ).values_list("module_id", "module__slug", "item_id"):
        for course_slug in courses_of.get(module_id, []):
            pages.append(f"/courses/{course_slug}/modules/{module_slug}/lenses/{item_id}/")
    return list(dict.fromkeys(pages))


def test_every_link_on_every_published_lens_page_leads_somewhere(synced_vault):
    """Every href on every published lens page (standalone and in its modules) is a page that answers 200
    (after redirects) or an anchor whose id is on the page; external http(s) links are excepted. The
    skipped text that pages load on demand is checked the same way, and every image is one the page's
    Content-Security-Policy allows."""
    client = Client()
    client.get("/")
    status: dict[str, int] = {}

    def answers(path: str) -> int:
        if path not in status:
            status[path] = client.get(path, follow=True).status_code
        return status[path]

    pages = lens_pages()
    published_lenses = ContentItem.objects.published().filter(content_type=ContentType.LENS).count()
    assert published_lenses > 500 and len(pages) > published_lenses
    dead: list[tuple[str, str]] = []
    blocked: list[tuple[str, str]] = []
    links = images = 0

    def check(page: str, html: str, policy: str) -> None:
        nonlocal links, images
        found = parts(html)
        for href in found.hrefs:
            links += 1
            if href.startswith(("https://", "http://", "mailto:")):
                continue
            if href.startswith("#"):
                if href[1:] not in found.ids:
                    dead.append((page, href))
                continue
            # the query string is left out: it is `next=` (log in, sign up), which does not change the answer
            if answers(href.split("#", 1)[0].split("?", 1)[0]) != 200:
                dead.append((page, href))
        for src in found.images:
            images += 1
            if not image_allowed(src, img_sources(policy)):
                blocked.append((page, src))
        for url in found.hx_gets:
            if "/skipped-" in url:
                fragment = client.get(url, headers={"HX-Request": "true"})
                assert fragment.status_code == 200, url
                check(url, fragment.content.decode(), fragment["Content-Security-Policy"])

    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        check(page, response.content.decode(), response["Content-Security-Policy"])
    print(f"{len(pages)} lens pages, {links} links, {images} images")
    assert dead == []
    assert blocked == []
    assert images > 600


def test_a_draft_of_the_vault_is_previewed_by_staff_and_a_404_for_learners(synced_vault, admin_client):
    """A draft lens of the real vault is a 404 for a learner and shown to a superuser under a "Draft" banner."""
    draft = ContentItem.objects.active().filter(is_draft=True, content_type=ContentType.LENS).first()
    assert draft is not None, "the real vault's drafts are synced (unpublished): one lens at least"
    url = standalone_lens_url(draft.pk, draft.title)
    assert Client().get(url).status_code == 404
    preview = admin_client.get(url)
    assert preview.status_code == 200 and 'class="draft-banner"' in preview.content.decode()
