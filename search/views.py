"""The search results page (the header's search box on every page sends its query here)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from search.queries import BadQuery, search_lenses


@require_safe
def results(request: HttpRequest) -> HttpResponse:
    """Published lenses matching `q`, best first; a query that cannot be searched says why (400)."""
    raw = request.GET.get("q", "")
    context = {"query": " ".join(raw.split()), "results": [], "problem": ""}
    status = 200
    if raw.strip():
        try:
            context["results"] = search_lenses(raw)
        except BadQuery as problem:
            context["problem"] = str(problem)
            status = 400
    return render(request, "search/results.html", context, status=status)
