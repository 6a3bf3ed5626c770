"""Article excerpts in headless Chromium: images, inline collapses, skipped text on demand, on a standalone page."""

import pytest
from playwright.sync_api import expect

from content_loader.tests.factories import LensFactory
from learn.links import standalone_lens_url
from learn.segments import SKIPPED_INLINE_LIMIT
from learn.tests.factories import body_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lens():
    excerpt = (
        '<p>Before the chart <span class="collapse">folded words</span> and after.</p>'
        '<p><img loading="lazy" decoding="async" referrerpolicy="no-referrer" src="https://images.example.org/chart.png"'
        ' alt="A chart of compute"></p>'
    )
    article = {"title": "Long read", "authors": ["A. Writer"], "source_url": "", "published": "", "path": ""}
    segment = {
        "type": "article",
        "index": 0,
        "line": 5,
        "optional": False,
        "article": article,
        "before_html": "",
        "excerpt_html": excerpt,
        "after_html": "<p>" + "more " * (SKIPPED_INLINE_LIMIT // 4) + "LAST-WORDS</p>",
        "text": "",
        "word_count": 9,
    }
    return LensFactory(title="Reading with pictures", body=body_of(segment))


def test_an_excerpt_folds_collapses_loads_skipped_text_and_never_shows_a_broken_image(
    lens, live_server, browser_context_factory
):
    """On the lens's own page: an image that cannot load gives way to its description, an inline collapse
    is folded behind "…" until clicked, the long skipped text loads when opened, and "Mark complete" works."""
    page = browser_context_factory().new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + standalone_lens_url(lens.pk, lens.title))
    page.wait_for_load_state("load")

    expect(page.locator(".image-fallback")).to_have_text("Image: A chart of compute (open it)")
    expect(page.locator(".prose img")).to_have_count(0)

    folded = page.locator(".collapse__text")
    expect(folded).to_be_hidden()
    page.get_by_role("button", name="Show the collapsed text").click()
    expect(folded).to_be_visible()
    expect(folded).to_have_text("folded words")

    expect(page.get_by_text("LAST-WORDS")).to_have_count(0)
    page.get_by_text("Show skipped text").click()
    expect(page.locator(".skipped__text")).to_contain_text("LAST-WORDS")

    page.get_by_role("button", name="Mark complete").click()
    expect(page.locator("#complete")).to_contain_text("Completed")
    assert errors == []
