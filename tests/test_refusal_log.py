"""A refused request is one line in the server's log (who, what, why), not a traceback: Django
logs PermissionDenied (403) and SuspiciousOperation (400) with the exception attached, so each
refusal printed a whole traceback as if the server had failed. A 5xx keeps its traceback."""

import io
import logging
import sys

import pytest

from madoguchi.core.logfilters import RefusalsOnOneLine
from tests import factories


@pytest.fixture
def server_log():
    """What the server's console handler (settings.LOGGING) writes, as text."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def test_a_forbidden_page_is_one_line_naming_who_what_and_why(client, db, server_log):
    user = factories.staff()
    client.force_login(user)
    assert client.get("/officials/", REMOTE_ADDR="192.0.2.7").status_code == 403
    log = server_log.getvalue()
    assert "Traceback" not in log
    [line] = log.splitlines()
    assert line == (
        f"Forbidden (Permission denied): /officials/ (GET by {user.username} from 192.0.2.7): "
        "city officials and contractor supervisors only"
    )


def test_a_refused_host_is_one_line_too(client, db, server_log):
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400
    log = server_log.getvalue()
    assert "Traceback" not in log
    [line] = log.splitlines()
    assert "Invalid HTTP_HOST header: 'evil.example'" in line
    assert "(GET by anonymous from 127.0.0.1)" in line


def test_a_server_error_keeps_its_traceback():
    try:
        raise ZeroDivisionError("a fault")
    except ZeroDivisionError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            ("/desk/",),
            sys.exc_info(),
        )
    record.status_code = 500
    assert RefusalsOnOneLine().filter(record)
    text = logging.Formatter().format(record)
    assert "Traceback" in text
    assert "ZeroDivisionError: a fault" in text


def test_a_csrf_refusal_is_one_line_naming_who_from_where_and_why(db, server_log):
    """Django's CSRF check logs its refusal without an exception: the line was "Forbidden
    (CSRF token missing.): /cases/new/", without who asked or from where, which every other
    refusal's line says."""
    from django.test import Client

    user = factories.staff()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/accounts/sign-out/", REMOTE_ADDR="192.0.2.9").status_code == 403
    log = server_log.getvalue()
    [line] = log.splitlines()
    assert line == (
        f"Forbidden (CSRF): /accounts/sign-out/ (POST by {user.username} from 192.0.2.9): "
        "CSRF cookie not set."
    )


def test_an_api_refusal_is_one_line_naming_who_from_where_and_its_code(client, db, server_log):
    """ninja answers its refusals rather than raising them: Django logged them bare,
    "Unauthorized: /api/v1/visits/current", without who, from where or why (round 19)."""
    assert client.get("/api/v1/visits/current", REMOTE_ADDR="192.0.2.8").status_code == 401
    r = client.post(
        "/api/v1/agent/events",
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer forged",
        REMOTE_ADDR="192.0.2.9",
    )
    assert r.status_code == 401
    lines = server_log.getvalue().splitlines()
    assert lines[0] == (
        "Unauthorized: /api/v1/visits/current (GET by anonymous from 192.0.2.8): unauthenticated"
    )
    assert lines[-1].startswith("Unauthorized: /api/v1/agent/events (POST by anonymous from ")
    assert "192.0.2.9" in lines[-1]
