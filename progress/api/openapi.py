"""The OpenAPI 3.1 description of the progress JSON API, served at /api/openapi.json.

Written by hand next to the views it describes (progress/api/views.py, progress/api/plumbing.py), and held to them by
tests/test_openapi.py: schemathesis sends generated valid and invalid requests to every operation and
fails on any 500, any status not listed here, and any response body that does not match its schema.
"""

import functools

from django.conf import settings

from content_loader.models import LEARNER_CONTENT_TYPES
from progress.api.plumbing import MAX_BODY_BYTES, MAX_CLIENT_SECONDS, MAX_TIME_DELTA_S, MAX_TITLE_LENGTH
from progress.queries import Status

UUID = {"type": "string", "format": "uuid"}
# Optional request fields may also be null, which counts as absent.
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}


def _object(properties: dict, *, required: list[str] | None = None, closed: bool = True) -> dict:
    """An object schema; `closed` (for responses) lists every key the API sends."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _error(
        "No learner: neither a session nor a valid X-Session-Token (or learner cookie); a token an account "
        "claimed is none."
    ),
    "405": _error("Wrong method; the Allow header lists the right one."),
    "413": _error(f"The body is over {MAX_BODY_BYTES // 1024} KiB."),
    "503": _error("The database is unavailable; retry after Retry-After seconds."),
}
WRITE_ERRORS = {
    "400": _error("Malformed JSON, or a missing, mistyped or out-of-range field. Nothing was written."),
    "403": _error("Identified by a cookie without the CSRF token (send it in X-CSRFToken)."),
    **ERRORS,
}

PROGRESS = _object({"completed": COUNT, "total": COUNT})
STATUS = {"type": "string", "enum": [status.value for status in Status]}
SLUG = {
    "name": "slug",
    "in": "path",
    "required": True,
    "description": "A slug or slug alias; a submodule's slug contains a '/'.",
    "schema": {"type": "string", "minLength": 1},
}


@functools.cache
def spec() -> dict:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "courseplatform progress API",
            "version": "1",
            "description": (
                "Identify with the session cookie (then send Django's CSRF token in X-CSRFToken) or with "
                'X-Session-Token: <uuid> (no CSRF token needed). Every refusal is {"error": "..."} and '
                "writes nothing."
            ),
        },
        "components": {
            "securitySchemes": {
                "sessionToken": {"type": "apiKey", "in": "header", "name": "X-Session-Token"},
                "session": {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME},
            },
            "schemas": {"Error": _object({"error": {"type": "string", "minLength": 1}})},
        },
        "security": [{"sessionToken": []}, {"session": []}],
        "paths": {
            "/api/progress/complete": {
                "post": {
                    "operationId": "complete",
                    "summary": "Mark an item completed (idempotent: the first completion wins).",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _object(
                                    {
                                        "content_id": UUID,
                                        "content_type": {"type": "string", "enum": list(LEARNER_CONTENT_TYPES)},
                                        "content_title": {"type": ["string", "null"], "maxLength": MAX_TITLE_LENGTH},
                                        "time_spent_s": {
                                            "type": ["integer", "null"],
                                            "minimum": 0,
                                            "maximum": MAX_CLIENT_SECONDS,
                                            "description": "Accepted, never credited: time comes from heartbeats.",
                                        },
                                        "module_slug": {"type": ["string", "null"], "maxLength": 300},
                                    },
                                    required=["content_id", "content_type"],
                                    closed=False,
                                )
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            _object(
                                {
                                    "completed_at": TIMESTAMP,
                                    "newly_completed": {"type": "boolean"},
                                    "module_status": {"type": ["string", "null"], "enum": [*STATUS["enum"], None]},
                                    "module_progress": {"oneOf": [PROGRESS, {"type": "null"}]},
                                    "module_newly_completed": {"type": "boolean"},
                                }
                            ),
                            "Completed; module_* are null unless module_slug names a module holding the item.",
                        ),
                        **WRITE_ERRORS,
                        "429": _error(
                            "Too many completions of UUIDs the registry does not know; retry after Retry-After seconds."
                        ),
                    },
                }
            },
            "/api/progress/time": {
                "post": {
                    "operationId": "heartbeat",
                    "summary": (
                        "Credit active seconds to an item (capped by the time since the learner's last heartbeat, "
                        "whatever item it named)."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _object(
                                    {
                                        "content_id": UUID,
                                        "time_delta_s": {"type": "integer", "minimum": 1, "maximum": MAX_TIME_DELTA_S},
                                    },
                                    closed=False,
                                )
                            }
                        },
                    },
                    "responses": {
                        "204": {"description": "Credited."},
                        **WRITE_ERRORS,
                        "404": _error("No lens, test, module or learning outcome has this UUID. Nothing was written."),
                    },
                }
            },
            "/api/progress/claim": {
                "post": {
                    "operationId": "claim",
                    "summary": "Move an anonymous token's progress, chats and answers to the logged-in account.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": _object(
                                    {"session_token": {**UUID, "type": ["string", "null"]}}, required=[], closed=False
                                ),
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            _object(
                                {
                                    "progress_records_claimed": COUNT,
                                    "chat_sessions_claimed": COUNT,
                                    "lenses_completed": COUNT,
                                    "seconds": COUNT,
                                    "seconds_not_kept": COUNT,
                                    "answers_claimed": COUNT,
                                    "roleplays_claimed": COUNT,
                                }
                            ),
                            "Claimed (merged with the account's own progress, nothing dropped; `seconds` is the time "
                            "kept, `seconds_not_kept` what overlapped time the account already had on the same items).",
                        ),
                        **WRITE_ERRORS,
                        "401": _error("Not logged in."),
                        "403": _error("CSRF failed."),
                        "409": _error("Another account already claimed this token; nothing moved."),
                    },
                }
            },
            "/api/progress/completed": {
                "get": {
                    "operationId": "completed",
                    "summary": "Every content UUID the learner completed.",
                    "responses": {
                        "200": _json(
                            _object({"content_ids": {"type": "array", "items": UUID}}), "The completed UUIDs."
                        ),
                        **ERRORS,
                    },
                }
            },
            "/api/modules/{slug}/progress": {
                "get": {
                    "operationId": "module",
                    "summary": "A module's lenses with completion and time, and the learner's open chat.",
                    "parameters": [SLUG],
                    "responses": {
                        "200": _json(
                            _object(
                                {
                                    "module": _object(
                                        {"id": UUID, "slug": {"type": "string"}, "title": {"type": "string"}}
                                    ),
                                    "status": STATUS,
                                    "progress": PROGRESS,
                                    "lenses": {
                                        "type": "array",
                                        "items": _object(
                                            {
                                                "id": UUID,
                                                "title": {"type": "string"},
                                                "type": {"type": "string", "enum": ["lens", "test"]},
                                                "optional": {"type": "boolean"},
                                                "completed": {"type": "boolean"},
                                                "completedAt": NULLABLE_TIMESTAMP,
                                                "timeSpentS": COUNT,
                                            }
                                        ),
                                    },
                                    "chatSession": {
                                        "oneOf": [
                                            _object(
                                                {"sessionId": {"type": "integer"}, "hasMessages": {"type": "boolean"}}
                                            ),
                                            {"type": "null"},
                                        ]
                                    },
                                }
                            ),
                            "The module's progress.",
                        ),
                        "404": _error("No module has this slug."),
                        **ERRORS,
                    },
                }
            },
            "/api/courses/{slug}/progress": {
                "get": {
                    "operationId": "course",
                    "summary": "A course's units, each module with its status and k/n.",
                    "parameters": [SLUG],
                    "responses": {
                        "200": _json(
                            _object(
                                {
                                    "course": _object(
                                        {"id": UUID, "slug": {"type": "string"}, "title": {"type": "string"}}
                                    ),
                                    "units": {
                                        "type": "array",
                                        "items": _object(
                                            {
                                                "meeting": {
                                                    "oneOf": [_object({"title": {"type": "string"}}), {"type": "null"}]
                                                },
                                                "modules": {
                                                    "type": "array",
                                                    "items": _object(
                                                        {
                                                            "id": UUID,
                                                            "slug": {"type": "string"},
                                                            "title": {"type": "string"},
                                                            "optional": {"type": "boolean"},
                                                            "status": STATUS,
                                                            "progress": PROGRESS,
                                                        }
                                                    ),
                                                },
                                            }
                                        ),
                                    },
                                }
                            ),
                            "The course's progress.",
                        ),
                        "404": _error("No course has this slug."),
                        **ERRORS,
                    },
                }
            },
        },
    }
