"""What the base template shows on every page: the site's name, and the search box (with the query on its page)."""

from django.conf import settings
from django.http import HttpRequest

from search.queries import MAX_QUERY_CHARS


def site(request: HttpRequest) -> dict:
    on_results = request.resolver_match is not None and request.resolver_match.view_name == "search:results"
    return {
        "site_name": settings.SITE_NAME,
        "search_query": " ".join(request.GET.get("q", "").split()) if on_results else "",
        "search_max_chars": MAX_QUERY_CHARS,
    }
