"""Side doors, round 18: what a page answers to a method it does not take, the API's read of the
open visit, and an API body that is not JSON."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from madoguchi.audit.models import AuditEvent
from madoguchi.desk import services
from tests import checklistkit
from tests.desk.test_text_rules import _start, staff_client  # noqa: F401

pytestmark = pytest.mark.django_db


def _reads(after):
    return list(
        AuditEvent.objects.filter(seq__gt=after, event_name="identity.record_read").values_list(
            "payload__page", flat=True
        )
    )


def _last_seq():
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _methods(view):
    """The methods a view function takes, as Django's require_http_methods (and require_GET,
    require_POST, require_safe) keep them in their closure; None when it takes any."""
    seen = set()
    while view is not None and id(view) not in seen:
        seen.add(id(view))
        for name, cell in zip(
            getattr(getattr(view, "__code__", None), "co_freevars", ()),
            getattr(view, "__closure__", None) or (),
            strict=True,
        ):
            if name == "request_method_list":
                return cell.cell_contents
        view = getattr(view, "__wrapped__", None)
    return None


def _patterns(resolver, prefix=""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, prefix + str(pattern.pattern))
        else:
            assert isinstance(pattern, URLPattern)
            yield prefix + str(pattern.pattern), pattern.callback


def test_every_page_says_which_methods_it_takes():
    """A page view with no method restriction answered PUT, PATCH, DELETE, OPTIONS and HEAD as
    a GET: the whole page, and on the desk's a read of the resident's records recorded for
    each. Every page (the admin's and the API's have their own) now names its methods."""
    unrestricted = [
        route
        for route, view in _patterns(get_resolver())
        if not route.startswith(("admin/", "api/", "i18n/")) and _methods(view) is None
    ]
    assert unrestricted == []


@pytest.mark.parametrize("method", ["HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/desk/visit/", "/desk/visit/confirm/"])
def test_a_desk_page_refuses_other_methods_and_records_no_read(
    trusted,
    staff_client,  # noqa: F811
    method,
    path,
):
    _start(staff_client, trusted.card("A"))
    services.procedure_prepare(
        desk_session=staff_client.desk, kind="test_link", fields={"account": "PAY-1", "points": 1}
    )
    checklistkit.tick_before(staff_client.desk)
    before = _last_seq()
    response = staff_client.generic(method, path)
    assert response.status_code == 405
    assert "GET" in response["Allow"]
    assert _reads(before) == []
    if method != "HEAD":
        assert "このアドレスは" in response.content.decode()
    # The page itself still records its read.
    assert staff_client.get(path).status_code == 200
    assert _reads(before) == [{"/desk/visit/": "desk.visit"}.get(path, "desk.confirm")]


def test_the_apis_open_visit_records_a_read_as_the_page_does(
    trusted,
    staff_client,  # noqa: F811
):
    """GET /api/v1/visits/current gives what the desk page shows (the procedures' names,
    kana, masked accounts) and recorded no read: the resident's page did not show it."""
    visit = _start(staff_client, trusted.card("A"))
    services.procedure_prepare(
        desk_session=staff_client.desk, kind="test_link", fields={"account": "PAY-1", "points": 1}
    )
    before = _last_seq()
    response = staff_client.get("/api/v1/visits/current")
    assert response.status_code == 200
    event = AuditEvent.objects.get(seq__gt=before, event_name="identity.record_read")
    assert event.payload["page"] == "desk.api.visit"
    assert event.subject_id == str(visit.holder_id)
    # The poll the desk page makes every second shows no resident's data and records none.
    before = _last_seq()
    assert staff_client.get("/api/v1/visits/current/state").status_code == 200
    assert _reads(before) == []


@pytest.mark.parametrize(
    ("body", "said_en", "said_ja"),
    [
        (b'{"kind": "test_link", "fie', "not valid JSON (line 1, column 23)", "1 行目、23 文字目"),
        (b'{"kind": "test_link"} xx', "not valid JSON (line 1, column 23)", "1 行目、23 文字目"),
        ('{"kind": "\xe9"}'.encode("latin-1"), "not UTF-8", "UTF-8 の文字列ではありません"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply", "入れ子が深すぎて"),
    ],
)
def test_an_api_body_that_is_not_json_is_refused_in_each_language(
    trusted,
    staff_client,  # noqa: F811
    body,
    said_en,
    said_ja,
):
    """Such a body was answered `http_error` with ninja's English ("Cannot parse request
    body") inside the Japanese sentence."""
    visit = _start(staff_client, trusted.card("A"))
    response = staff_client.post(
        "/api/v1/visits/current/procedures", body, content_type="application/json"
    )
    assert response.status_code == 400
    data = response.json()
    assert data["code"] == "bad_request"
    assert said_en in data["message"]
    assert "Nothing was stored" in data["message"]
    assert said_ja in data["message_ja"]
    assert "Cannot" not in data["message_ja"]
    assert "parse" not in data["message_ja"]
    assert not visit.procedures.exists()
