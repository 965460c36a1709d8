"""Issue 15, fuzzing: schemathesis against /api/v1/openapi.json, over real HTTP.

A live server (pytest-django's, threaded) serves the API; the desk is enrolled and its staff
member signed in over HTTP (the desk API's cookie, CSRF token and browser binding), and the
agent's requests carry the terminal's credential, so the generated requests reach the handlers,
not only the authentication. For every operation, schemathesis generates requests from the
schema (valid and invalid ones) and checks each answer: never a 5xx, the status code, content
type, headers and body as the schema documents them, and invalid requests refused. Bounded: a
few examples per operation and generation mode; run once, in the PostgreSQL pass.
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests import factories, httpdesk

EXAMPLES = 8
# Domain rules refuse some schema-valid requests with a documented 4xx refusal (a procedure kind
# that is not installed, an `at` that is no ISO 8601 time): not a failure of the contract.
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
# The API's contract does not depend on the database: run once, in the PostgreSQL pass.
pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        "postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
        reason="PostgreSQL pass only",
    ),
]


@pytest.fixture
def desk_http(live_server, transactional_db):
    """Request headers of an enrolled, signed-in desk browser and of its terminal's agent."""
    base = live_server.url
    terminal = factories.terminal()
    staff = factories.staff()
    with httpx.Client(base_url=base, timeout=120) as http:
        raw = httpdesk.enrol_and_sign_in(http, base, terminal, staff)
        cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        csrf = http.cookies.get("csrftoken") or ""
    return {
        "Cookie": cookies,
        "X-CSRFToken": csrf,
        "Origin": base,
        "Referer": base + "/",
        "Authorization": f"Bearer {raw}",
    }


def _fuzz(operation, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)

    run()


def test_the_api_answers_every_generated_request_as_documented(live_server, desk_http):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    # Invalid requests keep what schemathesis made of the credentials (it may leave them out on
    # purpose: the request must then be refused); valid ones carry the desk's.
    same_origin = {k: desk_http[k] for k in ("Origin", "Referer")}
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in GenerationMode:
            headers = desk_http if mode == GenerationMode.POSITIVE else same_origin
            try:
                _fuzz(operation, mode, headers)
            except (Exception, BaseExceptionGroup) as exc:  # every failed check, in one error
                name = f"{operation.method.upper()} {operation.path} ({mode.value})"
                failures[name] = str(exc)[:2000]
    assert operations >= 9
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
