"""Settings for courseplatform, read from the environment.

Every value has a safe local default except SECRET_KEY, which has a development default only while
DEBUG is on. `.env.example` lists the variables.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (see .env.example), "
            "or set DEBUG=true for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    # Before staticfiles, so that runserver serves static files through whitenoise as production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "django_htmx",
    "template_partials",
    "ops",
    "delivery",  # before content_loader: its `sync_content` adds git and records every sync
    "content_loader",
    "progress",
    "chat",
    "roleplay",
    "learn",
    "voice",
    "accounts",
    "dashboard",
    "assessment",
    "search",
    "jobs",  # before django_tasks_db: its `db_worker` command is `worker` (jobs/management/commands)
    "django_tasks",
    "django_tasks_db",
    "axes",
]

MIDDLEWARE = [
    # First, so that every request (static files and redirects too) gets its one log line.
    "ops.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Gzip for pages and JSON, outside every middleware that changes the body; streamed replies (the tutor's
    # NDJSON) pass as they are, and whitenoise's static files are precompressed in production.
    "ops.middleware.CompressionMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "ops.middleware.ContentSecurityPolicyMiddleware",  # django-csp's, with the policy built once
    "ops.middleware.RejectNulMiddleware",  # a NUL in the query string or a form field: 400 before any view
    # Outside the middleware that reads the session, so that their database errors become a 503 too.
    "ops.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "progress.middleware.LearnerMiddleware",
    # Pages and API answers depend on the learner: never cached for others, never shown stale on Back.
    "progress.middleware.LearnerCacheMiddleware",
    "ops.middleware.LazyMessageMiddleware",  # Django's, building the storage only when used
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a refused login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "courseplatform.urls"
WSGI_APPLICATION = "courseplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "search.context_processors.site",
            ],
        },
    },
]

# The embedded default is an SQLite file in the project folder; PostgreSQL URLs go through psycopg 3.
# Connections persist between requests in production; the health check at the start of each request
# replaces a connection that PostgreSQL closed (a restart, a failover), so no request fails on it.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0 if DEBUG else 60),
        conn_health_checks=True,
        # Behind PgBouncer in transaction pooling mode (see the README's Production section).
        disable_server_side_cursors=env_bool("DB_DISABLE_SERVER_SIDE_CURSORS", False),
    )
}
# The heartbeat's and the completion's statements are prepared once per connection (progress/prepared.py),
# parsed once and planned per execution (courseplatform/postgresql sets plan_cache_mode=force_custom_plan:
# a generic plan kept from small tables made completions slow). Off behind PgBouncer before 1.21 in
# transaction pooling mode, whose server connections change under a client.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that sends no `SELECT 1` while the socket is quiet
    # (courseplatform/postgresql/base.py): a heartbeat is then one round trip, not two.
    DATABASES["default"]["ENGINE"] = "courseplatform.postgresql"
    # Without it a connection to an unreachable host waits for the operating system's TCP timeout
    # (minutes); with it /healthz and the outage page answer within seconds. libpq's minimum is 2.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 3))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login rate limit (django-axes): failed logins are counted in the database (so every server behind a
# load balancer sees the same count), per username and client address; past the limit that pair gets a
# 429 until the cool-off ends, and a successful login resets its count. Admin logins count too.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# No record of successful logins (addresses and browsers are personal data), and log lines that name
# no username, address or browser (see ops.logs).
AXES_DISABLE_ACCESS_LOG = True
AXES_CLIENT_STR_CALLABLE = "ops.logs.login_attempt_str"
AXES_VERBOSE = False  # no version banner at every start
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"  # a page saying how long to wait, not plain text

# Under /api/ a failed CSRF check answers JSON like every other API refusal.
CSRF_FAILURE_VIEW = "ops.views.csrf_failure"

# The site's name in page titles, the header and emails.
SITE_NAME = os.environ.get("SITE_NAME", "Course Platform")

# Email (password resets, sign-up notices). EMAIL_URL, when set, says it all: smtp://user:password@host:587
# (?tls=true by default on 587, ?ssl=true or smtps:// for implicit TLS, ?timeout=10); else the EMAIL_HOST...
# variables. Without either, development prints emails on the console and production sends by SMTP.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
_email_url = os.environ.get("EMAIL_URL", "")
if _email_url:
    from accounts.email_url import parse_email_url

    globals().update(parse_email_url(_email_url))
else:
    EMAIL_BACKEND = os.environ.get(
        "EMAIL_BACKEND",
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG and not os.environ.get("EMAIL_HOST")
        else "django.core.mail.backends.smtp.EmailBackend",
    )
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
    EMAIL_PORT = env_int("EMAIL_PORT", 25)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
# Password reset links stay valid this long; reset requests per client address and per email address.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 60 * 60)
PASSWORD_RESET_RATE_LIMIT = env_int("PASSWORD_RESET_RATE_LIMIT", 5)
PASSWORD_RESET_RATE_LIMIT_WINDOW_SECONDS = env_int("PASSWORD_RESET_RATE_LIMIT_WINDOW_SECONDS", 3600)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# The tutor: any OpenAI-compatible chat-completions API (a hosted provider, or a local llama.cpp, Ollama
# or vLLM server). With TUTOR_BASE_URL or TUTOR_MODEL empty the tutor is off and chats say so.
TUTOR_BASE_URL = os.environ.get("TUTOR_BASE_URL", "")
TUTOR_API_KEY = os.environ.get("TUTOR_API_KEY", "")
TUTOR_MODEL = os.environ.get("TUTOR_MODEL", "")
# How long to wait for the tutor to answer and for each next piece of a streaming reply.
TUTOR_TIMEOUT_SECONDS = env_int("TUTOR_TIMEOUT_SECONDS", 30)
# The longest a whole reply may take; a streamed reply holds a server worker until it ends.
TUTOR_MAX_REPLY_SECONDS = env_int("TUTOR_MAX_REPLY_SECONDS", 120)
# AI assessment of answers (app `assessment`): the model scoring them (default: TUTOR_MODEL), and whether
# learners see their own score beside their saved answer.
ASSESSMENT_MODEL = os.environ.get("ASSESSMENT_MODEL", "")
ASSESSMENT_SHOW_LEARNERS = env_bool("ASSESSMENT_SHOW_LEARNERS", False)

# Limits on what learners send to the tutor (ops.ratelimit: counted in the database under a lock, so they
# hold across server processes and parallel requests, and "Delete my data" does not reset them). Per
# learner and window: CHAT_RATE_LIMIT_MESSAGES model calls (replies, "Try again", feedback, roleplay
# replies), and as many messages sent.
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 4000)
CHAT_RATE_LIMIT_MESSAGES = env_int("CHAT_RATE_LIMIT_MESSAGES", 20)
CHAT_RATE_LIMIT_WINDOW_SECONDS = env_int("CHAT_RATE_LIMIT_WINDOW_SECONDS", 300)
# Answers to questions: the longest answer to a question without `max-chars`, and saves per learner and window.
ANSWER_MAX_CHARS = env_int("ANSWER_MAX_CHARS", 20_000)
ANSWER_RATE_LIMIT_SAVES = env_int("ANSWER_RATE_LIMIT_SAVES", 120)
ANSWER_RATE_LIMIT_WINDOW_SECONDS = env_int("ANSWER_RATE_LIMIT_WINDOW_SECONDS", 600)
# Timed questions (`max-time::`): a save this many seconds after the countdown ends is still accepted
# (the browser's last save on reaching zero travels over a slow network), later ones are refused.
ANSWER_DEADLINE_GRACE_SECONDS = env_int("ANSWER_DEADLINE_GRACE_SECONDS", 15)

# Spoken answers (`voice` app): an OpenAI-compatible audio/transcriptions endpoint; SPEECH_BASE_URL and
# SPEECH_API_KEY empty = the tutor's (voice.client decides). Audio is transcribed in memory and never
# kept. SPEECH_VOICE (a voice of the audio/speech endpoint, e.g. "alloy") turns on voice.client.speak.
SPEECH_BASE_URL = os.environ.get("SPEECH_BASE_URL", "")
SPEECH_API_KEY = os.environ.get("SPEECH_API_KEY", "")
SPEECH_MODEL = os.environ.get("SPEECH_MODEL", "whisper-1")
SPEECH_TTS_MODEL = os.environ.get("SPEECH_TTS_MODEL", "tts-1")
SPEECH_VOICE = os.environ.get("SPEECH_VOICE", "")
SPEECH_MAX_SECONDS = env_int("SPEECH_MAX_SECONDS", 120)
SPEECH_MAX_BYTES = env_int("SPEECH_MAX_BYTES", 5_000_000)
SPEECH_TIMEOUT_SECONDS = env_int("SPEECH_TIMEOUT_SECONDS", 60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic writes; a relative STATIC_ROOT is taken from the project folder.
STATIC_ROOT = BASE_DIR / (os.environ.get("STATIC_ROOT") or "staticfiles")
# whitenoise serves static files. In production the files carry a content hash in their names (so they
# are cached for a year) and are precompressed, which needs `manage.py collectstatic` before serving
# (`make serve` runs it). Without the manifest (development, the test suite: see pytest.ini) whitenoise
# serves the files from the apps' folders as they are, and no collectstatic is needed.
STATICFILES_MANIFEST = env_bool("STATICFILES_MANIFEST", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATICFILES_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATICFILES_MANIFEST

# HTTPS and browser protections. Production (DEBUG off) redirects to HTTPS and sends HSTS and secure
# cookies; `manage.py check --deploy` is clean with these defaults.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 60 * 60)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# A load balancer checks /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Only behind a TLS-terminating proxy that sets X-Forwarded-Proto itself (and strips a client's own):
# otherwise any client could claim HTTPS.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
# Cross-origin requests carry the origin only: the YouTube player refuses to play without a referrer.
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp), in development too: the project's own scripts, styles and
# images, and the privacy-enhanced YouTube player in frames. No inline scripts or styles, no eval.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Article excerpts show the article's own images from where it was published, over HTTPS
        # (content_loader/parsing/rendering.py makes them lazy, HTTPS and referrer-free); see README.
        "img-src": ["'self'", "data:", "https:"],
        "frame-src": ["https://www.youtube-nocookie.com"],
        # Roleplay replies read aloud (static/js/speech.js) play from a Blob URL of the fetched audio: blob:
        # URLs can only be made by this page's own scripts; every other media source stays 'self'.
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# One JSON line per log record on standard output; `ops.middleware.RequestLogMiddleware` writes one per
# request. Django's own loggers propagate to the same handler.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "ops.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "json"},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
    },
}

# Activity tracking on the learner pages (rendered into the module page; `static/js/activity.js` reads them):
# how often the browser sends the active seconds, and after how long without activity time stops counting
# (longer on a lens with a tutor chat, where reading a reply or thinking counts).
PROGRESS_HEARTBEAT_SECONDS = env_int("PROGRESS_HEARTBEAT_SECONDS", 60)
PROGRESS_INACTIVITY_SECONDS = env_int("PROGRESS_INACTIVITY_SECONDS", 180)
PROGRESS_CHAT_INACTIVITY_SECONDS = env_int("PROGRESS_CHAT_INACTIVITY_SECONDS", 300)

# Background jobs: Django's Tasks API (the django-tasks backport) on django-tasks-db, a queue in the
# project's own database; `manage.py worker` runs them (jobs/worker.py adds retries and recovery). A
# RUNNING job whose worker has not refreshed its heartbeat for JOBS_LEASE_SECONDS is run again.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
JOBS_HEARTBEAT_SECONDS = float(os.environ.get("JOBS_HEARTBEAT_SECONDS", "10"))
JOBS_LEASE_SECONDS = float(os.environ.get("JOBS_LEASE_SECONDS", "60"))

# Content: the vault that `manage.py sync_content` reads when given no path.
CONTENT_DIR = Path(os.environ.get("CONTENT_DIR", BASE_DIR / "content"))
# Where sync_content keeps each vault's parse cache (what a resync reuses); empty: a temporary one per run.
_content_cache = os.environ.get("CONTENT_CACHE_DIR", str(BASE_DIR / ".cache" / "content"))
CONTENT_CACHE_DIR = Path(_content_cache) if _content_cache else None

# Content from git (see README, "Content from git"): with CONTENT_GIT_URL set, `sync_content` without a
# path, the push webhook and "Sync now" fetch CONTENT_GIT_BRANCH into CONTENT_GIT_CACHE_DIR and sync it.
CONTENT_GIT_URL = os.environ.get("CONTENT_GIT_URL", "")
CONTENT_GIT_BRANCH = os.environ.get("CONTENT_GIT_BRANCH", "main")
CONTENT_GIT_TOKEN = os.environ.get("CONTENT_GIT_TOKEN", "")
CONTENT_GIT_USERNAME = os.environ.get("CONTENT_GIT_USERNAME", "x-access-token")
CONTENT_GIT_SSH_KEY = os.environ.get("CONTENT_GIT_SSH_KEY", "")
CONTENT_GIT_CACHE_DIR = Path(os.environ.get("CONTENT_GIT_CACHE_DIR", BASE_DIR / "var" / "content-git"))
CONTENT_GIT_TIMEOUT_SECONDS = env_int("CONTENT_GIT_TIMEOUT_SECONDS", 300)
CONTENT_WEBHOOK_SECRET = os.environ.get("CONTENT_WEBHOOK_SECRET", "")
# The sync lock: a running sync refreshes its heartbeat; one silent for STALE seconds was interrupted.
CONTENT_SYNC_HEARTBEAT_SECONDS = float(os.environ.get("CONTENT_SYNC_HEARTBEAT_SECONDS", "5"))
CONTENT_SYNC_STALE_SECONDS = float(os.environ.get("CONTENT_SYNC_STALE_SECONDS", "60"))
CONTENT_SYNC_WAIT_SECONDS = env_int("CONTENT_SYNC_WAIT_SECONDS", 900)

# Progress: the anonymous learner's cookie, and the most one heartbeat can credit.
PROGRESS_COOKIE_NAME = os.environ.get("PROGRESS_COOKIE_NAME", "learner_token")
PROGRESS_COOKIE_MAX_AGE = env_int("PROGRESS_COOKIE_MAX_AGE", 365 * 24 * 60 * 60)
PROGRESS_COOKIE_SECURE = env_bool("PROGRESS_COOKIE_SECURE", not DEBUG)
PROGRESS_MAX_HEARTBEAT_SECONDS = env_int("PROGRESS_MAX_HEARTBEAT_SECONDS", 120)
# Completions of UUIDs the registry does not know (content not synced yet) are stored, this many per
# learner and window at most.
PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS = env_int("PROGRESS_RATE_LIMIT_UNKNOWN_COMPLETIONS", 100)
PROGRESS_RATE_LIMIT_WINDOW_SECONDS = env_int("PROGRESS_RATE_LIMIT_WINDOW_SECONDS", 3600)
