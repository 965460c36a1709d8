"""The insured numbers a health-insurance procedure keeps only until its commit are removed from
the stored procedure however it leaves the pending state: committed, discarded, its visit ended
(card removed) or its completion refused."""

import pytest

from madoguchi.benefits.models import OutsideCall
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import AgentEventKind, ProcedureStatus
from madoguchi.desk.models import Procedure
from tests.benefits.conftest import commit, drain, prepare, start_visit

pytestmark = pytest.mark.usefixtures("providers", "systems")

HI = {
    "insurer_number": "06139992",
    "insured_symbol": "SYM-7731",
    "insured_number": "88120045",
    "branch": "01",
    # Card C's holder (山田 太郎, 1990-01-15, male), as the insurer has them.
    "resident_birth_date": "1990-01-15",
    "resident_sex": "1",
    "resident_kana": "ヤマダ タロウ",
    "resident_kana_confirmed": True,
}


def _stored(p):
    return Procedure.objects.get(pk=p.pk)


def _assert_scrubbed(p, status):
    stored = _stored(p)
    assert stored.status == status
    assert not [k for k in stored.fields if k.startswith("_")]
    text = str(stored.fields)
    assert "SYM-7731" not in text
    assert "88120045" not in text
    assert stored.fields["insured_last4"] == "0045"


def test_kept_while_pending(trusted, desk):
    start_visit(desk, trusted.card("C"))
    p = prepare(desk, kind="health_insurance_use", **HI)
    # The insurer needs them at the commit, after the card has signed.
    assert _stored(p).fields["_insured"]["number"] == "88120045"


def test_removed_when_discarded(trusted, desk):
    start_visit(desk, trusted.card("C"))
    p = prepare(desk, kind="health_insurance_use", **HI)
    desk_services.procedure_discard(desk_session=desk, procedure_id=p.pk)
    _assert_scrubbed(p, ProcedureStatus.DISCARDED)


def test_removed_when_the_card_is_removed(trusted, desk):
    c = trusted.card("C")
    start_visit(desk, c)
    p = prepare(desk, kind="health_insurance_use", **HI)
    desk_services.agent_event(
        terminal=desk.terminal, kind=AgentEventKind.REMOVED, cert_fingerprint=None
    )
    _assert_scrubbed(p, ProcedureStatus.DISCARDED)


def test_removed_when_the_insurer_refuses_after_the_commit(trusted, desk):
    """The numbers leave the procedure at the commit; the outbox keeps them only until the
    insurer answered (here: refused, registered to another card)."""
    c = trusted.card("C")
    start_visit(desk, c)
    p = prepare(
        desk,
        kind="health_insurance_use",
        **{**HI, "insured_number": "88120099", "branch": "00"},
    )
    commit(desk, c)
    stored = _stored(p)
    assert stored.status == ProcedureStatus.COMMITTED
    assert not [k for k in stored.fields if k.startswith("_")]
    assert "88120099" not in str(stored.fields)
    call = OutsideCall.objects.get()
    assert call.payload["insured_number"] == "88120099"  # needed for the call, until answered
    assert drain().count("refused") == 1
    call.refresh_from_db()
    assert call.state == "refused"
    assert call.result == {"code": "registered_to_another_card"}
    assert "88120099" not in str(call.payload)
    assert "SYM-7731" not in str(call.payload)
