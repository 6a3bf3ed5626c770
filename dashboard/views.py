"""The staff dashboard: course charts and tables, CSV downloads, and one learner's whole story.

Every view is for staff with the permission to view progress rows; a learner gets the admin login page.
Exports and erasures of a learner's data are recorded (`progress.models.LearnerDataAudit`).
"""

import csv
import json
from uuid import UUID

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from assessment import reports
from content_loader.models import ContentItem, ContentType
from dashboard.charts import dot_plot, score_bars, stacked_bars
from dashboard.forms import EraseForm
from dashboard.queries import cohort_sizes, for_course_dashboard, for_learner_page
from learners import Learner
from progress.models import ClaimedToken, LearnerDataAudit
from progress.tooling.learner_data import (
    erase_learner_data,
    export_learner_data,
    learner_data_counts,
    record_data_request,
)

VIEW_PROGRESS = "progress.view_usercontentprogress"
# CSV column -> attribute of the row
MODULE_COLUMNS = {
    "position": "position",
    "module_id": "module_id",
    "module": "title",
    "optional": "optional",
    "required_steps": "required",
    "cohort": "cohort",
    "not_started": "not_started",
    "in_progress": "in_progress",
    "completed": "completed",
    "started": "started",
}
LENS_COLUMNS = {
    "module": "module_title",
    "item_id": "item_id",
    "title": "title",
    "type": "content_type",
    "estimated_seconds": "estimated_seconds",
    "median_seconds": "median_rounded",
    "learners_timed": "timed",
    "learners_completed": "completed",
}


def _context(request: HttpRequest, **extra) -> dict:
    """The admin's page context (site header, sidebar) plus the page's own."""
    return {**admin.site.each_context(request), **extra}


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"You need the {permission} permission for this page.")


def _course(slug: str) -> ContentItem:
    course = ContentItem.objects.defer("body").find_by_slug(ContentType.COURSE, slug)
    if course is None:
        raise Http404(f"No course {slug!r}.")
    return course


@staff_member_required
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """Every active course with the number of learners active in it."""
    _require(request, VIEW_PROGRESS)
    sizes = cohort_sizes()
    courses = [(course, sizes.get(course.pk, 0)) for course in ContentItem.objects.courses().defer("body")]
    return render(request, "dashboard/index.html", _context(request, title="Progress dashboard", courses=courses))


@staff_member_required
@require_safe
def course(request: HttpRequest, slug: str) -> HttpResponse:
    """A course's modules (stacked bars) and required lenses (dot plot), with the numbers as tables."""
    _require(request, VIEW_PROGRESS)
    stats = for_course_dashboard(_course(slug))
    scores = _score_rows(stats)
    return render(
        request,
        "dashboard/course.html",
        _context(
            request,
            title=f"Progress: {stats.course.title}",
            stats=stats,
            bars=stacked_bars(stats.modules, stats.cohort),
            dots=dot_plot(stats.lenses),
            scores=scores,
            score_chart=score_bars(scores),
        ),
    )


def _score_rows(stats) -> list:
    """AI scores of the answers in the course's required lenses and tests, per outcome and question."""
    return reports.distribution(
        [lens.item_id for lens in stats.lenses], {lens.item_id: lens.title for lens in stats.lenses}
    )


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value safe to open in a spreadsheet: text that would start a formula gets a leading apostrophe.

    Titles come from authors and names from learners; numbers are written as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_response(filename: str, header: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(name) for name in header])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return response


# The course page's two tables as CSV: `modules` (learners per state) and `lenses` (the required lenses,
# estimated against median time to complete); attribute of the course's stats -> its columns.
CSV_TABLES = {"modules": MODULE_COLUMNS, "lenses": LENS_COLUMNS}


@staff_member_required
@require_safe
def table_csv(request: HttpRequest, slug: str, table: str) -> HttpResponse:
    """One table of the course page as CSV (`table`: a key of CSV_TABLES, given by the URL)."""
    _require(request, VIEW_PROGRESS)
    stats = for_course_dashboard(_course(slug))
    columns = CSV_TABLES[table]
    rows = [[getattr(row, name) for name in columns.values()] for row in getattr(stats, table)]
    return _csv_response(f"{stats.course.slug}-{table}.csv", list(columns), rows)


SCORE_COLUMNS = ["Kind", "Title", "Score 1", "Score 2", "Score 3", "Score 4", "Score 5", "Scored answers", "Mean"]


@staff_member_required
@require_safe
def scores_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The course page's AI score distribution as CSV."""
    _require(request, VIEW_PROGRESS)
    stats = for_course_dashboard(_course(slug))
    rows = [[row.kind, row.title, *row.in_order, row.total, row.mean] for row in _score_rows(stats)]
    return _csv_response(f"{stats.course.slug}-scores.csv", SCORE_COLUMNS, rows)


def _learner(user_id: int | None, token: UUID | None) -> tuple[Learner, object | None]:
    """The learner a URL names, with the account (404 for an unknown account)."""
    if user_id is not None:
        user = get_object_or_404(get_user_model(), pk=user_id)
        return Learner(user_id=user.pk), user
    return Learner(session_token=token), None


def learner_url(learner: Learner, name: str = "learner") -> str:
    if learner.user_id is not None:
        return reverse(f"dashboard:{name}-user", kwargs={"user_id": learner.user_id})
    return reverse(f"dashboard:{name}-token", kwargs={"token": learner.session_token})


@staff_member_required
@require_safe
def learner(request: HttpRequest, user_id: int | None = None, token: UUID | None = None) -> HttpResponse:
    """One learner: every module's status, time per lens, last activity, chats and answers."""
    _require(request, VIEW_PROGRESS)
    if token is not None and (claimed := ClaimedToken.objects.filter(token=token).first()) is not None:
        return redirect("dashboard:learner-user", user_id=claimed.user_id)  # the token's data is the account's
    who, user = _learner(user_id, token)
    activity = for_learner_page(who)
    name = user.get_username() if user else f"anonymous learner {str(token)[:8]}…"
    return render(
        request,
        "dashboard/learner.html",
        _context(
            request,
            title=f"Learner: {name}",
            name=name,
            account=user,
            activity=activity,
            scores=reports.latest_by_answer([answer.pk for answer in activity.answers]),
            export_url=learner_url(who, "export"),
            erase_url=learner_url(who, "erase"),
        ),
    )


def export_response(document: dict, filename: str) -> HttpResponse:
    """A learner-data document as a JSON file download."""
    response = HttpResponse(json.dumps(document, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@staff_member_required
@require_POST
def export(request: HttpRequest, user_id: int | None = None, token: UUID | None = None) -> HttpResponse:
    """Download a learner's data as JSON; recorded with who asked and when."""
    _require(request, VIEW_PROGRESS)
    who, _user = _learner(user_id, token)
    document = export_learner_data(learner=who)
    record_data_request(learner=who, action=LearnerDataAudit.Action.EXPORT, actor=request.user)
    name = f"user-{who.user_id}" if who.user_id is not None else f"token-{who.session_token}"
    return export_response(document, f"learner-data-{name}.json")


@staff_member_required
@require_http_methods(["GET", "HEAD", "POST"])
def erase(request: HttpRequest, user_id: int | None = None, token: UUID | None = None) -> HttpResponse:
    """Confirm, then erase all of a learner's data (an account with its account) in one transaction."""
    _require(request, "auth.delete_user" if user_id is not None else "progress.delete_usercontentprogress")
    who, user = _learner(user_id, token)
    if user is not None and user.pk == request.user.pk:
        raise PermissionDenied("Staff cannot erase their own account here; use My progress as a learner would.")
    if user is not None and user.is_staff and not request.user.is_superuser:
        raise PermissionDenied("Only a superuser can erase a staff account.")
    form = EraseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        counts = erase_learner_data(learner=who, actor=request.user)
        messages.success(
            request,
            f"Erased {counts['progress_rows']} progress rows, {counts['chat_sessions']} conversations "
            f"({counts['chat_messages']} messages), {counts['question_answers']} answers"
            + (" and the account." if counts["accounts"] else "."),
        )
        return redirect("dashboard:index")
    name = user.get_username() if user else f"anonymous learner {token}"
    return render(
        request,
        "dashboard/erase.html",
        _context(
            request,
            title=f"Erase the data of {name}",
            name=name,
            counts=learner_data_counts(learner=who),
            form=form,
            back_url=learner_url(who),
            account=user,
        ),
    )
