"""The JSON API against the OpenAPI description it serves, with schemathesis, in-process (WSGI).

Schemathesis reads /api/openapi.json from the application itself, generates requests for every
operation, valid ones (POSITIVE) and ones that break the schema (NEGATIVE: wrong types, missing fields,
out-of-range numbers), sends them through Django's WSGI handler with all its middleware, and checks each
answer: never a 5xx, only statuses the description lists, JSON where it says JSON, bodies that match their
schemas, and invalid requests refused with a 4xx.
"""

import uuid

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from learners import Learner
from progress.services import complete_content

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = 60  # per operation and mode: about 700 requests in all, a few seconds each way


@pytest.fixture
def api_schema(course):
    """The served description, loaded through the application (in this process, on the test's database
    connection, which Django would otherwise close at the end of each request, as the test client keeps
    it open)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_the_description_is_served_and_names_every_api_url(client):
    """/api/openapi.json is OpenAPI 3.1 JSON, and every /api/ URL of the project is described in it."""
    from tests.routes import routes

    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    described = {path.replace("{slug}", "<path:slug>").lstrip("/") for path in spec["paths"]}
    served = {route.route for route in routes() if route.route.startswith("api/")} - {"api/openapi.json"}
    assert served == described


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_the_api_keeps_to_its_description(api_schema, course, mode):
    """Every operation, with generated bodies and slugs, answers as described: no 500, no schema violation.

    Half the requests name the course's real slugs and lenses, so the 200 bodies are checked too."""
    token = uuid.uuid4()
    complete_content(learner=Learner(session_token=token), content_id=course.lenses[0].pk, content_type="lens")
    real_slugs = {"module": course.module.slug, "course": course.course.slug}
    # Schemathesis's in-process WSGI transport asks for gzip but does not unzip as an HTTP client would;
    # compression has its own tests (tests/test_compression.py).
    headers = {"X-Session-Token": str(token), "Accept-Encoding": "identity"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.label for operation in operations} >= {
        "POST /api/progress/complete",
        "POST /api/progress/time",
        "POST /api/progress/claim",
        "GET /api/progress/completed",
        "GET /api/modules/{slug}/progress",
        "GET /api/courses/{slug}/progress",
    }
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # its one input, a slug of any text, has no invalid value that reaches the server
        strategies = [operation.as_strategy(generation_mode=mode, headers=headers)]
        kind = next((kind for kind in real_slugs if f"/{kind}s/" in operation.path), None)
        if kind and mode is GenerationMode.POSITIVE:
            strategies.append(
                operation.as_strategy(
                    generation_mode=mode,
                    headers=headers,
                    path_parameters={"slug": real_slugs[kind]},
                )
            )
        for strategy in strategies:
            try:
                run_cases(strategy)
            except Exception as error:
                error.add_note(f"operation: {operation.label}, {mode}")
                raise


def run_cases(strategy) -> None:
    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(checks=CHECKS)

    check()
