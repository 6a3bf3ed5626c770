"""The JSON API over the progress engine: `plumbing` (method, size, identity, CSRF and body checks, JSON
errors), `views` (one function per endpoint, routed by progress/urls.py) and `openapi` (its description,
served at /api/openapi.json and held to the views by tests/test_openapi.py)."""
