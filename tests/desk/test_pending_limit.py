"""A visit holds at most `VISIT_PENDING_PROCEDURES_MAX` pending procedures (a fuzz left 280 in
one, each an outside look-up): the next is refused, saying why, before any look-up."""

import pytest

from madoguchi.desk import procedures as registry
from madoguchi.desk import services
from madoguchi.desk.constants import ProcedureStatus
from madoguchi.desk.models import Procedure
from tests.compiling import compiled_queries
from tests.desk import test_text_rules

staff_client = test_text_rules.staff_client  # the enrolled terminal with desk staff signed in
_start = test_text_rules._start

FIELDS = {"account": "PAY-A-1", "points": 5}


def _prepare(client):
    return services.procedure_prepare(desk_session=client.desk, kind="test_link", fields=FIELDS)


@pytest.fixture
def full_visit(trusted, staff_client, settings):
    settings.VISIT_PENDING_PROCEDURES_MAX = 3
    visit = _start(staff_client, trusted.card("A"))
    held = [_prepare(staff_client) for _ in range(3)]
    return visit, held


def test_the_api_refuses_a_procedure_beyond_the_limit_before_its_look_up(
    full_visit, staff_client, monkeypatch
):
    visit, held = full_visit
    looked_up = []
    handler = registry.get("test_link")
    clean = handler.clean
    monkeypatch.setattr(handler, "clean", lambda v, f: looked_up.append(f) or clean(v, f))
    r = staff_client.post(
        "/api/v1/visits/current/procedures",
        {"kind": "test_link", "fields": FIELDS},
        content_type="application/json",
    )
    assert r.status_code == 409, r.content
    body = r.json()
    assert body["code"] == "too_many_pending"
    assert "already holds 3 procedures" in body["message"]
    assert "discard" in body["message"]
    assert "3件の手続き" in body["message_ja"]
    assert looked_up == []
    assert Procedure.objects.filter(visit=visit).count() == 3
    # One discarded, one more may be added.
    services.procedure_discard(desk_session=staff_client.desk, procedure_id=held[0].pk)
    assert _prepare(staff_client).status == ProcedureStatus.PENDING
    assert looked_up == [FIELDS]


def test_the_page_says_why_in_japanese(full_visit, staff_client):
    visit, _ = full_visit
    r = staff_client.post(
        "/desk/visit/procedures/test_link/",
        {"visit": visit.reference, "account": "PAY-A-1", "points": "5"},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "すでに3件の手続きが来庁者の確認を待っています" in html
    assert "取り消してから" in html
    assert Procedure.objects.filter(visit=visit).count() == 3


def test_the_cap_counts_with_sql_compiled_once_per_process(trusted, staff_client, settings):
    """The cap's two counts (before the look-up, again under the visit's lock) run SQL compiled
    once per process (issue 15, thirteenth round: each was a queryset built and compiled on every
    prepare, ~3% of the server's CPU on the completion path); what they count is unchanged: only
    this visit's pending procedures."""
    visit = _start(staff_client, trusted.card("A"))
    first = _prepare(staff_client)  # warm: every read of a prepare compiled once
    with compiled_queries() as compiled:
        services.visits.procedures._refuse_beyond_pending_limit(visit)
    assert compiled == []
    settings.VISIT_PENDING_PROCEDURES_MAX = 2
    services.procedure_discard(desk_session=staff_client.desk, procedure_id=first.pk)
    held = [_prepare(staff_client) for _ in range(2)]  # the discarded one is not counted
    with pytest.raises(services.VisitRefused) as refused:
        _prepare(staff_client)
    assert refused.value.code == "too_many_pending"
    assert "2 pending" in refused.value.detail
    assert Procedure.objects.filter(visit=visit, status=ProcedureStatus.PENDING).count() == len(
        held
    )
