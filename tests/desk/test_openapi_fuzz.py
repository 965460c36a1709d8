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

import re
from collections.abc import Callable

import httpx
import pytest
import schemathesis
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from madoguchi.desk.api import VISIT_HEADER
from tests import factories, httpdesk
from tests.fuzzing import DERANDOMIZE, examples
from tests.visits import LIVE_PRESENCE_TIMEOUT_SECONDS

EXAMPLES = examples(8)
VISIT_EXAMPLES = examples(4)
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


def _fuzz(
    operation,
    mode: GenerationMode,
    headers: dict[str, str],
    *,
    count: int = EXAMPLES,
    checks: list | None = None,
    visit: Callable[[], str | None] | None = None,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=DERANDOMIZE,
        database=None,
    )
    def run(case):
        if visit is not None and case.headers and VISIT_HEADER in case.headers:
            # As the desk page's script: the visit it shows, the one open. A generated value
            # names no visit, refused before the call reaches the visit's rules (the first
            # test meets that refusal); a call without the header is generated too.
            case.headers[VISIT_HEADER] = visit()
        case.call_and_validate(
            headers=headers, excluded_checks=EXCLUDED, additional_checks=checks or []
        )

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


# --- with a visit open, in both languages: every refusal says why --------------------------------

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
# The operations that end the visit (or hand it over) run last, so that the others meet it open.
LAST = ("/visits/current/complete", "/visits/current/handover", "/visits/current/end")


def refusal_says_why(ctx, response, case) -> None:  # a schemathesis check
    """A refusal's body: its code, an English sentence and a Japanese one, whatever language
    the request asked for (the API answers both; the desk page picks one)."""
    if response.status_code < 400:
        return
    body = response.json()
    message, message_ja = body.get("message", ""), body.get("message_ja", "")
    assert body.get("code"), body
    assert message.strip() == message, body
    assert len(message) >= 10, body
    assert message[0].isupper() or message[0].isdigit() or message[0] in "'\"/", body
    assert message.rstrip(")'\"").endswith((".", "?", "!")), body
    assert not JAPANESE.search(message), body
    assert JAPANESE.search(message_ja), body
    assert message_ja.strip() == message_ja, body
    assert message_ja.rstrip("）)」").endswith(("。", "？")), body


def _order(operation) -> int:
    return next((i + 1 for i, tail in enumerate(LAST) if operation.path.endswith(tail)), 0)


def test_an_open_visit_answers_every_generated_request_with_a_reason_in_both_languages(
    live_server, desk_http, trusted, settings
):
    """The first test meets no visit: most of the desk's operations stop at "no visit is open".
    Here the resident's card has opened one before each operation (as the desk's page does), so
    the generated procedures, challenges and completions reach the visit's own rules; the
    requests alternate `Accept-Language: en` and `ja`, and every refusal must carry its code, an
    English sentence in `message` and a Japanese one in `message_ja`."""
    from madoguchi.desk import services
    from madoguchi.terminals.models import DeskSession
    from tests import cardkit

    settings.VISIT_PRESENCE_TIMEOUT_SECONDS = LIVE_PRESENCE_TIMEOUT_SECONDS
    desk_session = DeskSession.objects.get(closed_at__isnull=True)
    card = trusted.card("A")

    def open_visit() -> None:
        if services.visit_current(desk_session=desk_session) is not None:
            return
        nonce = services.auth_challenge(desk_session=desk_session).value
        token = cardkit.auth_token(card, settings.MADOGUCHI_ORIGIN, nonce)
        services.visit_start(desk_session=desk_session, token=token, nonce=nonce)

    def open_reference() -> str:
        """The page's visit: the open one (opened again if a call before ended it)."""
        open_visit()
        visit = services.visit_current(desk_session=desk_session)
        assert visit is not None
        return visit.reference

    answered: set[tuple[str, int]] = set()
    # The operations a call naming the open visit in `X-Madoguchi-Visit` (as the desk page's
    # script does) reached, past the header's check: its own rules answered.
    reached: set[str] = set()

    def tally(ctx, response, case) -> None:
        answered.add((case.operation.path, response.status_code))
        code = response.json().get("code") if response.status_code >= 400 else None
        named = response.request.headers.get(VISIT_HEADER)
        signed_in = "X-CSRFToken" in response.request.headers  # a positive case
        if signed_in and named and code not in ("visit_changed", "csrf_failed"):
            reached.add(case.operation.path)

    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = sorted((r.ok() for r in schema.get_all_operations()), key=_order)
    failures: dict[str, str] = {}
    for operation in operations:
        for mode, language in ((GenerationMode.POSITIVE, "ja"), (GenerationMode.NEGATIVE, "en")):
            open_visit()
            headers = {**desk_http, "Accept-Language": language}
            if mode == GenerationMode.NEGATIVE:
                headers = {k: headers[k] for k in ("Origin", "Referer", "Accept-Language")}
            try:
                _fuzz(
                    operation,
                    mode,
                    headers,
                    count=VISIT_EXAMPLES,
                    checks=[refusal_says_why, tally],
                    visit=open_reference if mode == GenerationMode.POSITIVE else None,
                )
            except (Exception, BaseExceptionGroup) as exc:
                name = f"{operation.method.upper()} {operation.path} ({mode.value}, {language})"
                failures[name] = str(exc)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    # The visit was open: its state was read and generated procedures reached its rules.
    assert ("/api/v1/visits/current", 200) in answered
    assert {status for path, status in answered if path.endswith("/procedures")} - {422}
    # Every writing call naming the open visit reached its rules: a generated value names no
    # visit and is refused before them (the first test meets that refusal), so the cases that
    # carry the header name the open one, as the desk page does.
    writing = {
        p
        for p, o in schema.raw_schema["paths"].items()
        for op in o.values()
        if any(x.get("name") == VISIT_HEADER for x in op.get("parameters", []))
    }
    assert len(writing) >= 8, writing
    assert writing - reached == set()
