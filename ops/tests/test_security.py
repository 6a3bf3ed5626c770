"""Production security settings: headers, Content-Security-Policy, HTTPS, `check --deploy`, admin."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "https:"],
    "frame-src": ["https://www.youtube-nocookie.com"],
    "media-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def parse_csp(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


@pytest.mark.django_db
def test_content_security_policy_is_exact(client):
    """Every response carries exactly the policy: own assets, data: and HTTPS images (articles show their
    own), the YouTube-nocookie frame."""
    header = client.get("/healthz")["Content-Security-Policy"]
    assert parse_csp(header) == EXPECTED_CSP
    assert "unsafe" not in header


@pytest.mark.django_db
@pytest.mark.urls("ops.tests.urls")
def test_content_security_policy_covers_error_pages_and_debug(client, settings):
    """The outage page carries the policy, and so do pages in development (DEBUG on), not report-only."""
    assert parse_csp(client.get("/ops-test/broken")["Content-Security-Policy"]) == EXPECTED_CSP
    settings.DEBUG = True
    response = client.get("/ops-test/users")
    assert parse_csp(response["Content-Security-Policy"]) == EXPECTED_CSP
    assert "Content-Security-Policy-Report-Only" not in response


@pytest.mark.django_db
def test_browser_protection_headers(client):
    """Frames are denied, content types are not sniffed, and other origins get the origin only."""
    response = client.get("/healthz")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    # The YouTube player needs a referrer; strict-origin-when-cross-origin sends the origin, never a path.
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_hsts_on_https_responses(client):
    """Over HTTPS, production answers with a year of HSTS, subdomains included, preload."""
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
def test_https_redirect_spares_the_health_check(client, settings):
    """With SECURE_SSL_REDIRECT, plain HTTP is redirected to HTTPS, except the load balancer's /healthz."""
    settings.SECURE_SSL_REDIRECT = True
    redirected = client.get("/admin/")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/admin/"
    assert client.get("/healthz").status_code == 200


def settings_in_subprocess(env: dict[str, str], names: list[str]) -> dict:
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}, default=str))"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "SECURE_SSL_REDIRECT", "STATICFILES_MANIFEST"}
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "courseplatform.settings", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


PRODUCTION = {"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "example.org"}


def test_production_defaults():
    """With DEBUG off and nothing else set: HTTPS only, secure cookies, manifest static files,
    connections kept 60 s with health checks and a 3 s connect timeout."""
    names = [
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "STORAGES",
        "DATABASES",
    ]
    values = settings_in_subprocess({**PRODUCTION, "DATABASE_URL": "postgres://app@db.internal:5432/courses"}, names)
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    database = values["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["OPTIONS"]["connect_timeout"] == 3
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is False


def test_production_settings_follow_the_environment():
    """Behind a TLS proxy and PgBouncer: every default above can be changed through the environment."""
    env = {
        **PRODUCTION,
        "DATABASE_URL": "postgres://app@pgbouncer:6432/courses",
        "SECURE_SSL_REDIRECT": "false",
        "TRUST_X_FORWARDED_PROTO": "true",
        "SECURE_HSTS_SECONDS": "3600",
        "SECURE_HSTS_PRELOAD": "false",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
        "DB_CONN_MAX_AGE": "0",
        "DB_CONNECT_TIMEOUT": "5",
        "DB_DISABLE_SERVER_SIDE_CURSORS": "true",
        "STATICFILES_MANIFEST": "false",
    }
    names = [
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "STORAGES",
        "DATABASES",
    ]
    values = settings_in_subprocess(env, names)
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    database = values["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["connect_timeout"] == 5
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_development_keeps_plain_http_and_short_connections():
    """With DEBUG on: no HTTPS redirect or HSTS, connections closed after each request, plain static files."""
    values = settings_in_subprocess(
        {"DEBUG": "true", "DATABASE_URL": "postgres://localhost/x"},
        ["SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "STORAGES", "DATABASES"],
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert values["DATABASES"]["default"]["CONN_MAX_AGE"] == 0


def test_check_deploy_is_clean_with_production_values():
    """`manage.py check --deploy --fail-level WARNING` passes with DEBUG off, a real key and a host."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECURE_SSL_REDIRECT", "STATICFILES_MANIFEST"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, **PRODUCTION},
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output


@pytest.mark.django_db
def test_admin_is_staff_only(client):
    """Anonymous visitors and logged-in learners who are not staff are sent to the admin login; staff get in."""
    assert client.get("/admin/").status_code == 302
    users = get_user_model().objects
    learner = users.create_user("learner", "learner@example.org", "correct horse battery")
    client.force_login(learner)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    staff = users.create_user("editor", "editor@example.org", "correct horse battery", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_the_site_policy_is_built_once_and_per_view_policies_still_apply(rf, settings, monkeypatch):
    """The cached header is the one django-csp builds, built once for many responses; a view's own policy
    (its decorators) and a replaced setting are honoured, not served from the cache."""
    from csp.utils import build_policy
    from django.http import HttpResponse

    from ops import middleware as ops_middleware
    from ops.middleware import ContentSecurityPolicyMiddleware

    builds = []
    monkeypatch.setattr(ContentSecurityPolicyMiddleware, "_built", (None, ""))
    monkeypatch.setattr(ops_middleware, "build_policy", lambda: builds.append(1) or build_policy())
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse())
    plain = middleware(rf.get("/"))
    assert plain["Content-Security-Policy"] == build_policy()
    assert middleware(rf.get("/other/"))["Content-Security-Policy"] == plain["Content-Security-Policy"]
    assert len(builds) == 1

    own = HttpResponse()
    own._csp_update = {"img-src": ["https://images.example.org"]}
    customised = middleware.process_response(rf.get("/"), own)
    assert "https://images.example.org" in parse_csp(customised["Content-Security-Policy"])["img-src"]

    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    assert middleware(rf.get("/"))["Content-Security-Policy"] == "default-src 'none'"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/admin/progress/usercontentprogress/?content_type__exact=%00",
        "/?q=a%00b",
        "/api/progress/completed?x=%00",
        "/accounts/login/?next=%00",
    ],
)
def test_a_nul_in_the_query_string_is_a_400_everywhere(client, url):
    """A NUL character in a query string (the admin's filters, a page, the API) is a 400 with a reason, not a 500."""
    admin = get_user_model().objects.create_superuser("root", password="pw-root-nul-1")
    client.force_login(admin)
    response = client.get(url)
    assert response.status_code == 400
    assert "NUL character" in (response.json()["error"] if url.startswith("/api/") else response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/api/progress/time"])
def test_a_nul_in_a_form_field_is_a_400_and_changes_nothing(client, path):
    """A NUL in a form field's name or value is refused before any view; no account is created."""
    users = get_user_model().objects.count()
    for data in ({"username": "a\x00b", "password1": "x", "password2": "x"}, {"user\x00name": "ab"}):
        response = client.post(path, data)
        assert response.status_code == 400 and b"NUL character" in response.content
    assert get_user_model().objects.count() == users
