"""Ledger rules: immutability, one effective grant per category, remediation, payouts."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from madoguchi.benefits import identifiers, ledger, services
from madoguchi.benefits.constants import AccountKind, GrantStatus, LinkStatus, TransferKind
from madoguchi.benefits.models import Grant, LedgerEntry, LedgerTransfer, PaymentLink, PayoutBatch
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from tests.benefits import builders


@pytest.fixture
def world(db):
    prog = builders.programme()
    prov = builders.provider()
    return prog, prov


def test_identifier_hash_and_comparison(settings):
    h = identifiers.identifier_hash("7010000000000001")
    assert len(h) == 64
    assert "7010000000000001" not in h
    assert identifiers.identifier_matches(
        "７０１０-0000 0000 0001", h
    )  # typed with full-width digits
    assert not identifiers.identifier_matches("7010000000000002", h)
    settings.IDENTIFIER_HASH_KEY = "another key"
    assert not identifiers.identifier_matches("7010000000000001", h)  # keyed


def test_entries_refuse_update_and_delete(world):
    prog, prov = world
    h = builders.holder()
    link = builders.link(h, programme=prog, provider=prov, account="7010000000000001")
    services.grants_evaluate(h)
    transfer = LedgerTransfer.objects.first()
    entry = LedgerEntry.objects.first()
    for action in (transfer.save, transfer.delete, entry.save, entry.delete):
        with pytest.raises(ledger_immutable()):
            action()
    with pytest.raises(ledger_immutable()):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=1)
    with pytest.raises(ledger_immutable()):
        LedgerEntry.objects.all().delete()
    assert link.grants.count() == 2


def ledger_immutable():
    from madoguchi.benefits.models import ImmutableError

    return ImmutableError


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_postgresql_trigger_refuses_raw_sql(world):
    prog, prov = world
    h = builders.holder()
    builders.link(h, programme=prog, provider=prov, account="7010000000000001")
    services.grants_evaluate(h)
    for sql in (
        "UPDATE benefits_ledgerentry SET amount = 1",
        "DELETE FROM benefits_ledgertransfer",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_one_effective_grant_per_holder_and_category(world):
    prog, prov = world
    h = builders.holder()
    link = builders.link(h, programme=prog, provider=prov, account="7010000000000001")
    ledger.grant(
        holder=h,
        programme=prog,
        version=link.programme_version,
        category="c1",
        points=100,
        link=link,
    )
    with pytest.raises(Refusal) as exc:
        ledger.grant(
            holder=h,
            programme=prog,
            version=link.programme_version,
            category="c1",
            points=100,
            link=link,
        )
    assert exc.value.code == "grant_exists"
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.create(
            holder=h,
            programme=prog,
            programme_version=link.programme_version,
            category="c1",
            points=1,
        )


def test_card_acquisition_is_25_percent_capped(world):
    prog, prov = world
    h = builders.holder()
    link = builders.link(h, programme=prog, provider=prov, account="7010000000000001")
    assert services.card_acquisition_grant(link, charged_yen=10_000, source_ref="r1").points == 2500
    h2 = builders.holder()
    link2 = builders.link(h2, programme=prog, provider=prov, account="7010000000000002")
    assert (
        services.card_acquisition_grant(link2, charged_yen=1_000_000, source_ref="r2").points
        == 5000
    )


def test_mislink_remediation_suspend_return_replace_regrant(world):
    """The Sakai case: B's account linked under A; A's points paid into it."""
    prog, prov = world
    a = builders.holder()
    wrong = builders.link(a, programme=prog, provider=prov, account="7010000000000003")
    services.grants_evaluate(a)  # 100 + 250
    ledger.post_payout(wrong, 100, batch_id="b1", item_id="1")
    assert ledger.holder_balances(a, prog) == {"due": 250, "suspended": 0, "paid": 100}

    services.link_suspend(wrong, actor=None, reason="mis-link found")
    wrong.refresh_from_db()
    assert wrong.status == LinkStatus.SUSPENDED
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 250, "paid": 100}
    # A suspended link still holds the resident's place and the account stays blocked for others.
    services.ledger_return(wrong, actor=None, reason="returned by B's account")
    assert set(Grant.objects.filter(link=wrong).values_list("status", flat=True)) == {
        GrantStatus.RETURNED
    }
    assert ledger.holder_balances(a, prog) == {"due": 0, "suspended": 0, "paid": 0}
    assert ledger.balance(ledger.account(AccountKind.FUNDING, prog)) == 0
    # Returning twice returns nothing more.
    assert services.ledger_return(wrong, actor=None, reason="again") is None

    with pytest.raises(Refusal):
        services.ledger_regrant(
            Grant.objects.filter(link=wrong).first(), to_link=wrong, actor=None, reason="x"
        )
    services.link_replace_via_case(wrong, actor=None, case_ref="CASE-1", reason="A's own account")
    right = builders.link(a, programme=prog, provider=prov, account="7010000000000001")
    for g in Grant.objects.filter(link=wrong):
        services.ledger_regrant(g, to_link=right, actor=None, reason="CASE-1")
    assert ledger.holder_balances(a, prog)["due"] == 350
    assert Grant.objects.filter(holder=a, status=GrantStatus.EFFECTIVE).count() == 2
    # B can now link their own account.
    b = builders.holder()
    builders.link(b, programme=prog, provider=prov, account="7010000000000003")


def test_replace_needs_a_suspended_link(world):
    prog, prov = world
    link = builders.link(
        builders.holder(), programme=prog, provider=prov, account="7010000000000001"
    )
    with pytest.raises(Refusal) as exc:
        services.link_replace_via_case(link, actor=None, case_ref="C", reason="r")
    assert exc.value.code == "link_not_suspended"


@pytest.mark.usefixtures("systems")
def test_payout_batch_is_idempotent(world, sims):
    prog, prov = world
    h = builders.holder()
    link = builders.link(
        h, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(h)
    batch = services.payout_batch_create(prov, prog)
    assert batch.items.count() == 1
    assert services.payout_batch_create(prov, prog) is None  # in a batch already
    services.payout_batch_send(batch)
    services.payout_batch_send(batch)  # a repeat posts nothing more
    assert LedgerTransfer.objects.filter(kind=TransferKind.PAYOUT).count() == 1
    assert ledger.holder_balances(h, prog) == {"due": 0, "suspended": 0, "paid": 350}
    batch.refresh_from_db()
    assert batch.payout_ref
    assert services.payout_batch_create(prov, prog) is None  # nothing due
    assert PayoutBatch.objects.count() == 1
    assert link.pk


@pytest.mark.usefixtures("systems")
def test_payout_failure_records_an_incident_and_can_be_resent(world, sims):
    prog, prov = world
    h = builders.holder()
    builders.link(
        h, programme=prog, provider=prov, account="7010000000000001", account_ref="simpay-acct-0001"
    )
    services.grants_evaluate(h)
    batch = services.payout_batch_create(prov, prog)
    sims.provider.control.set(fail_next=5)
    with pytest.raises(Refusal) as exc:
        services.payout_batch_send(batch)
    assert exc.value.code == "outside_unavailable"
    assert Incident.objects.filter(
        kind="outside_failure", reason_code="outside_unavailable"
    ).exists()
    assert not LedgerTransfer.objects.filter(kind=TransferKind.PAYOUT).exists()
    sims.provider.control.set(fail_next=0)
    services.payout_batch_send(batch)
    assert ledger.holder_balances(h, prog)["paid"] == 350


def test_programme_edits_create_versions(world):
    prog, _ = world
    v1 = prog.current_version()
    v1.name_ja = "changed"
    with pytest.raises(ValueError, match="never changed"):
        v1.save()
    v2 = services.programme_version_create(
        prog,
        name_ja="テスト事業（改定）",
        opens_at=v1.opens_at,
        closes_at=v1.closes_at,
        categories=[
            {
                "code": "c1",
                "label_ja": "申込",
                "kind": "fixed",
                "points": 300,
                "trigger": "application",
            }
        ],
    )
    assert v2.number == 2
    assert prog.current_version() == v2
    with pytest.raises(Refusal):
        services.programme_version_create(
            prog,
            name_ja="x",
            opens_at=v1.opens_at,
            closes_at=v1.closes_at,
            categories=[{"code": "bad"}],
        )


def test_links_keep_the_version_they_were_made_under(world):
    prog, prov = world
    h = builders.holder()
    link = builders.link(h, programme=prog, provider=prov, account="7010000000000001")
    v1 = prog.current_version()
    services.programme_version_create(
        prog, name_ja="v2", opens_at=v1.opens_at, closes_at=v1.closes_at, categories=v1.categories
    )
    services.grants_evaluate(h)
    link.refresh_from_db()
    assert link.programme_version == v1
    assert set(Grant.objects.values_list("programme_version", flat=True)) == {v1.pk}


def test_national_programme_is_seeded(db):
    from madoguchi.benefits.models import Programme

    v = Programme.objects.get(code="mynapoint-2").current_version()
    cats = {c["code"]: c for c in v.categories}
    assert cats["card_acquisition"]["rate_percent"] == 25
    assert cats["card_acquisition"]["cap"] == 5000
    assert cats["health_insurance"]["points"] == 7500
    assert cats["public_fund"]["points"] == 7500


def test_suspended_link_still_blocks_the_holder_and_frees_nothing(world):
    prog, prov = world
    h = builders.holder()
    link = builders.link(h, programme=prog, provider=prov, account="7010000000000001")
    services.link_suspend(link, actor=None, reason="r")
    with pytest.raises(IntegrityError), transaction.atomic():
        builders.link(h, programme=prog, provider=prov, account="7010000000000002")
    assert PaymentLink.objects.filter(holder=h).count() == 1
