"""Wikilinks and cards inside lenses open their targets' pages, from wherever the lens is read."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from content_loader import kept
from content_loader.models import ModuleEntry
from content_loader.tests.factories import CourseFactory, LearningOutcomeFactory, LensFactory, make_course, make_module
from learn.links import standalone_lens_url

pytestmark = pytest.mark.django_db


def link(target, text: str, *, card: bool = False, kind: str = "") -> str:
    """A link as the loader stores it (content_loader/parsing/rendering.py)."""
    css = "content-card" if card else "content-link"
    kind_attr = f' data-target-kind="{kind}"' if kind else ""
    return f'<a class="{css}" data-content-id="{target}"{kind_attr} href="#content-{target}">{text}</a>'


def text_lens(html: str, **kwargs):
    return LensFactory(
        body={
            "tldr": kwargs.pop("tldr", ""),
            "segments": [{"type": "text", "index": 0, "line": 5, "optional": False, "html": html, "text": ""}],
        },
        **kwargs,
    )


def place(module, lens) -> None:
    position = ModuleEntry.objects.filter(module=module).count()
    ModuleEntry.objects.create(module=module, position=position, item=lens)


def lens_page(course, module, lens) -> str:
    return reverse("learn:lens", kwargs={"course_slug": course.slug, "module_slug": module.slug, "lens_id": lens.pk})


def hrefs(html: str) -> dict[str, str]:
    """Link text -> href of the content links of a page."""
    return {
        re.sub(r"<[^>]+>", "", text): href
        for href, text in re.findall(
            r'<a class="content-(?:link|card)" href="([^"]+)"(?: hx-get="[^"]+")?>(.*?)</a>', html, re.S
        )
    }


@pytest.fixture
def world():
    """Course `light` with modules `intro` and `colours`; course `other` with module `far`; a lens in no module."""
    intro = make_module(lenses=2, slug="intro", title="Introduction")
    colours = make_module(lenses=2, slug="colours", title="Colours")
    far = make_module(lenses=1, slug="far", title="Far away")
    light = make_course(units=[[intro, colours]], slug="light", title="Light")
    other = make_course(units=[[far]], slug="other", title="Other")
    loose = LensFactory(title="A lens of its own", body={"tldr": "Read me on my own.", "segments": []})
    return {"intro": intro, "colours": colours, "far": far, "light": light, "other": other, "loose": loose}


def entries(module) -> list:
    return [entry.item for entry in ModuleEntry.objects.filter(module=module).order_by("position")]


def test_links_open_in_the_module_and_course_being_read_else_the_standalone_page(client, world):
    """A lens of this module opens here (swapped into the viewer by htmx, like the drawer's links), one of
    another module of this course opens in it, any other lens opens its standalone page; modules and
    courses open their own pages."""
    here, _ = entries(world["intro"])
    sibling = entries(world["colours"])[0]
    far_lens = entries(world["far"])[0]
    reader = text_lens(
        "<p>"
        + " ".join(
            [
                link(here.pk, "here"),
                link(sibling.pk, "sibling"),
                link(far_lens.pk, "far lens"),
                link(world["loose"].pk, "loose"),
                link(world["far"].pk, "far module"),
                link(world["light"].pk, "this course"),
            ]
        )
        + "</p>"
    )
    place(world["intro"], reader)
    html = client.get(lens_page(world["light"], world["intro"], reader)).content.decode()
    found = hrefs(html)
    assert found["here"] == lens_page(world["light"], world["intro"], here)
    assert found["sibling"] == lens_page(world["light"], world["colours"], sibling)
    assert found["far lens"] == standalone_lens_url(far_lens.pk, far_lens.title)
    assert found["loose"] == standalone_lens_url(world["loose"].pk, "A lens of its own")
    assert found["far module"] == reverse("learn:module", kwargs={"course_slug": "other", "module_slug": "far"})
    assert found["this course"] == reverse("learn:course", args=["light"])
    assert "#content-" not in html
    here_url = lens_page(world["light"], world["intro"], here)
    assert f'<a class="content-link" href="{here_url}" hx-get="{here_url}">here</a>' in html
    assert len(re.findall(r'class="content-link" href="[^"]+" hx-get=', html)) == 1  # only the one of this module


def test_a_card_shows_what_the_target_is_its_title_and_tldr(client, world):
    """`::card` is one link holding the target's kind, its current title and its tldr; an article's card
    names the article and leads to the lens that excerpts it."""
    loose = world["loose"]
    reader = text_lens(
        link(loose.pk, "Old title", card=True) + link(loose.pk, "On Scattering", card=True, kind="article")
    )
    place(world["intro"], reader)
    html = client.get(lens_page(world["light"], world["intro"], reader)).content.decode()
    url = standalone_lens_url(loose.pk, loose.title)
    assert (
        f'<a class="content-card" href="{url}"><span class="content-card__kind">Lens</span>'
        '<span class="content-card__title">A lens of its own</span>'
        '<span class="content-card__tldr">Read me on my own.</span></a>'
    ) in html
    assert (
        f'<a class="content-card" href="{url}"><span class="content-card__kind">Article</span>'
        '<span class="content-card__title">On Scattering</span></a>'
    ) in html


def test_a_learning_outcome_opens_where_its_lens_is_placed(client, world):
    """A link to a learning outcome opens its first lens where the course places it."""
    outcome = LearningOutcomeFactory(title="Explain scattering")
    target = entries(world["colours"])[1]
    ModuleEntry.objects.filter(module=world["colours"], item=target).update(learning_outcome=outcome)
    reader = text_lens(link(outcome.pk, "the outcome"))
    place(world["intro"], reader)
    html = client.get(lens_page(world["light"], world["intro"], reader)).content.decode()
    assert hrefs(html)["the outcome"] == lens_page(world["light"], world["colours"], target)


def test_what_learners_cannot_open_is_text_not_a_dead_link(client, world):
    """A retired target, a draft, a module placed in no course and an unknown UUID are shown as text."""
    retired = LensFactory(retired_at=timezone.now())
    draft = LensFactory(is_draft=True)
    lonely_module = make_module(lenses=1, slug="lonely")
    unknown = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    reader = text_lens(
        link(retired.pk, "retired")
        + link(draft.pk, "draft", card=True)
        + link(lonely_module.pk, "lonely")
        # an unknown UUID, as left by a lens renamed away since the last sync
        + link(unknown, "unknown")
    )
    place(world["intro"], reader)
    html = client.get(lens_page(world["light"], world["intro"], reader)).content.decode()
    assert '<span class="content-link unresolved">retired</span>' in html
    assert '<span class="content-card unresolved">draft</span>' in html
    assert '<span class="content-link unresolved">lonely</span>' in html
    assert '<span class="content-link unresolved">unknown</span>' in html
    assert "#content-" not in html


def test_standalone_page_links_open_lenses_where_they_are_placed(client, world):
    """Read outside any module, a link to a lens placed in a course still opens it standalone, and a
    module opens in the first course that has it."""
    placed = entries(world["colours"])[0]
    reader = text_lens(link(placed.pk, "placed") + link(world["colours"].pk, "module"), title="Reader")
    html = client.get(standalone_lens_url(reader.pk, "Reader")).content.decode()
    found = hrefs(html)
    assert found["placed"] == standalone_lens_url(placed.pk, placed.title)
    assert found["module"] == reverse("learn:module", kwargs={"course_slug": "light", "module_slug": "colours"})


def count_queries(client, url: str) -> int:
    """The page's queries the first time it is shown after a sync (learn.fragments keeps nothing yet)."""
    kept.memo.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_resolving_links_costs_the_same_queries_for_one_link_or_sixty(client, world):
    """A lens page's query count does not grow with the number of links and cards on it, nor with
    the number of courses and modules they point into."""
    client.get("/")

    def reader_with(count: int):
        targets = []
        for number in range(count):
            module = make_module(lenses=1, slug=f"m{count}-{number}")
            make_course(units=[[module]], slug=f"c{count}-{number}")
            targets += [entries(module)[0], module]
        html = "".join(link(t.pk, f"t{n}", card=n % 2 == 0) for n, t in enumerate(targets))
        reader = text_lens(html + link(world["loose"].pk, "loose") + link(CourseFactory().pk, "course"))
        place(world["intro"], reader)
        return reader

    small, large = reader_with(1), reader_with(30)
    small_count = count_queries(client, lens_page(world["light"], world["intro"], small))
    large_count = count_queries(client, lens_page(world["light"], world["intro"], large))
    assert large_count == small_count
    no_links = text_lens("<p>No links.</p>")
    place(world["intro"], no_links)
    # 6 for the page (one of them: is the learner's token claimed); links add 3: the
    # items, their lens placements, their modules' courses
    assert count_queries(client, lens_page(world["light"], world["intro"], no_links)) == 6
    assert small_count == large_count == 9
