"""EMAIL_URL, one variable for the SMTP connection: `smtp://user:password@host:587?tls=true`.

Pure (no Django imports): settings.py calls it before Django is set up. `smtp://` uses STARTTLS when
`?tls=true` (the default on port 587), `smtps://` or `?ssl=true` implicit TLS (port 465 by default);
`console://` prints emails (development). User and password are percent-decoded, so an `@` in a password
is written `%40`.
"""

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    if name not in query:
        return default
    value = query[name][-1].lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"EMAIL_URL: {name} must be true or false, not {value!r}.")


def parse_email_url(url: str) -> dict[str, object]:
    """The EMAIL_* settings that `url` describes; ImproperlyConfigured naming what is wrong."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp://, smtps:// or console://, not {parts.scheme or url!r}://."
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no host: write smtp://user:password@host:587.")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL: the port must be a number, as in smtp://host:587.") from None
    query = parse_qs(parts.query)
    ssl = _flag(query, "ssl", scheme == "smtps")
    port = port or (465 if ssl else 587 if _flag(query, "tls", False) else 25)
    tls = _flag(query, "tls", port == 587 and not ssl)
    if tls and ssl:
        raise ImproperlyConfigured("EMAIL_URL: choose tls (STARTTLS) or ssl (implicit TLS), not both.")
    settings = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": tls,
        "EMAIL_USE_SSL": ssl,
    }
    if "timeout" in query:
        try:
            settings["EMAIL_TIMEOUT"] = int(query["timeout"][-1])
        except ValueError:
            raise ImproperlyConfigured("EMAIL_URL: timeout must be a whole number of seconds.") from None
    return settings
