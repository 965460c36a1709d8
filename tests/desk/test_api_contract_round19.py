"""Side doors round 19 (docs/security.md): what an integrator building on the API from its
description meets: a chunked body, a body too large, the description's own methods, an unknown
programme's code, and a deadlock said as one."""

import json

import pytest
from django.db import OperationalError
from django.test import Client

from madoguchi.desk.models import Procedure
from tests.desk.test_text_rules import _start, staff_client  # noqa: F401 -- fixture

BODY = json.dumps({"kind": "test_link", "fields": {"account": "PAY-1", "points": 5}})
URL = "/api/v1/visits/current/procedures"


def test_a_chunked_body_is_refused_411_not_read_as_empty(
    trusted,
    staff_client,  # noqa: F811
):
    """Django reads a body by its Content-Length: a chunked one was read as nothing and
    refused as "Field required", naming no field."""
    visit = _start(staff_client, trusted.card("A"))
    r = staff_client.generic(
        "POST", URL, BODY, content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )
    assert r.status_code == 411, r.content
    assert r.json()["code"] == "length_required"
    assert "Content-Length" in r.json()["message"]
    assert "分割して送られた本文" in r.json()["message_ja"]
    assert not Procedure.objects.filter(visit=visit).exists()


def test_a_body_over_the_limit_is_413_with_the_limit(
    trusted,
    settings,
    staff_client,  # noqa: F811
):
    _start(staff_client, trusted.card("A"))
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"kind": "test_link", "fields": {"account": "P" * 2000, "points": 5}})
    r = staff_client.post(URL, big, content_type="application/json")
    assert r.status_code == 413, r.content
    data = r.json()
    assert data["code"] == "too_large"
    assert "at most 1,000 bytes" in data["message"]
    assert "最大 1,000 バイト" in data["message_ja"]
    assert "Go back to the start" not in data["message"]


def test_a_page_form_over_the_limit_says_so_too(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = client.post("/accounts/sign-in/?lang=en", {"username": "x" * 2000, "password": "y"})
    assert r.status_code == 413
    assert "larger than the server accepts (at most 1,000 bytes)" in r.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_the_api_description_answers_get_and_head_only(client, path, method):
    r = client.generic(method, path)
    assert r.status_code == 405, (method, path, r.status_code)
    assert r["Allow"] == "GET, HEAD"
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200


def test_an_unknown_programme_is_named_only_when_it_has_a_codes_shape(
    trusted,
    staff_client,  # noqa: F811
):
    _start(staff_client, trusted.card("A"))

    def apply(programme):
        body = {
            "kind": "point_application",
            "fields": {"programme": programme, "provider": "sim-pay", "account": "1"},
        }
        return staff_client.post(URL, json.dumps(body), content_type="application/json").json()

    markup = apply("<script>alert(1)</script>" + "x" * 20_000)
    assert "<script>" not in json.dumps(markup)
    assert len(json.dumps(markup, ensure_ascii=False)) < 2_000
    assert "No programme has the code given" in json.dumps(markup)
    named = apply("no-such-programme")
    assert "no-such-programme" in json.dumps(named)


def test_a_deadlock_is_said_as_two_requests_at_once_not_an_unreachable_database(
    trusted,
    monkeypatch,
    staff_client,  # noqa: F811
):
    """PostgreSQL's deadlock detector stopping a request (SQLSTATE 40P01) was answered "the
    system's database cannot be reached"."""
    from madoguchi.desk import api as desk_api

    _start(staff_client, trusted.card("A"))

    class Deadlock(Exception):
        sqlstate = "40P01"

    def stopped(*args, **kwargs):
        try:
            raise Deadlock("deadlock detected")
        except Deadlock as cause:
            raise OperationalError("deadlock detected") from cause

    monkeypatch.setattr(desk_api.services, "visit_current", stopped)
    staff_client.raise_request_exception = False
    r = staff_client.get("/api/v1/visits/current")
    assert r.status_code == 503
    assert r["Retry-After"] == "1"
    assert r.json()["code"] == "database_conflict"
    assert "at the same moment" in r.json()["message"]


def test_an_anonymous_write_is_401_before_any_csrf_check():
    r = Client(enforce_csrf_checks=True).post(URL, BODY, content_type="application/json")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"
