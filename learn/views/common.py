"""What every learner page's view shares: the session keys, finding the course, module and lens an address
names (404, or a permanent redirect for an earlier slug), and rendering a page or its htmx fragment."""

from functools import wraps
from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from content_loader import kept
from content_loader.models import ContentItem, ContentType, CourseEntry, ModuleEntry, SlugMoved
from ops.http import HtmxHttpRequest

# Session keys. The prompt to create an account is shown from an anonymous learner's first completion
# until dismissed; the module dialog is a one-shot flag for the page a no-JavaScript completion lands on
# (or that "Continue" leads to after a test's feedback); a refused test submission without JavaScript
# leaves its message for the page it returns to.
ACCOUNT_PROMPT_KEY = "learn_account_prompt"
MODULE_DIALOG_KEY = "learn_module_dialog"
TEST_REFUSAL_KEY = "learn_test_refusal"

NO_COURSE = "There is no course at this address."
NO_MODULE = "This course has no module at this address."
NO_LENS = "This module has no such lens."

# The URL argument that names a course or a module: what `follows_slug_aliases` replaces.
SLUG_KWARGS = {ContentType.COURSE: "course_slug", ContentType.MODULE: "module_slug"}


def find_course(slug: str, *, drafts: bool) -> ContentItem:
    """The course at this address, else 404; raises `SlugMoved` for an earlier slug."""
    course = kept.with_content_version(ContentItem.objects.all()).course_at(slug, drafts=drafts)
    if course is None:
        raise Http404(NO_COURSE)
    return course


def find_module(course: ContentItem, slug: str, *, drafts: bool) -> CourseEntry:
    """The course's entry for the module at this address, else 404; raises `SlugMoved` for an earlier slug.

    Kept per content version (`content_loader.kept`): the entry, its module and parent are read once, then
    shared between requests, which only read them."""

    def build() -> CourseEntry | tuple[str, str] | None:
        try:
            return CourseEntry.objects.module_at(course, slug, drafts=drafts)
        except SlugMoved as moved:
            return moved.content_type, moved.slug

    found = kept.memo.get_or_build(("module-at", kept.content_version(course), course.pk, slug, drafts), build)
    if isinstance(found, tuple):
        raise SlugMoved(*found)
    if found is None:
        raise Http404(NO_MODULE)
    return found


def follows_slug_aliases(view):
    """A page view whose course or module was asked for by an earlier slug answers with a permanent redirect
    to the same page under the current slug (the query string is not kept)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except SlugMoved as moved:
            kwargs[SLUG_KWARGS[moved.content_type]] = moved.slug
            return redirect(request.resolver_match.view_name, *args, permanent=True, **kwargs)

    return wrapper


def lens_placement(
    course_slug: str, module_slug: str, lens_id: UUID, *, drafts: bool = False
) -> tuple[ContentItem, CourseEntry, ModuleEntry]:
    """The course, the module's course entry and the lens's (or test's) module entry, item loaded; else 404.

    For the views that act on a lens (complete, answer, submit): slug aliases are not followed for a POST.
    Drafts are found only with `drafts` (`content_loader.access.previews_drafts`).
    """
    try:
        course = find_course(course_slug, drafts=drafts)
    except SlugMoved:
        raise Http404(NO_COURSE) from None
    try:
        entry = find_module(course, module_slug, drafts=drafts)
    except SlugMoved:
        raise Http404(NO_MODULE) from None
    placement = entry.placement_of(lens_id, drafts=drafts)
    if placement is None:
        raise Http404(NO_LENS)
    return course, entry, placement


def prompt_account_after(request: HttpRequest, result) -> None:
    """After a completion: an anonymous learner's first one shows the "Create an account" prompt (until
    dismissed)."""
    if result.newly_completed and not request.user.is_authenticated:
        request.session.setdefault(ACCOUNT_PROMPT_KEY, "show")


def account_prompt_visible(request: HttpRequest) -> bool:
    return not request.user.is_authenticated and request.session.get(ACCOUNT_PROMPT_KEY) == "show"


def render_page(request: HtmxHttpRequest, template: str, context: dict, *, partial: str | None = None) -> HttpResponse:
    """Render the page, or only its `partial` for an HTMX request; responses vary on HX-Request."""
    fragment = partial and request.htmx and not request.htmx.history_restore_request
    name = f"{template}#{partial}" if fragment else template
    context.setdefault("show_account_prompt", account_prompt_visible(request))
    response = render(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
