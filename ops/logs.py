"""Structured logs: each record is one JSON object on one line.

`JsonFormatter` is the formatter of every handler in `settings.LOGGING`. A record's `extra` fields are
kept when they are plain values (text, numbers, booleans, None), so the request log can add its fields
and Django's own `extra` (the request object itself) is left out.
"""

import json
import logging
from datetime import UTC, datetime

# The attributes every LogRecord has; anything else on a record came from `extra`.
RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
PLAIN = (str, int, float, bool, type(None))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in RECORD_ATTRIBUTES and isinstance(value, PLAIN):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def login_attempt_str(username: str, ip_address: str, user_agent: str, path_info: str, request) -> str:
    """How django-axes names a login attempt in its log lines: by path only, never by person."""
    return f"{{path: {path_info}}}"
