"""The learner pages. Module slugs may hold one slash (`parent/sub` for a submodule)."""

from django.urls import path, register_converter

from learn.views import answers, lenses, pages


class ModuleSlugConverter:
    """A module slug, or a submodule's `parent-slug/sub-slug`."""

    regex = r"[-\w]+(?:/[-\w]+)?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ModuleSlugConverter, "module")

app_name = "learn"
MODULE = "courses/<slug:course_slug>/modules/<module:module_slug>/"
LENS = MODULE + "lenses/<uuid:lens_id>/"
QUESTION = LENS + "questions/<slug:question_key>/"
STANDALONE = "lenses/<uuid:lens_id>/"

urlpatterns = [
    path("", pages.home, name="home"),
    path("my-progress/", pages.my_progress, name="my-progress"),
    path("account-prompt/dismiss/", pages.dismiss_account_prompt, name="dismiss-account-prompt"),
    path("courses/<slug:course_slug>/", pages.course_overview, name="course"),
    path("courses/<slug:course_slug>/completed/", pages.course_completion, name="course-completion"),
    path(MODULE, pages.module_start, name="module"),
    path(LENS, pages.module_viewer, name="lens"),
    path(LENS + "complete/", pages.complete_lens, name="complete-lens"),
    path(LENS + "submit/", answers.submit_test, name="submit-test"),
    path(QUESTION + "answer/", answers.answer, name="answer"),
    path(QUESTION + "start/", answers.start, name="start"),
    path(QUESTION + "feedback/", answers.feedback, name="feedback"),
    path(STANDALONE, lenses.standalone_lens),
    path(STANDALONE + "complete/", lenses.complete_standalone_lens, name="standalone-complete"),
    path(STANDALONE + "questions/<slug:question_key>/answer/", lenses.answer, name="standalone-answer"),
    path(STANDALONE + "questions/<slug:question_key>/start/", lenses.start, name="standalone-start"),
    path(STANDALONE + "questions/<slug:question_key>/feedback/", lenses.feedback, name="standalone-feedback"),
    path(STANDALONE + "segments/<int:index>/skipped-<str:part>/", lenses.skipped_text, name="skipped-text"),
    # After the routes above: a lens's slug never takes one of their names (learn.links.standalone_lens_url).
    path(STANDALONE + "<slug:slug>/", lenses.standalone_lens, name="standalone-lens"),
]
