"""Round 19 (docs/security.md): the points ledger, a submitted daily report and a case's
timeline refuse change through a queryset (update, delete, bulk_update, an upsert) and through
the application's raw SQL, on PostgreSQL and on SQLite."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from madoguchi.benefits import services as benefits_services
from madoguchi.benefits.models import ImmutableError, LedgerEntry
from madoguchi.cases import services as cases
from madoguchi.cases.models import TimelineEntry, TimelineImmutableError
from tests.benefits import builders
from tests.cases.conftest import open_case

pytestmark = pytest.mark.django_db


def _refused_sql(*statements):
    for sql in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_ledger_refuses_an_upsert_bulk_update_and_raw_sql_on_every_database():
    h = builders.holder()
    builders.link(
        h,
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010000000000001",
    )
    benefits_services.grants_evaluate(h)
    entry = LedgerEntry.objects.first()
    before = entry.amount
    copy = LedgerEntry(
        pk=entry.pk,
        transfer_id=entry.transfer_id,
        account_id=entry.account_id,
        amount=999_999,
    )
    with pytest.raises(ImmutableError):
        LedgerEntry.objects.bulk_create(
            [copy], update_conflicts=True, unique_fields=["id"], update_fields=["amount"]
        )
    with pytest.raises(ImmutableError):
        LedgerEntry.objects.bulk_update([copy], ["amount"])
    # SQLite had no trigger: the demo's and a pilot desk's ledger took these.
    _refused_sql(
        f"UPDATE benefits_ledgerentry SET amount = 999999 WHERE id = {entry.pk}",
        "DELETE FROM benefits_ledgertransfer",
    )
    entry.refresh_from_db()
    assert entry.amount == before


def test_a_case_timeline_entry_refuses_a_queryset_and_raw_sql(official):
    case = open_case(official)
    cases.case_investigate(case, actor=official, summary="調査", event_date=timezone.localdate())
    entry = TimelineEntry.objects.filter(case=case).last()
    with pytest.raises(TimelineImmutableError):
        TimelineEntry.objects.filter(pk=entry.pk).update(summary="nothing happened")
    with pytest.raises(TimelineImmutableError):
        TimelineEntry.objects.filter(pk=entry.pk).delete()
    _refused_sql(
        f"UPDATE cases_timelineentry SET summary = 'nothing happened' WHERE id = {entry.pk}",
        f"DELETE FROM cases_timelineentry WHERE id = {entry.pk}",
    )
    entry.refresh_from_db()
    assert entry.summary == "調査"
