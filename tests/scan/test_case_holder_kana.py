"""A case opened from a scan finding carries the account holder's name the scan's input gave
(links.holder_kana): its page shows it (Japanese and English) and its comparison compares it
with the resident's; where the input had none, the case says it is not known and why."""

import io
import re

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.cases import services as cases
from madoguchi.cases.models import LegacyLink
from madoguchi.scans.models import FindingCase, ScanRun
from tests import factories
from tests.scan.builders import Desk, family, record

pytestmark = pytest.mark.database

NO_DATE = {"date_precision": "unknown"}
B_HOLDER = "ｽｽﾞｷ ｲﾁﾛｳ"  # B's name, as the provider reported the holder of the account linked to A


def _scan(tmp_path, desk):
    record(desk, tmp_path)
    factories.staff(Role.CITY_OFFICIAL, username="city-official")
    call_command(
        "scan", "open-cases", "--min-score", "0.5", "--as", "city-official", stdout=io.StringIO()
    )
    return ScanRun.objects.get()


def _logout_omission(holder):
    """A's link committed after B's card was read, without a logout: a logout omission; the
    account holder is ``holder`` (None: the input does not know it)."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=11)
    d.link("L3", "A", holder, minute=12)
    d.event(18, "card_removed", resident="B")
    d.event(50, "logout")
    return d


def _lent_terminal_without_holder():
    """A commit under staff S2 while S1 is signed in (a lent terminal), its holder unknown."""
    d = Desk()
    family(d)
    d.event(0, "login", staff="S1")
    d.event(1, "card_read", resident="A")
    d.link("L9", "A", None, minute=2, staff="S2")
    d.event(8, "card_removed", resident="A")
    d.event(50, "logout", staff="S1")
    return d


def _page(client, case, lang):
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    return re.search(r'data-testid="holder-kana">(.*?)</p>', page, re.S).group(1)


def test_findings_parquet_carries_the_holders_name(db, tmp_path):
    _scan(tmp_path, _logout_omission(B_HOLDER))
    rows = pq.read_table(tmp_path / "out" / "findings.parquet").to_pylist()
    assert {r["link_id"]: r["holder_kana"] for r in rows} == {"L3": B_HOLDER}


def test_a_findings_case_shows_the_holders_name_on_its_page(db, tmp_path, client):
    _scan(tmp_path, _logout_omission(B_HOLDER))
    case = FindingCase.objects.get(link_id="L3").case
    assert case.legacy_link.holder_kana == B_HOLDER
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    ja = _page(client, case, "ja")
    assert B_HOLDER in ja
    assert "不明" not in ja
    assert "口座名義" in ja
    en = _page(client, case, "en")
    assert B_HOLDER in en
    assert "not known" not in en
    assert "Account holder's name" in en


def test_a_findings_case_compares_the_holders_name_with_the_residents(db, tmp_path):
    _scan(tmp_path, _logout_omission(B_HOLDER))
    case = FindingCase.objects.get(link_id="L3").case
    official = case.opened_by

    def compare(kana):
        return cases.case_compare_identifier(
            case, actor=official, presented="4980-1111-2222-3333", resident_kana=kana, **NO_DATE
        )

    entry = compare("ヤマダ タロウ")  # A's own name: not the holder's
    assert entry.detail == {"holder_kana": "no_match"}
    assert (
        "口座名義（カナ）をご本人のフリガナと照合したところ、一致しませんでした。" in entry.summary
    )
    assert compare("スズキ イチロウ").detail == {"holder_kana": "match"}


def test_a_findings_case_whose_holder_the_input_does_not_know_says_so(db, tmp_path, client):
    _scan(tmp_path, _lent_terminal_without_holder())
    case = FindingCase.objects.get(link_id="L9").case
    assert case.legacy_link.holder_kana == ""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    ja = _page(client, case, "ja")
    assert "不明（外部のシステムから報告されていないため、照合しません）" in ja
    en = _page(client, case, "en")
    assert "not known: the outside system did not report it, so it is not compared" in en
    entry = cases.case_compare_identifier(
        case,
        actor=case.opened_by,
        presented="4980-1111-2222-3333",
        resident_kana="ヤマダ タロウ",
        **NO_DATE,
    )
    assert entry.detail == {"holder_kana": "unknown"}
    assert "報告されていないため、照合していません" in entry.summary


def test_a_case_opened_before_cases_kept_the_name_says_it_was_not_carried(db, client):
    """A case the scan opened before its legacy link kept the holder's name (the migration
    marks them) says so, rather than that the old system keeps none; a legacy link recorded by
    hand still says the old system keeps none."""
    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    shown = {}
    for missing in ("not_carried", ""):
        legacy = LegacyLink.objects.create(
            resident_label="A",
            provider_name="マイナポイント",
            account_hash="h",
            account_last4="1234",
            holder_kana_missing=missing,
        )
        case = cases.case_open(
            actor=official,
            title="t",
            resident_label="A",
            reported_by="紐付け点検 1",
            summary="s",
            legacy_link=legacy,
            **NO_DATE,
        )
        shown[missing] = (_page(client, case, "ja"), _page(client, case, "en"))
        entry = cases.case_compare_identifier(
            case,
            actor=official,
            presented="4980-1111-2222-3333",
            resident_kana="ヤマダ タロウ",
            **NO_DATE,
        )
        assert entry.detail == {"holder_kana": "unknown"}
    assert "紐付け点検" in shown["not_carried"][0]
    assert "opened from the scan before" in shown["not_carried"][1]
    assert "古いシステムの紐付けには名義が残っていない" in shown[""][0]
    assert "a link from the old system keeps no name" in shown[""][1]


@pytest.mark.django_db(transaction=True)
def test_the_migration_marks_the_runs_and_cases_recorded_before_it():
    """Runs recorded before findings kept the holder's name, and the cases the scan opened
    from them, say the name was not carried (not that the old system keeps none); a legacy
    link recorded by hand keeps saying the old system keeps none."""
    from datetime import UTC, datetime

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("scans", "0003_case_programme"), ("cases", "0004_comparison_label")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    user = old.get_model("accounts", "User").objects.create(username="official-before")
    run = old.get_model("scans", "ScanRun").objects.create(
        started_at=datetime(2026, 11, 30, tzinfo=UTC), engine="duckdb", seconds=1.0
    )
    finding = old.get_model("scans", "Finding").objects.create(
        run=run,
        link_id="L3",
        cause="logout_omission",
        score=0.95,
        rule="logout_omission.v1",
        resident_id="A",
        programme="mynapoint_2",
        channel="desk",
        municipality_code="131016",
        linked_at=datetime(2022, 8, 1, tzinfo=UTC),
        holder_check=2,
        explanation="…",
    )
    old_legacy = old.get_model("cases", "LegacyLink")
    old_case = old.get_model("cases", "Case")
    links = {}
    for name in ("scan", "hand"):
        links[name] = old_legacy.objects.create(
            resident_label="A", provider_name="p", account_hash="h", account_last4="1234"
        )
        case = old_case.objects.create(
            title=name, resident_label="A", legacy_link=links[name], opened_by=user
        )
        if name == "scan":
            old.get_model("scans", "FindingCase").objects.create(
                link_id="L3", finding=finding, case=case, opened_by=user
            )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert not ScanRun.objects.get(pk=run.pk).holder_kana_kept
    assert LegacyLink.objects.get(pk=links["scan"].pk).holder_kana_missing == "not_carried"
    assert LegacyLink.objects.get(pk=links["hand"].pk).holder_kana_missing == ""
