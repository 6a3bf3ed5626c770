"""Accessibility, measured: axe-core (every rule, any impact) on every page type at 1280 px and 390 px,
with drawers, dialogs and disclosures opened, on the demo vault; keyboard focus after "Mark complete",
after the completion dialog, under the sticky stage bar and through the skip link; the focus ring's
contrast; and a module walked end to end with the keyboard alone.

One browser context per width; each test walks a group of pages. The axe summary lines (tests/a11y.py)
are printed at the end of the run by the root conftest.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from delivery.tests.factories import ContentSyncFactory
from learners import Learner
from progress.services import complete_content
from tests.a11y import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots" / "a11y"
PASSWORD = "a-long-password-1"
COURSE = "learning-that-sticks"
WIDTHS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}


@pytest.fixture
def demo(live_server, tutor_server):
    """The demo vault synced, a staff user, a learner with progress and a content sync; the server URL."""
    call_command("sync_content", str(Path(settings.BASE_DIR) / "content"), verbosity=0)
    get_user_model().objects.create_superuser("staffer", "staff@example.com", PASSWORD)
    return live_server.url


class Checker:
    """Runs axe on pages of one width and keeps every violation, so one run shows them all."""

    def __init__(self, page, width: str):
        self.page, self.width, self.found = page, width, {}
        errors = self.errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda m: errors.append(m.text) if m.type == "error" and "youtube" not in m.text.lower() else None,
        )

    def check(self, name: str, context=None) -> None:
        label = f"{name} @{self.width}px"
        violations = axe_violations(self.page, context, label=label)
        if violations:
            self.found[label] = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:5]) for v in violations]

    def assert_clean(self) -> None:
        if self.found:
            pytest.fail("axe violations:\n" + "\n".join(f"{k}: {v}" for k, v in self.found.items()))
        # The axe injection is not a script the page's Content-Security-Policy refused (nor any other).
        assert [e for e in self.errors if "Content Security Policy" in e or "Refused" in e] == []


def open_disclosures(page) -> None:
    """Open the drawer, every <details> (loading skipped text) and every inline collapse of the page."""
    page.evaluate("() => document.querySelectorAll('details:not([open])').forEach((d) => { d.open = true; })")
    for toggle in page.locator(".collapse__toggle[aria-expanded=false]").all():
        toggle.click()
    expect(page.locator(".skipped .htmx-indicator")).to_have_count(0)


def lens_urls(page) -> list[str]:
    return [a.get_attribute("href") for a in page.locator(".drawer__list a").all()]


def module_urls(page, base: str) -> list[str]:
    page.goto(f"{base}/courses/{COURSE}/")
    hrefs = page.locator("a[href*='/modules/']").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")
    return list(dict.fromkeys(h.split("/lenses/")[0] for h in hrefs))


def csp_of(page, url: str) -> str:
    response = page.goto(url)
    return response.headers.get("content-security-policy", "")


@pytest.mark.parametrize("width", WIDTHS)
def test_learner_pages_have_no_axe_violations(demo, browser_context_factory, width):
    """Home, course overview, every lens and the test of every module (drawer and disclosures open, a chat
    with a reply), the completion dialog, a standalone lens, my progress, log-in, sign-up and a 404."""
    page = browser_context_factory(viewport=WIDTHS[width]).new_page()
    checker = Checker(page, width)
    csp = csp_of(page, f"{demo}/")
    assert "script-src 'self'" in csp and "unsafe" not in csp, csp
    checker.check("home")
    page.goto(f"{demo}/courses/{COURSE}/")
    checker.check("course overview")

    chatted = False
    for module_url in module_urls(page, demo):
        page.goto(f"{demo}{module_url}")
        page.wait_for_load_state("load")
        for url in lens_urls(page):
            page.goto(f"{demo}{url}")
            page.wait_for_load_state("load")
            title = page.locator("#lens-title").inner_text()
            open_disclosures(page)
            if not chatted and page.locator("[data-chat-form] textarea").count():
                page.locator("[data-chat-form] textarea").first.fill("What is the forgetting curve?")
                page.locator("[data-chat-form] button[type=submit]").first.click()
                expect(page.locator(".chat__messages li").last).to_contain_text("Hello, learner!")
                chatted = True
                open_disclosures(page)
            checker.check(f"lens “{title}”")
    assert chatted

    # The completion dialog: every required lens of the first module completed, from its first lens (the
    # module's address resumes at the lens last opened, which the walk above made one of the later ones).
    page.goto(f"{demo}/courses/{COURSE}/modules/why-we-forget/")
    page.wait_for_load_state("load")
    page.goto(f"{demo}{lens_urls(page)[0]}")
    page.wait_for_load_state("load")
    for _ in range(3):
        page.get_by_role("button", name="Mark complete").click()
        expect(page.locator("#complete")).to_contain_text("Completed")
        wait_for_htmx(page)  # the dialog comes in the same response, swapped out of band
        if page.locator("dialog").count():
            break
        page.get_by_role("link", name=re.compile(r"^Next: ")).click()  # no automatic jump: "Next:" leads on
        expect(page.get_by_role("button", name="Mark complete")).to_be_visible()
        page.wait_for_load_state("load")
    page.wait_for_function("() => document.querySelector('dialog')?.matches(':modal')", timeout=5000)
    checker.check("completion dialog")

    page.goto(f"{demo}/lenses/{lens_id_of(page, demo)}/")
    open_disclosures(page)
    checker.check("standalone lens")
    page.goto(f"{demo}/my-progress/")
    checker.check("my progress")
    page.goto(f"{demo}/accounts/signup/")
    checker.check("sign-up")
    page.goto(f"{demo}/accounts/login/")
    checker.check("log-in")
    page.get_by_role("button", name=re.compile("Log in")).click()  # empty: the form's errors
    checker.check("log-in with errors")
    page.goto(f"{demo}/no-such-page/")
    checker.check("404")
    checker.assert_clean()


def lens_id_of(page, base: str) -> str:
    from content_loader.models import ContentItem

    return str(ContentItem.objects.get(content_type="lens", title="The forgetting curve").pk)


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_pages_have_no_axe_violations(demo, browser_context_factory, width):
    """The progress dashboard (index, a course, a learner), the content status page and its findings."""
    user = get_user_model().objects.create_user("learner", "learner@example.com", PASSWORD)
    from content_loader.models import ContentItem

    for lens in ContentItem.objects.filter(content_type="lens")[:3]:
        complete_content(learner=Learner(user_id=user.pk), content_id=lens.pk, content_type="lens")
    ContentSyncFactory(started_at=timezone.now())

    page = browser_context_factory(viewport=WIDTHS[width]).new_page()
    checker = Checker(page, width)
    page.goto(f"{demo}/admin/login/?next=/admin/dashboard/")
    checker.check("admin log-in")
    page.get_by_label("Username").fill("staffer")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation(wait_until="load"):  # check the new page, never the one still loading
        page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile("/admin/dashboard/$"))
    checker.check("dashboard")
    page.goto(f"{demo}{reverse('dashboard:course', args=[COURSE])}")
    open_disclosures(page)
    checker.check("dashboard course")
    page.goto(f"{demo}{reverse('dashboard:learner-user', args=[user.pk])}")
    open_disclosures(page)
    checker.check("dashboard learner")
    page.goto(f"{demo}/admin/delivery/contentsync/")
    checker.check("content status")
    with page.expect_navigation(wait_until="load"):
        page.get_by_role("link", name="Latest findings").click()
    open_disclosures(page)
    checker.check("content findings")
    checker.assert_clean()


# Keyboard and focus ------------------------------------------------------------------------------------

SHOT_DIR = Path("/work/notes/shots/a11y")

# What the focused element looks like: its outline and the background the ring is drawn on (the first
# opaque background among its ancestors: the outline sits 2px outside the element), and where it is
# relative to the sticky stage bar.
FOCUS_STATE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  let node = el.parentElement, background = "rgb(255, 255, 255)";
  while (node) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && bg !== "transparent" && !bg.endsWith(", 0)")) { background = bg; break; }
    node = node.parentElement;
  }
  const bar = document.getElementById("stage-bar");
  const rect = el.getBoundingClientRect();
  return {
    tag: el.tagName, id: el.id, text: (el.innerText || el.getAttribute("aria-label") || "").trim().slice(0, 60),
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth), outlineColor: style.outlineColor,
    background, top: rect.top, height: rect.height,
    inBar: !!(bar && bar.contains(el)), barBottom: bar ? bar.getBoundingClientRect().bottom : 0,
    // The bar covers what comes after it in the page once it is stuck to the top of the window.
    underBar: !!(bar && bar.getBoundingClientRect().top <= 1
      && (bar.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) && style.position !== "fixed"),
    inDialog: !!el.closest("dialog"), inComplete: !!el.closest("#complete"),
  };
}"""


def _luminance(rgb: str) -> float:
    channels = [int(float(c)) / 255 for c in re.findall(r"[\d.]+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def wait_for_htmx(page) -> None:
    """Until htmx has swapped and settled the new lens (a key pressed before that lands on a replaced node)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def focus_state(page) -> dict | None:
    return page.evaluate(FOCUS_STATE)


def tab_through(page, steps: int) -> list[dict]:
    """Press Tab `steps` times; the focus state after each press."""
    states = []
    for _ in range(steps):
        page.keyboard.press("Tab")
        state = focus_state(page)
        if state:
            states.append(state)
    return states


def assert_ring_and_clearance(states: list[dict], where: str) -> None:
    """Each focused element shows a ring of >= 3:1 against what it is drawn on, and none is under the bar."""
    assert states, where
    for state in states:
        if state["tag"] == "H1":
            continue  # a title focused by script (after a swap, the skip link) shows no ring, by design
        assert state["outlineStyle"] != "none" and state["outlineWidth"] >= 2, (where, state)
        ratio = contrast(state["outlineColor"], state["background"])
        assert ratio >= 3, f"{where}: ring {state['outlineColor']} on {state['background']}: {ratio:.2f}:1 ({state})"
        if state["underBar"] and not state["inBar"]:
            assert state["top"] >= state["barBottom"] - 1, f"{where}: focused element under the stage bar: {state}"


def tab_to(page, name_pattern: str, *, limit: int = 150) -> dict:
    """Press Tab until the focused element's text matches `name_pattern`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = focus_state(page)
        if state and re.search(name_pattern, state["text"]):
            return state
    raise AssertionError(f"Tab never reached {name_pattern!r} on {page.url}")


@pytest.mark.parametrize("width", WIDTHS)
def test_focus_after_completion_dialog_skip_link_ring_and_stage_bar(demo, browser_context_factory, width):
    """The skip link lands on the lens title; Tab through home, overview and lens pages shows a ring of
    >= 3:1 and never hides the focused element under the stage bar; after "Mark complete" focus is never
    on <body>; Escape on the completion dialog returns focus to the completion state. Screenshots."""
    SHOT_DIR.mkdir(parents=True, exist_ok=True)
    page = browser_context_factory(viewport=WIDTHS[width]).new_page()
    for path in ("/", f"/courses/{COURSE}/"):
        page.goto(f"{demo}{path}")
        assert_ring_and_clearance(tab_through(page, 25), f"{path} @{width}")

    page.goto(f"{demo}/courses/{COURSE}/modules/why-we-forget/")
    page.wait_for_load_state("load")
    page.keyboard.press("Tab")
    assert focus_state(page)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert focus_state(page)["id"] == "lens-title"
    # From the title on, the lens, its chat, the pager, scrolled clear of the sticky bar.
    states = tab_through(page, 30)
    assert_ring_and_clearance(states, f"lens @{width}")
    page.locator("#complete button").focus()
    page.screenshot(path=SHOT_DIR / f"focus-mark-complete-{width}.png")

    for _ in range(3):
        page.locator("#complete button").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#complete")).to_contain_text("Completed")
        wait_for_htmx(page)  # where the focus is once the swap has settled (module.js moves it on swap)
        state = focus_state(page)
        assert state is not None, "focus fell to <body> after Mark complete"
        assert state["inComplete"] or state["inDialog"] or state["text"].startswith("Next: "), state
        if page.locator("dialog").count():
            break
        # No automatic jump: focus is on "Next: <title>", and Enter goes on to the next lens.
        assert state["text"].startswith("Next: "), state
        page.keyboard.press("Enter")
        expect(page.locator("#complete button")).to_have_text("Mark complete")
        wait_for_htmx(page)

    dialog = page.get_by_role("dialog", name="Module completed")
    page.wait_for_function("() => document.querySelector('dialog')?.matches(':modal')", timeout=5000)
    assert focus_state(page)["inDialog"]
    page.screenshot(path=SHOT_DIR / f"dialog-{width}.png")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # The dialog's `close` event (which moves the focus) is a task queued after the dialog hides.
    page.wait_for_function("() => !(document.activeElement && document.activeElement.closest('dialog'))")
    state = focus_state(page)
    assert state is not None and state["inComplete"], f"after Escape focus is {state}"
    page.screenshot(path=SHOT_DIR / f"focus-after-dialog-{width}.png")


def test_a_module_walked_end_to_end_with_the_keyboard(demo, browser_context_factory):
    """Tab, Enter and Space only: start the module from the course overview, open the drawer's lens list,
    open a skipped part of an article, mark each lens complete, go on with "Next:", finish the module
    and continue to the next module from the dialog."""
    page = browser_context_factory().new_page()
    page.goto(f"{demo}/courses/{COURSE}/")
    tab_to(page, r"^Start: Why we forget")
    page.keyboard.press("Enter")
    expect(page.locator("#lens-title")).to_have_text("Welcome")
    page.wait_for_load_state("load")
    titles = []
    for _ in range(5):
        titles.append(page.locator("#lens-title").inner_text())
        if page.locator(".skipped summary").count():  # read the article's text before the excerpt
            tab_to(page, r"^Show skipped text")
            page.keyboard.press("Space")
            expect(page.locator(".skipped").first).to_have_attribute("open", "")
        tab_to(page, r"^Mark complete$")
        page.keyboard.press("Space")
        expect(page.locator("#complete")).to_contain_text("Completed")
        wait_for_htmx(page)  # the dialog comes in the same response, swapped out of band
        if page.locator("dialog").count():
            break
        assert focus_state(page)["text"].startswith("Next: ")  # focus moved to "Next: <title>"
        page.keyboard.press("Enter")
        expect(page.locator("#lens-title")).not_to_have_text(titles[-1])
        wait_for_htmx(page)
    assert titles == ["Welcome", "The forgetting curve", "A short talk on memory"]
    page.wait_for_function("() => document.querySelector('dialog')?.matches(':modal')", timeout=5000)
    assert focus_state(page)["text"] == "Continue to next module"
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/modules/practice-that-works/"))
    expect(page.locator("#lens-title")).to_be_visible()
