"""The learner pages. Module slugs may hold one slash (`parent/sub` for a submodule)."""

from django.urls import path, register_converter

from learn import views


class ModuleSlugConverter:
    """A module slug, or a submodule's `parent-slug/sub-slug`."""

    regex = r"[-\w]+(?:/[-\w]+)?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ModuleSlugConverter, "module")

app_name = "learn"
urlpatterns = [
    path("", views.home, name="home"),
    path("my-progress/", views.my_progress, name="my-progress"),
    path("account-prompt/dismiss/", views.dismiss_account_prompt, name="dismiss-account-prompt"),
    path("courses/<slug:course_slug>/", views.course_overview, name="course"),
    path("courses/<slug:course_slug>/modules/<module:module_slug>/", views.module_start, name="module"),
    path(
        "courses/<slug:course_slug>/modules/<module:module_slug>/lenses/<uuid:lens_id>/",
        views.module_viewer,
        name="lens",
    ),
    path(
        "courses/<slug:course_slug>/modules/<module:module_slug>/lenses/<uuid:lens_id>/complete/",
        views.complete_lens,
        name="complete-lens",
    ),
]
