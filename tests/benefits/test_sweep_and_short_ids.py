"""Issue 11 item 11: the sweeper ends abandoned visits and purges what they held; identifiers of
4 characters or fewer are never stored or shown whole."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits import identifiers
from madoguchi.desk.constants import ProcedureStatus, VisitEndReason
from madoguchi.desk.models import Procedure, Visit
from madoguchi.desk.sweep import procedures_holding_private_fields, sweep
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from tests.benefits.conftest import prepare, start_visit

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


def test_sweep_ends_an_abandoned_visit_and_purges_the_insured_numbers(trusted, desk, settings):
    visit = start_visit(desk, trusted.card("C"))
    p = prepare(desk, kind="health_insurance_use", **HI)
    assert Procedure.objects.get(pk=p.pk).fields["_insured"]["number"] == "88120045"
    idle_since = timezone.now() - timedelta(seconds=settings.VISIT_INACTIVITY_SECONDS + 60)
    Visit.objects.filter(pk=visit.pk).update(
        last_activity_at=idle_since, last_presence_at=idle_since
    )
    # Nobody touches the terminal again; only the sweeper runs.
    out = io.StringIO()
    call_command("sweep", stdout=out)
    assert "1 lapsed visit ended, " in out.getvalue()
    assert "(s)" not in out.getvalue()
    visit.refresh_from_db()
    assert visit.ended_at is not None
    assert visit.end_reason in (VisitEndReason.INACTIVITY, VisitEndReason.PRESENCE_LOST)
    assert visit.ended_at < timezone.now() - timedelta(seconds=30)  # when the limit passed
    stored = Procedure.objects.get(pk=p.pk)
    assert stored.status == ProcedureStatus.DISCARDED
    assert "88120045" not in str(stored.fields)
    assert "SYM-7731" not in str(stored.fields)
    assert Incident.objects.filter(kind=IncidentKind.VISIT_ENDED_WITH_PENDING, visit=visit).exists()


def test_sweep_leaves_a_live_visit_alone(trusted, desk):
    visit = start_visit(desk, trusted.card("C"))
    prepare(desk, kind="health_insurance_use", **HI)
    assert sweep().ended == 0
    visit.refresh_from_db()
    assert visit.ended_at is None


def test_sweep_purges_private_fields_left_on_ended_visits(trusted, desk):
    visit = start_visit(desk, trusted.card("C"))
    p = prepare(desk, kind="health_insurance_use", **HI)
    # A row left behind by an older version (ended, discarded, numbers still there).
    Visit.objects.filter(pk=visit.pk).update(ended_at=timezone.now(), end_reason="inactivity")
    Procedure.objects.filter(pk=p.pk).update(status=ProcedureStatus.DISCARDED)
    assert "_insured" in Procedure.objects.get(pk=p.pk).fields
    logged = AuditEvent.objects.filter(event_name="visits.private_fields_purged")
    before = logged.count()
    assert sweep().purged == 1
    assert "_insured" not in Procedure.objects.get(pk=p.pk).fields
    # The log says the stored fields changed, and how many, with no private value in it.
    assert logged.count() == before + 1
    event = logged.latest("seq")
    assert event.payload == {"count": 1}
    assert "88120045" not in str(event.payload)
    # Nothing left to purge: nothing purged, nothing logged.
    assert sweep().purged == 0
    assert logged.count() == before + 1


def test_the_purge_asks_the_database_for_the_procedures_holding_a_private_key(trusted, desk):
    """Every ended procedure is history; the sweep (every 30 s) read them all into Python to
    look for a private key. The database now names the ones that hold one, any key starting
    with "_", whatever else the fields hold."""
    visit = start_visit(desk, trusted.card("C"))
    p = prepare(desk, kind="health_insurance_use", **HI)
    Visit.objects.filter(pk=visit.pk).update(ended_at=timezone.now(), end_reason="inactivity")
    done = ProcedureStatus.DISCARDED
    Procedure.objects.filter(pk=p.pk).update(status=done)
    # Rows written past the save signal's scrub, as a queryset update or an older version left.
    rows = Procedure.objects.bulk_create(
        Procedure(visit=visit, kind="x", status=done, fields=fields)
        for fields in (
            {"a": 1, "_kept": "2"},
            {},
            {"a_b": 1, "c": "_d"},
            {"a": {"_nested": 1}},
            [1, 2],
            "_text",
        )
    )
    held = {"insured": p.pk, "other": rows[0].pk}
    clean = [row.pk for row in rows[1:]]
    pending = Procedure.objects.create(visit=visit, kind="x", fields={"_kept": 1})
    found = set(procedures_holding_private_fields().values_list("pk", flat=True))
    assert found == set(held.values())
    assert sweep().purged == 2
    assert not procedures_holding_private_fields().exists()
    assert Procedure.objects.get(pk=held["other"]).fields == {"a": 1}
    assert Procedure.objects.get(pk=pending.pk).fields == {"_kept": 1}
    assert Procedure.objects.filter(pk__in=clean).count() == len(clean)


@pytest.mark.parametrize("short", ["1", "12", "0045", "ab-1"])
def test_identifiers_of_four_characters_or_fewer_have_no_last4(short):
    assert identifiers.last4(short) == ""
    assert identifiers.masked(identifiers.last4(short)) == "＊＊＊＊"
    assert identifiers.last4("70100001") == "0001"


def test_a_short_insured_number_is_never_stored_or_shown_whole(trusted, desk):
    start_visit(desk, trusted.card("C"))
    p = prepare(desk, kind="health_insurance_use", **{**HI, "insured_number": "7", "branch": "00"})
    stored = Procedure.objects.get(pk=p.pk)
    shown = {k: v for k, v in stored.fields.items() if not k.startswith("_")}
    assert shown["insured_last4"] == ""
    assert shown["insured"] == "＊＊＊＊"
