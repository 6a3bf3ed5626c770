"""The learner pages rendered by the server: course list, overview, module viewer, My progress."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from content_loader.models import ContentType, CourseEntry, ModuleEntry, SlugAlias
from content_loader.tests.factories import LensFactory, ModuleFactory, make_course, make_module
from learn.tests.factories import RichLensFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course():
    """A course of two units: `intro` (3 required + 1 optional lens) and `colours` (2), then `optics`."""
    intro = make_module(lenses=3, optional=1, slug="intro", title="Introduction to light")
    colours = make_module(lenses=2, slug="colours", title="Colours")
    optics = make_module(lenses=2, slug="optics", title="Optics")
    return make_course(units=[[intro, colours], [optics]], slug="light", title="Light")


def lens_ids(slug: str) -> list:
    return list(ModuleEntry.objects.filter(module__slug=slug).order_by("position").values_list("item_id", flat=True))


def lens_url(module: str, lens_id, course: str = "light") -> str:
    return reverse("learn:lens", kwargs={"course_slug": course, "module_slug": module, "lens_id": lens_id})


def complete_url(module: str, lens_id, course: str = "light") -> str:
    return reverse("learn:complete-lens", kwargs={"course_slug": course, "module_slug": module, "lens_id": lens_id})


def complete(client, module: str, lens_id, *, htmx: bool = True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(complete_url(module, lens_id), headers=headers)


def text(response) -> str:
    return response.content.decode()


# Course list and overview ------------------------------------------------------------------------------


def test_home_lists_published_courses_with_progress(client, course):
    """The home page lists active courses (not retired ones) with the learner's overall progress."""
    retired = make_course(units=[[make_module(lenses=1)]], title="Old course")
    retired.retired_at = timezone.now()
    retired.save()
    client.get("/")
    complete(client, "intro", lens_ids("intro")[0])

    page = text(client.get("/"))

    assert "Light" in page
    assert "Old course" not in page
    assert 'aria-valuenow="1"' in page
    assert 'aria-valuemax="7"' in page
    assert "1/7 required lenses" in page


def test_home_says_start_or_continue_and_counts_completed_modules(client, course):
    """An untouched course offers "Start", a started one "Continue"; finished modules are counted."""
    make_course(units=[[make_module(lenses=1, slug="other-module")]], slug="other", title="Other course")
    client.get("/")
    complete(client, "intro", lens_ids("intro")[0])

    page = " ".join(text(client.get("/")).split())
    assert 'Start<span class="visually-hidden"> Other course' in page
    assert 'Continue<span class="visually-hidden"> Light' in page
    assert "0 of 3 modules completed" in page

    for lens_id in lens_ids("intro")[1:3]:
        complete(client, "intro", lens_id)
    assert "1 of 3 modules completed" in " ".join(text(client.get("/")).split())


def test_overview_shows_units_badges_fractions_and_durations(client, course):
    """Each module shows its title, status badge, required-lens fraction and duration; meetings close units."""
    client.get("/")
    complete(client, "intro", lens_ids("intro")[0])

    page = text(client.get(reverse("learn:course", args=["light"])))

    units = page[page.index('class="unit"') :]
    assert units.index("Before meeting 1") < units.index("Introduction to light") < units.index("Colours")
    assert units.index("Colours") < units.index("<strong>Meeting 1</strong>") < units.index("Optics")
    assert "Unit 1" not in page
    assert ">In progress<" in page
    assert page.count(">Not started<") == 2
    assert "1/3" in page and "0/2" in page
    assert "About 5 min" in page  # the 3 required lenses of 90 s
    assert "Continue: Introduction to light" in page


def test_overview_continue_skips_finished_modules_and_offers_review(client, course):
    """ "Continue" leads to the first unfinished required module; finished modules get "Review"."""
    client.get("/")
    for lens_id in lens_ids("intro")[:3]:
        complete(client, "intro", lens_id)

    page = text(client.get(reverse("learn:course", args=["light"])))

    assert ">Completed<" in page
    assert "Continue: Colours" in page
    assert re.search(r'href="/courses/light/modules/intro/">Review', page)


def test_overview_marks_optional_modules(client):
    """An optional module carries an "Optional" tag."""
    module = make_module(lenses=1, slug="extra")
    course = make_course(units=[[module]], slug="c")
    CourseEntry.objects.filter(course=course, module=module).update(optional=True)

    page = text(client.get(reverse("learn:course", args=["c"])))

    assert '<span class="tag">Optional</span>' in page


def test_unknown_course_is_a_clear_404(client):
    """An unknown course answers 404 with a message saying so."""
    response = client.get("/courses/nope/")
    assert response.status_code == 404
    assert "There is no course at this address." in text(response)


def test_renamed_course_and_module_redirect(client, course):
    """Earlier slugs (slug aliases) redirect permanently to the current address."""
    SlugAlias.objects.create(content_type=ContentType.COURSE, slug="old-light", item=course)
    intro = ModuleEntry.objects.filter(module__slug="intro").first().module
    SlugAlias.objects.create(content_type=ContentType.MODULE, slug="old-intro", item=intro)

    assert client.get("/courses/old-light/")["Location"] == "/courses/light/"
    for _ in range(2):  # the second time from what the first kept (content_loader.kept)
        assert client.get("/courses/light/modules/old-intro/")["Location"] == "/courses/light/modules/intro/"
    assert client.get("/courses/light/modules/no-such-module/").status_code == 404
    assert client.get("/courses/light/modules/no-such-module/").status_code == 404


def test_renamed_course_and_module_redirect_every_page_under_them_but_no_post(client, course):
    """A lens, the completion page and the module under an earlier slug redirect permanently to the same
    page under the current one; a POST under an earlier slug is a 404 (it is not followed)."""
    SlugAlias.objects.create(content_type=ContentType.COURSE, slug="old-light", item=course)
    intro = ModuleEntry.objects.filter(module__slug="intro").first().module
    SlugAlias.objects.create(content_type=ContentType.MODULE, slug="old-intro", item=intro)
    lens_id = lens_ids("intro")[0]

    old_lens = client.get(f"/courses/old-light/modules/old-intro/lenses/{lens_id}/")
    assert old_lens.status_code == 301 and old_lens["Location"] == lens_url("old-intro", lens_id)  # one at a time
    moved_module = client.get(f"/courses/light/modules/old-intro/lenses/{lens_id}/")
    assert moved_module.status_code == 301 and moved_module["Location"] == lens_url("intro", lens_id)
    assert client.get("/courses/old-light/completed/")["Location"] == "/courses/light/completed/"
    assert client.post(complete_url("old-intro", lens_id)).status_code == 404
    assert client.post(complete_url("intro", lens_id, course="old-light")).status_code == 404


# Module viewer ---------------------------------------------------------------------------------------


def test_module_opens_at_first_incomplete_required_lens(client, course):
    """A module's address redirects to its first incomplete required lens (the first lens once finished)."""
    ids = lens_ids("intro")
    client.get("/")
    assert client.get("/courses/light/modules/intro/")["Location"] == lens_url("intro", ids[0])
    complete(client, "intro", ids[0])
    assert client.get("/courses/light/modules/intro/")["Location"] == lens_url("intro", ids[1])
    complete(client, "intro", ids[1])
    complete(client, "intro", ids[2])
    assert client.get("/courses/light/modules/intro/")["Location"] == lens_url("intro", ids[0])


def test_lens_page_has_stage_bar_drawer_and_button(client, course):
    """The viewer shows the progress bar (aria values), one dot per lens, the drawer and the button."""
    ids = lens_ids("intro")
    page = text(client.get(lens_url("intro", ids[1])))

    assert 'role="progressbar"' in page
    assert 'aria-valuenow="0"' in page and 'aria-valuemax="3"' in page
    assert page.count('class="dot') == 4
    assert "dot--optional" in page
    assert re.search(r'class="dot dot--current"\s+aria-current="step"', page)
    assert "Progress: 0/3 required lenses" in page
    assert page.count('aria-current="step"') == 2  # the dot and the drawer entry
    assert "Mark complete" in page
    assert f'data-content-id="{ids[1]}"' in page


def test_hidden_lenses_stay_out_of_the_stage_bar(client, course):
    """A hidden (optional) step is not in the stage bar or the drawer."""
    intro = ModuleEntry.objects.filter(module__slug="intro").first().module
    ModuleEntry.objects.create(module=intro, position=9, item=LensFactory(title="Secret"), optional=True, hide=True)

    page = text(client.get(lens_url("intro", lens_ids("intro")[0])))

    assert "Secret" not in page
    assert page.count('class="dot') == 4


def test_lens_renders_every_segment_type(client, course):
    """Text, article, video, chat, question and roleplay segments each render their own way."""
    rich = RichLensFactory()
    intro = ModuleEntry.objects.filter(module__slug="intro").first().module
    ModuleEntry.objects.create(module=intro, position=5, item=rich)

    page = text(client.get(lens_url("intro", rich.pk)))

    assert "Light <strong>scatters</strong>." in page
    assert "On Scattering" in page and "Ada Rayleigh, Jo Mie" in page and "2021-03-04" in page
    assert 'href="https://example.org/scattering"' in page
    assert page.count("<summary>Show skipped text</summary>") == 2
    assert "Opening words skipped." in page and "The rest of the article." in page
    assert 'src="https://www.youtube-nocookie.com/embed/abcdefghijk?start=12&amp;end=96"' in page
    assert "Sky colours explained" in page and "Watch on YouTube" in page
    assert "<summary>Transcript</summary>" in page and "Here we see the sky." in page
    # No tutor configured: one notice for the lens, no disabled chat box.
    assert page.count("The AI tutor is turned off on this site") == 1 and "Discuss with the tutor" not in page
    assert "Why are sunsets red?" in page and "Save answer" in page
    # The roleplay: its briefing card, and the character's opening line; no model here, so nothing to send.
    assert "Your scenario" in page and "You are a sceptical journalist." in page
    assert "So, what is the story?" in page and "chat-msg--character" in page
    assert "The AI is off on this site" in page and "not supported" not in page
    assert "Why the sky looks blue." in page


def test_inactivity_timeout_is_longer_on_a_lens_with_a_chat(client, course, settings):
    """Settings reach the page: heartbeat interval, and 300 s of inactivity on a chat lens (180 s otherwise)."""
    settings.PROGRESS_HEARTBEAT_SECONDS = 2
    rich = RichLensFactory()
    intro = ModuleEntry.objects.filter(module__slug="intro").first().module
    ModuleEntry.objects.create(module=intro, position=5, item=rich)

    plain = text(client.get(lens_url("intro", lens_ids("intro")[0])))
    chat = text(client.get(lens_url("intro", rich.pk)))

    assert 'data-heartbeat-seconds="2"' in plain
    assert 'data-inactivity-seconds="180"' in plain
    assert 'data-inactivity-seconds="300"' in chat


def test_submodule_slugs_route(client):
    """A submodule's `parent/sub` slug is one address segment pair that the viewer understands."""
    parent = ModuleFactory(slug="big", title="Big module")
    sub = make_module(lenses=1, slug="big/part-one", title="Part one", parent=parent)
    make_course(units=[[sub]], slug="c")
    lens_id = lens_ids("big/part-one")[0]

    response = client.get(f"/courses/c/modules/big/part-one/lenses/{lens_id}/")

    assert response.status_code == 200
    assert "Big module: Part one" in text(response)
    assert client.get("/courses/c/modules/big/part-one/")["Location"].endswith(f"/lenses/{lens_id}/")


def test_lens_of_another_module_is_404(client, course):
    """A lens address under the wrong module is not found."""
    response = client.get(lens_url("colours", lens_ids("intro")[0]))
    assert response.status_code == 404
    assert "This module has no such lens." in text(response)


def test_htmx_navigation_returns_the_viewer_only(client, course):
    """An HTMX request for a lens gets the viewer fragment (with its title), and responses vary on HX-Request."""
    response = client.get(lens_url("intro", lens_ids("intro")[1]), headers={"HX-Request": "true"})
    page = text(response)

    assert "<html" not in page
    assert page.lstrip().startswith("<title>")
    assert 'id="viewer"' in page
    assert "HX-Request" in response["Vary"]


def test_history_restore_gets_the_full_page(client, course):
    """htmx restoring history (back button) asks with HX-History-Restore-Request and gets the whole page."""
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    page = text(client.get(lens_url("intro", lens_ids("intro")[1]), headers=headers))
    assert "<html" in page and 'id="viewer"' in page


# Mark complete ---------------------------------------------------------------------------------------


def test_htmx_complete_swaps_button_bar_drawer_and_fraction(client, course):
    """Completing with HTMX returns the "Completed" button plus out-of-band bar, drawer and fraction,
    and a "Next" button to the next incomplete required lens; the page does not move on by itself."""
    ids = lens_ids("intro")
    client.get("/")
    complete(client, "intro", ids[1])

    page = text(complete(client, "intro", ids[0]))

    assert page.lstrip().startswith('<div id="complete"')
    assert "Completed" in page and "Mark complete" not in page
    assert re.search(r'id="stage-bar"[^>]*hx-swap-oob="true"', page)
    assert re.search(r'id="fraction"[^>]*hx-swap-oob="true">Progress: 2/3 required lenses', page)
    assert re.search(r'id="drawer-lenses"[^>]*hx-swap-oob="true"', page)
    assert 'aria-valuenow="2"' in page
    assert page.count("dot--completed") == 2
    assert f'hx-get="{lens_url("intro", ids[2])}"' in page  # skips the completed second lens
    assert "Next: " in page and "data-next-step" in page
    assert (
        "load delay" not in page
        and 'role="status" aria-live="polite"><span aria-hidden="true">✓</span> Completed' in page
    )
    assert "Module completed" not in page


def test_completing_leads_back_to_an_earlier_incomplete_lens(client, course):
    """With the lenses after it done, completing a lens advances to the first incomplete one before it."""
    ids = lens_ids("intro")
    client.get("/")
    complete(client, "intro", ids[2])

    page = text(complete(client, "intro", ids[1]))

    assert f'hx-get="{lens_url("intro", ids[0])}"' in page


def test_completing_the_last_required_lens_opens_the_dialog(client, course):
    """The completion that finishes the module answers with the dialog instead of advancing."""
    ids = lens_ids("intro")
    client.get("/")
    complete(client, "intro", ids[0])
    complete(client, "intro", ids[1])

    response = complete(client, "intro", ids[2])
    page = text(response)

    assert re.search(r'id="module-dialog-slot"[^>]*hx-swap-oob="true"', page)
    assert "Module completed" in page
    assert "View optional content (1 lens)" in page
    assert 'href="/courses/light/modules/colours/"' in page and "Continue to next module" in page
    assert 'href="/courses/light/"' in page and "Back to course overview" in page
    # It does not advance: no redirect, and nothing in the fragment that requests another page by itself.
    assert response.status_code == 200 and not {"HX-Redirect", "HX-Location"} & set(response.headers)
    assert not re.search(r'hx-trigger="[^"]*\bload\b', page)


def test_reviewing_a_completed_module_does_not_reopen_the_dialog(client, course):
    """Completing an optional lens of a finished module, or a lens again, shows no dialog."""
    ids = lens_ids("intro")
    client.get("/")
    for lens_id in ids[:3]:
        complete(client, "intro", lens_id)

    assert "Module completed" not in text(complete(client, "intro", ids[3]))
    assert "Module completed" not in text(complete(client, "intro", ids[0]))
    assert "Module completed" not in text(client.get(lens_url("intro", ids[0])))


def test_last_module_dialog_offers_only_the_overview(client, course):
    """With no module after this one, the dialog offers the way back to the overview."""
    ids = lens_ids("optics")
    client.get("/")
    complete(client, "optics", ids[0])
    page = text(complete(client, "optics", ids[1]))
    assert "Module completed" in page
    assert "Continue to next module" not in page
    assert "View optional content" not in page


def test_complete_without_javascript_returns_to_the_lens_with_a_next_button(client, course):
    """A plain form post completes the lens and redirects back to it, now "Completed" with "Next: <title>"
    leading to the next incomplete required lens."""
    ids = lens_ids("intro")
    client.get("/")
    response = complete(client, "intro", ids[0], htmx=False)
    assert response.status_code == 302
    assert response["Location"] == lens_url("intro", ids[0])

    page = text(client.get(lens_url("intro", ids[0])))
    assert "Completed" in page and "Progress: 1/3 required lenses" in page
    assert f'href="{lens_url("intro", ids[1])}"' in page and "Next: " in page


def test_complete_without_javascript_shows_the_dialog_once(client, course):
    """Finishing a module without JavaScript lands on the lens with the dialog open, once."""
    ids = lens_ids("intro")
    client.get("/")
    complete(client, "intro", ids[0], htmx=False)
    complete(client, "intro", ids[1], htmx=False)
    response = complete(client, "intro", ids[2], htmx=False)
    assert response["Location"] == lens_url("intro", ids[2])

    first = text(client.get(response["Location"]))
    again = text(client.get(response["Location"]))
    assert "<dialog" in first and "Module completed" in first
    assert "Module completed" not in again


def test_complete_needs_post(client, course):
    """Mark complete is POST only."""
    assert client.get(complete_url("intro", lens_ids("intro")[0])).status_code == 405


def test_complete_refuses_a_lens_outside_the_module(client, course):
    """Completing a lens through a module that does not hold it is a 404 and records nothing."""
    client.get("/")
    response = complete(client, "colours", lens_ids("intro")[0])
    assert response.status_code == 404
    assert "Progress: 0/3" in text(client.get(lens_url("intro", lens_ids("intro")[0])))


# Account prompt --------------------------------------------------------------------------------------

PROMPT = "Create an account to keep your progress on every device"


def test_account_prompt_after_first_anonymous_completion(client, course):
    """The prompt appears after the first completion (out-of-band in the HTMX answer) and on pages after."""
    client.get("/")
    assert PROMPT not in text(client.get("/"))

    answer = text(complete(client, "intro", lens_ids("intro")[0]))

    assert re.search(r'id="account-prompt" hx-swap-oob="true"', answer)
    assert PROMPT in answer
    assert PROMPT in text(client.get("/courses/light/"))


def test_account_prompt_can_be_dismissed(client, course):
    """Dismissing hides the prompt from then on, with HTMX (empty slot) or without (redirect back)."""
    client.get("/")
    complete(client, "intro", lens_ids("intro")[0])
    url = reverse("learn:dismiss-account-prompt")

    answer = client.post(url, headers={"HX-Request": "true"})
    assert text(answer).strip().startswith('<div id="account-prompt">')
    assert PROMPT not in text(answer)
    assert PROMPT not in text(client.get("/"))
    assert client.post(url, {"next": "/courses/light/"})["Location"] == "/courses/light/"
    assert client.post(url, {"next": "https://evil.example/"})["Location"] == "/"


def test_no_account_prompt_for_logged_in_learners(client, course):
    """A logged-in learner is never asked to create an account."""
    user = get_user_model().objects.create_user("ada", password="a-long-password-1")
    client.force_login(user)
    client.get("/")
    complete(client, "intro", lens_ids("intro")[0])
    assert PROMPT not in text(client.get("/"))


# My progress -----------------------------------------------------------------------------------------


def test_my_progress_lists_started_courses_with_status_and_time(client, course):
    """My progress shows started courses per module with status, fraction, time, and how time counts."""
    make_course(units=[[make_module(lenses=1)]], title="Untouched course")
    client.get("/")
    complete(client, "intro", lens_ids("intro")[0])

    page = text(client.get(reverse("learn:my-progress")))

    assert "Light" in page and "Untouched course" not in page
    assert ">In progress<" in page and "1/3" in page
    assert "Active time counts only while a lens is open in a visible tab" in page
    assert "3 minutes (5 on a lens with a tutor chat)" in page


def test_my_progress_before_anything(client, course):
    """With no progress, My progress says so and links to the courses."""
    assert "You haven't started a course yet." in text(client.get(reverse("learn:my-progress")))


# Error pages -----------------------------------------------------------------------------------------


def test_404_page_is_clear(client):
    """An address that matches nothing shows the site's 404 page, not Django's."""
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = text(response)
    assert "Page not found" in page and "There is nothing at this address." in page
    assert "Resolver404" not in page


def test_500_template_renders_without_context():
    """The 500 page renders with no request context (as Django's handler does)."""
    from django.template import loader

    page = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in page


def test_overview_names_the_parent_of_submodules(client):
    """A submodule in the overview reads "Parent: Submodule"; estimates are whole minutes."""
    parent = ModuleFactory(slug="plan", title="Planning")
    sub = make_module(lenses=1, slug="plan/week", title="A week", parent=parent)
    ModuleEntry.objects.filter(module=sub).update(item=LensFactory(estimated_seconds=26))
    make_course(units=[[sub]], slug="c")

    page = text(client.get(reverse("learn:course", args=["c"])))

    assert "Planning: A week" in page
    assert "About 1 min" in page
