"""The Django side: recorded runs on the officials' pages, cases opened from findings
(idempotently), and the export of madoguchi's own records with re-verified signatures."""

import hashlib
import io
import re
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from madoguchi.accounts.constants import Role
from madoguchi.benefits.models import PaymentLink
from madoguchi.cases.models import Case, LegacyLink
from madoguchi.desk.models import Completion
from madoguchi.scan import schema
from madoguchi.scan.labels import CAUSES
from madoguchi.scans import services
from madoguchi.scans.models import Finding, FindingCase, ScanRun
from tests import factories
from tests.benefits.conftest import apply_fields, commit, prepare, start_visit
from tests.incidents.conftest import _origin, providers, sims, systems  # noqa: F401
from tests.scan.builders import Desk, account_hash, family, record


def finding_url(pk):
    """A finding's page with the reason it asks first (as a case's page does)."""
    return reverse("scans:finding", args=[pk]) + "?reason=case_work"


def run_url(pk):
    """A run's page (its findings name residents) with the reason it asks first."""
    return reverse("scans:run", args=[pk]) + "?reason=case_work"


def _desk_log(tmp_path):
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=11)
    d.link("L3", "A", "ｽｽﾞｷ ｲﾁﾛｳ", minute=12)
    d.event(18, "card_removed", resident="B")
    d.visit(20, "C", [("L4", "ｻﾄｳ ﾐﾂｺ")])
    d.visit(30, "A", [("L5", "ﾔﾏﾀﾞ ｼﾞﾛｳ")])
    d.event(50, "logout")
    return d.write(tmp_path / "data")


def _record(tmp_path, *options):
    stdout = io.StringIO()
    call_command(
        "scan",
        "run",
        str(_desk_log(tmp_path)),
        "--out",
        str(tmp_path / "out"),
        "--record",
        "--no-pdf",
        *options,
        stdout=stdout,
        stderr=io.StringIO(),
    )
    assert "recorded as scan run" in stdout.getvalue()
    return ScanRun.objects.get()


@pytest.fixture
def recorded(db, tmp_path):
    """A scan of a hand-made desk log with one logout omission, one typed wrong ID and one
    family account, recorded."""
    return _record(tmp_path)


def test_every_recorded_mislink_keeps_its_timeline_and_account_beyond_the_reports_limit(
    db, tmp_path, client
):
    """The report shows the highest-scored timelines only; a recorded run keeps every
    mis-link's, so its page and its case's session records have them, and the case's account
    comes from the stored finding (the output directory may be gone)."""
    import shutil

    run = _record(tmp_path, "--timeline-limit", "0")
    by_link = {f.link_id: f for f in run.findings.all()}
    assert [e["event"] for e in by_link["L3"].timeline][:3] == ["login", "card_read", "commit"]
    assert by_link["L4"].timeline  # the typed wrong ID too
    assert by_link["L5"].timeline == []  # a family account is not a mis-link: report only
    assert by_link["L3"].account_hash == account_hash("L3")
    official = factories.staff(Role.CITY_OFFICIAL, username="city-official")
    client.force_login(official)
    page = client.get(reverse("scans:finding", args=[by_link["L3"].pk])).content.decode()
    assert "No desk events" not in page
    shutil.rmtree(tmp_path / "out")
    call_command(
        "scan", "open-cases", "--min-score", "0.8", "--as", "city-official", stdout=io.StringIO()
    )
    case = FindingCase.objects.get(link_id="L3").case
    legacy = case.legacy_link
    assert legacy.account_hash == account_hash("L3")
    assert legacy.account_last4 == "1234"
    assert "committed" in [e["event"] for e in legacy.session_log]
    # The case's page shows who was signed in at each step (a lent terminal's whole evidence),
    # where it showed the time, the event and the resident only.
    staff = {e["staff"] for e in legacy.session_log if e.get("staff")}
    assert staff
    body = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    ).content.decode()
    shown = re.findall(r'data-testid="session-log-staff">([^<]*)<', body)
    assert staff <= set(shown)


def test_a_recorded_run_keeps_every_finding_with_its_reasoning_and_timeline(recorded):
    by_link = {f.link_id: f for f in recorded.findings.all()}
    assert {k: f.cause for k, f in by_link.items()} == {
        "L3": "logout_omission",
        "L4": "typed_wrong_id",
        "L5": "family_account",
    }
    assert recorded.counts["logout_omission"] == 1
    l3 = by_link["L3"]
    assert "直前に端末で読み取られたカードは B のもの" in l3.explanation
    assert [e["event"] for e in l3.timeline][:3] == ["login", "card_read", "commit"]


def test_officials_see_runs_and_findings(client, recorded):
    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    page = client.get(reverse("scans:list")).content.decode()
    assert reverse("scans:run", args=[recorded.pk]) in page
    page = client.get(run_url(recorded.pk)).content.decode()
    assert "ログアウト漏れ" in page
    assert "131016" in page
    assert ">L3</a>" in page  # the link cell (a bare "L3" can occur in a random nonce)
    only = client.get(run_url(recorded.pk) + "&cause=typed_wrong_id")
    assert ">L4</a>" in only.content.decode()
    assert ">L3</a>" not in only.content.decode()
    finding = Finding.objects.get(link_id="L3")
    page = client.get(finding_url(finding.pk)).content.decode()
    assert "カードの読み取り" in page  # the desk event, as the cases' timelines name it
    assert finding.explanation in page
    # The desk events' times read as times, and the desk and staff each under their heading.
    assert not re.search(r"<td>\d{4}-\d\d-\d\dT", page)
    assert re.search(r"<td>令和\d+年\d+月\d+日 \d\d:\d\d:\d\d</td>", page)  # as the cases date
    assert f"<th>端末</th><td>{finding.terminal_id}</td>" in page
    # The rule by its version, not its id (the cause's code): the heading names the cause.
    assert finding.rule.startswith("typed_wrong_id.") or finding.rule.startswith("logout_omission.")
    assert finding.rule not in re.sub(r"<[^>]*>", "", page)
    assert "規則の版 v" in page


def test_a_cause_filter_is_headed_by_the_causes_name_not_its_code(client, recorded):
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    url = run_url(recorded.pk) + "&cause=logout_omission"
    page = client.get(url).content.decode()
    heading = re.search(r"<h2>抽出結果 \((.*?)·", page)
    assert heading, page
    assert heading.group(1).strip() == "ログアウト漏れ"
    assert "logout_omission" not in re.sub(r"<[^>]*>", "", page)  # the text, not the URLs


def test_an_official_opens_a_findings_case_from_its_page_once(client, recorded):
    """The finding page's button opens the case `scan open-cases` would (with the stored
    account and the session records), and a second press opens none; a family account has
    no button and a forged press is refused with a sentence."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    l3 = Finding.objects.get(link_id="L3")
    page = client.get(finding_url(l3.pk)).content.decode()
    assert "madoguchi scan open-cases" not in page
    assert reverse("scans:finding_open_case", args=[l3.pk]) in page
    response = client.post(reverse("scans:finding_open_case", args=[l3.pk]), follow=True)
    opened = FindingCase.objects.get(link_id="L3")
    assert response.redirect_chain[-1][0] == reverse("cases:detail", args=[opened.case_id])
    assert opened.case.legacy_link.account_hash == account_hash("L3")
    assert "committed" in [e["event"] for e in opened.case.legacy_link.session_log]
    assert "ケース" in response.content.decode()
    again = client.post(reverse("scans:finding_open_case", args=[l3.pk]), follow=True)
    assert Case.objects.count() == 1
    assert "この紐付けにはすでにケースがあります" in again.content.decode()
    page = client.get(finding_url(l3.pk)).content.decode()
    assert reverse("cases:detail", args=[opened.case_id]) in page

    l5 = Finding.objects.get(link_id="L5")  # a family account
    page = client.get(finding_url(l5.pk)).content.decode()
    assert reverse("scans:finding_open_case", args=[l5.pk]) not in page
    assert "誤紐付けではありません" in page
    refused = client.post(reverse("scans:finding_open_case", args=[l5.pk]), follow=True)
    assert "誤紐付けではないため" in refused.content.decode()
    assert Case.objects.count() == 1
    assert client.get(reverse("scans:finding_open_case", args=[l3.pk])).status_code == 405


def test_reading_a_finding_asks_a_reason_and_is_recorded_as_a_case_read_is(client, recorded):
    """A finding shows the resident's and another resident's ids, the account holder's name
    and last 4 and the desk's events: it asks the reason first and records the read, and so
    does a case opened from it (its resident has no card holder here)."""
    from madoguchi.audit.models import AuditEvent

    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    l3 = Finding.objects.get(link_id="L3")
    asked = client.get(reverse("scans:finding", args=[l3.pk])).content.decode()
    assert 'data-testid="reason-form"' in asked
    assert l3.explanation not in asked
    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    assert not reads.exists()

    assert l3.explanation in client.get(finding_url(l3.pk)).content.decode()
    read = reads.get()
    assert (read.actor_id, read.subject_type, read.subject_id) == (
        str(official.pk),
        "scans.finding",
        str(l3.pk),
    )
    assert (read.payload["page"], read.payload["reason"]) == ("scans.finding", "case_work")

    client.get(run_url(recorded.pk))
    assert reads.filter(subject_type="scans.scanrun", payload__page="scans.run").exists()

    client.post(reverse("scans:finding_open_case", args=[l3.pk]))
    case = FindingCase.objects.get(link_id="L3").case
    assert case.holder is None
    client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work")
    case_read = reads.get(payload__page="cases.case")
    assert (case_read.subject_type, case_read.subject_id) == ("cases.case", str(case.pk))


def test_desk_staff_cannot_open_a_findings_case(client, recorded):
    client.force_login(factories.staff(Role.DESK_STAFF))
    l3 = Finding.objects.get(link_id="L3")
    assert client.post(reverse("scans:finding_open_case", args=[l3.pk])).status_code == 403
    assert not Case.objects.exists()


def test_desk_staff_do_not_see_scans(client, recorded):
    client.force_login(factories.staff(Role.DESK_STAFF))
    assert client.get(reverse("scans:list")).status_code == 403


def test_open_cases_is_idempotent_and_skips_family_accounts(recorded):
    official = factories.staff(Role.CITY_OFFICIAL, username="city-official")
    out = io.StringIO()
    call_command("scan", "open-cases", "--min-score", "0.8", "--as", "city-official", stdout=out)
    assert "opened 2 cases, 0 already had one" in out.getvalue()
    case = FindingCase.objects.get(link_id="L3").case
    assert case.opened_by == official
    assert case.resident_label == "A"
    assert case.other_resident_label == "B"
    legacy = case.legacy_link
    assert legacy.account_hash == account_hash("L3")
    assert legacy.account_last4 == "1234"
    assert legacy.linked_on.isoformat() == "2022-08-01"
    # The finding's window around the commit, other links' commits left out: the visit after
    # it too (a wrong card's other resident is often served just after the commit).
    events = [(e["event"], e["resident"]) for e in legacy.session_log]
    assert events == [
        ("login", ""),
        ("card_read", "A"),
        ("card_removed", "A"),
        ("card_read", "B"),
        ("committed", "A"),
        ("card_removed", "B"),
        ("card_read", "C"),
    ]
    intake = case.timeline.get()
    assert "B のもの" in intake.summary
    # The case's own automatic findings read the attached session records.
    from madoguchi.cases import findings

    assert "session_not_closed" in [f.code for f in findings.findings_for(case)]
    # The typed wrong ID was committed in C's own turn (B's card came off, C's was read): its
    # case does not claim a logout omission the scan did not find.
    typed = FindingCase.objects.get(link_id="L4").case
    assert "session_not_closed" not in [f.code for f in findings.findings_for(typed)]
    again = io.StringIO()
    call_command("scan", "open-cases", "--min-score", "0.8", "--as", "city-official", stdout=again)
    assert "opened 0 cases, 2 already had one" in again.getvalue()
    assert Case.objects.count() == 2
    assert not FindingCase.objects.filter(link_id="L5").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_open_cases_at_once_open_one_case_per_finding(tmp_path, monkeypatch):
    """Two officials (or a cron job overlapping one) run open-cases at the same time: each
    finding gets one case, and neither run fails. Both runs are held until each has found the
    finding without a case and is about to open one, so both open it at once."""
    _record(tmp_path)
    factories.staff(Role.CITY_OFFICIAL, username="city-official")
    factories.staff(Role.CITY_OFFICIAL, username="other-official")
    both = threading.Barrier(2, timeout=60)
    open_one = services._open_one

    def held(*args, **kwargs):
        both.wait()  # each run has looked for the link's case and found none
        return open_one(*args, **kwargs)

    monkeypatch.setattr(services, "_open_one", held)
    said, failed = {}, []

    def run(username):
        out = io.StringIO()
        try:
            call_command("scan", "open-cases", "--min-score", "0.8", "--as", username, stdout=out)
        except BaseException as exc:
            failed.append(exc)
            both.abort()
        finally:
            said[username] = out.getvalue()
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in ("city-official", "other-official")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    assert sorted(FindingCase.objects.values_list("link_id", flat=True)) == ["L3", "L4"]
    assert Case.objects.count() == 2
    assert LegacyLink.objects.count() == 2  # the run that lost the race kept none of its rows
    counts = [re.search(r"opened (\d+) cases?, (\d+) already", s).groups() for s in said.values()]
    assert sum(int(o) for o, _ in counts) == 2
    assert sum(int(e) for _, e in counts) == 2


def test_only_city_officials_open_cases(recorded):
    factories.staff(Role.DESK_STAFF, username="desk-person")
    with pytest.raises(CommandError):
        call_command("scan", "open-cases", "--min-score", "0", "--as", "desk-person")
    assert not Case.objects.exists()


@pytest.mark.usefixtures("providers", "systems")
def test_export_reverifies_every_completion_and_refuses_a_tampered_one(trusted, tmp_path):
    from madoguchi.terminals import services as terminal_services

    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    commit(desk, c)
    link = PaymentLink.objects.get()
    out = io.StringIO()
    call_command("scan", "export", str(tmp_path / "mine"), stdout=out)
    assert "1 completion signatures verified" in out.getvalue()
    tables = schema.load(tmp_path / "mine")
    row = tables["links"].to_pylist()[0]
    assert row["account_hash"] == link.account_hash
    assert row["holder_kana"] == link.account_holder_kana
    # The desk's city's municipality code (テスト市, 131016), so its officials see the
    # findings a recorded scan of the export makes (it wrote 000000 for every link).
    assert row["municipality_code"] == "131016"
    assert tables["residents"].to_pylist()[0]["municipality_code"] == "131016"
    events = [e["event"] for e in tables["desk_events"].to_pylist()]
    assert {"login", "card_read", "commit"} <= set(events)
    # One changed byte in the stored transaction, its digest recomputed to match: the card's
    # signature no longer verifies; refused, nothing written.
    completion = Completion.objects.get()
    data = bytes(completion.transaction_bytes).replace(b"match", b"matcH", 1)
    Completion.objects.filter(pk=completion.pk).update(
        transaction_bytes=data, transaction_digest=hashlib.sha256(data).hexdigest()
    )
    with pytest.raises(
        CommandError, match=f"completion {completion.pk}: the signature does not verify"
    ):
        call_command("scan", "export", str(tmp_path / "again"))
    assert not (tmp_path / "again").exists()
    assert pq.read_table(tmp_path / "mine" / "links.parquet").num_rows == 1


def test_a_scan_run_is_named_by_its_local_start_time():
    from datetime import UTC, datetime

    run = ScanRun(pk=7, started_at=datetime(2026, 11, 30, 12, 58, tzinfo=UTC), engine="duckdb")
    assert str(run) == "scan 7 (2026-11-30 21:58 JST, duckdb)"


def _exported_link(trusted, card="C"):
    """One point link committed at a desk with `card`; its completion."""
    from madoguchi.terminals import services as terminal_services

    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    c = trusted.card(card)
    start_visit(desk, c)
    prepare(desk, **apply_fields())
    return commit(desk, c)


@pytest.mark.usefixtures("providers", "systems")
def test_export_refuses_a_tampered_stored_signature(trusted, tmp_path):
    """The token's signature itself changed (one character of its last part): flagged."""
    completion = _exported_link(trusted)
    head, _, signature = completion.token.rpartition(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    Completion.objects.filter(pk=completion.pk).update(token=f"{head}.{flipped}")
    with pytest.raises(
        CommandError, match=f"completion {completion.pk}: the signature does not verify"
    ):
        call_command("scan", "export", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@pytest.mark.usefixtures("providers", "systems")
def test_export_refuses_a_signature_by_another_card_than_the_stored_certificate(trusted, tmp_path):
    """The stored certificate swapped for another holder's: the token still verifies over the
    bytes, but it was not signed by the card the record names."""
    first = _exported_link(trusted, "C")
    Completion.objects.filter(pk=first.pk).update(certificate=_another_certificate(first))
    with pytest.raises(
        CommandError, match=f"completion {first.pk}: the signature is by another card"
    ):
        call_command("scan", "export", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def _another_certificate(completion):
    """A stored holder certificate of another card than the one that signed."""
    from madoguchi.identity.models import HolderCertificate

    mine = completion.certificate
    return HolderCertificate.objects.create(
        holder=mine.holder,
        issuer_dn=mine.issuer_dn,
        serial=mine.serial + "1",
        fingerprint="f" * 64,
        not_after=mine.not_after,
    )


@pytest.mark.usefixtures("providers", "systems")
def test_export_verifies_every_stored_completion_not_only_those_behind_a_link(trusted, tmp_path):
    completion = _exported_link(trusted)
    PaymentLink.objects.all().delete()  # a completion whose link is gone is evidence too
    data = bytes(completion.transaction_bytes).replace(b"match", b"matcH", 1)
    Completion.objects.filter(pk=completion.pk).update(
        transaction_bytes=data, transaction_digest=hashlib.sha256(data).hexdigest()
    )
    with pytest.raises(CommandError, match=f"completion {completion.pk}: the signature"):
        call_command("scan", "export", str(tmp_path / "out"))


def test_open_cases_refusals_are_plain_sentences_and_open_nothing(recorded):
    factories.staff(Role.DESK_STAFF, username="desk-person")
    factories.staff(Role.CITY_OFFICIAL, username="city-official")
    with pytest.raises(CommandError) as exc:
        call_command("scan", "open-cases", "--min-score", "0.8", "--as", "desk-person")
    assert str(exc.value).startswith("Only city officials")  # no code in front of it
    for score in ("1.5", "-0.1"):
        with pytest.raises(CommandError, match=rf"--min-score {score} is outside the scores'"):
            call_command("scan", "open-cases", "--min-score", score, "--as", "city-official")
    with pytest.raises(
        CommandError, match=rf"No recorded scan run 999 \(the latest is {recorded.pk};"
    ):
        call_command(
            "scan", "open-cases", "--min-score", "0.8", "--as", "city-official", "--run", "999"
        )
    assert not Case.objects.exists()


def test_the_scan_pages_speak_english_in_english(client, recorded):
    """Causes, name checks, desk events and programmes were the scan's Japanese words on the
    English pages."""
    from madoguchi.scan.labels import CAUSE_JA, CAUSES

    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    pages = [
        client.get(reverse("scans:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode(),
        client.get(run_url(recorded.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode(),
    ]
    finding = Finding.objects.get(link_id="L3")
    pages.append(client.get(finding_url(finding.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode())
    for page in pages:
        assert "Sign-out omitted" in page
        assert not any(CAUSE_JA[c] in page for c in CAUSES)
    assert "<td>card read</td>" in pages[2]  # the timeline (the explanation is the scan's text)
    assert "<td>カードの読み取り</td>" not in pages[2]
    ja = client.get(reverse("scans:list"), HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert all(CAUSE_JA[c] in ja for c in CAUSES)


def test_a_findings_reasoning_is_english_on_the_english_page(client, recorded):
    """The reasoning was the run's stored Japanese sentence on the English finding page."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    finding = Finding.objects.get(link_id="L3")
    url = finding_url(finding.pk)
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    said = re.search(r'data-testid="finding-reasoning">([^<]*)<', en).group(1)
    assert "Committed as A&#x27;s procedure" in said
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", said)
    ja = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert finding.explanation in ja  # Japanese: the scan's own sentence, as stored


@pytest.mark.parametrize("check", [0, 1, 2, 3, None])
@pytest.mark.parametrize("cause", ["logout_omission", "lent_terminal"])
def test_the_holder_against_the_resident_is_a_sentence_of_its_own(cause, check):
    """Every name check in the scan's sentence and the page's alike; the holder unknown said
    as such (「…は R-1 と名義不明です。」 read as "is holder-unknown with R-1")."""
    from django.utils import translation

    from madoguchi.scan.report import explain_ja
    from madoguchi.scans.names import reasoning

    row = {
        "resident_id": "R-1",
        "other_resident_id": "R-2",
        "holder_check": check,
        "score": 0.97,
        "cause": cause,
        "staff_id": "S2",
        "session_staff": None,
        "programme": "mynapoint_2",
        "channel": "desk",
    }
    with translation.override("ja"):
        assert reasoning(Finding(**row)) == explain_ja(row)
    assert "名義不明です" not in explain_ja(row)
    if check in (3, None):
        assert "お名前と照合できませんでした" in explain_ja(row)


@pytest.mark.parametrize("programme", ["mynapoint_2", "public_fund", "health_insurance"])
@pytest.mark.parametrize("channel", ["desk", "self"])
@pytest.mark.parametrize(
    ("cause", "staff"),
    [
        ("logout_omission", ""),
        ("wrong_card", ""),
        ("lent_terminal", "S1"),
        ("lent_terminal", ""),
        ("family_account", ""),
        ("typed_wrong_id", ""),
    ],
)
def test_the_pages_reasoning_is_the_scans_own_sentence_in_japanese(
    cause, staff, programme, channel
):
    from django.utils import translation

    from madoguchi.scan.report import explain_ja
    from madoguchi.scans.names import reasoning

    row = {
        "resident_id": "R-1",
        "other_resident_id": "R-2",
        "holder_check": 2,
        "score": 0.97,
        "cause": cause,
        "staff_id": "S2",
        "session_staff": staff or None,
        "programme": programme,
        "channel": channel,
    }
    finding = Finding(**{**row, "session_staff": staff})
    with translation.override("ja"):
        assert reasoning(finding) == explain_ja(row)
    with translation.override("en"):
        english = reasoning(finding)
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", english)
    assert "R-" in english
    japanese = explain_ja(row)
    if cause == "logout_omission":  # the decisive evidence: the holder is the other resident
        assert "matches R-2" in english
        assert "R-2 と一致します" in japanese
    if cause == "lent_terminal" and not staff:
        assert "nobody was signed in" in english
        assert "だれもサインインしていませんでした" in japanese
    # An insurance registration has no account and no payment service: its holder is the
    # insured person, and what may have been typed wrong is the insured person's number.
    if programme == "health_insurance":
        assert "口座" not in japanese
        assert "決済" not in japanese
        assert "account" not in english.replace("account_", "")
        assert "被保険者の氏名" in japanese
        assert "insured person's name" in english.lower()
    if programme == "public_fund":
        assert "決済" not in japanese
        assert "payment" not in english
    if cause == "typed_wrong_id":
        typed = {"mynapoint_2": "決済サービス ID", "public_fund": "口座番号"}
        assert typed.get(programme, "被保険者番号") + "の入力誤り" in japanese
    # A self-service link was made without a desk: no residents served before or after it.
    if channel == "self" and cause == "typed_wrong_id":
        assert "前後の来庁者" not in japanese
        assert "ご本人による申請" in japanese
        assert "served just before or after" not in english


@pytest.mark.parametrize(
    ("programme", "says"),
    [
        ("public_fund", ["公金受取口座の誤登録", "公金受取口座として", "預貯金口座"]),
        ("health_insurance", ["健康保険証利用登録の誤り", "健康保険証としての利用登録"]),
    ],
)
def test_a_findings_case_report_speaks_of_the_findings_programme(db, tmp_path, programme, says):
    """The report of a case opened from a public-fund (or insurance) finding spoke of a
    payment service's account and Mynapoint."""
    from madoguchi.cases import document
    from madoguchi.scans import services

    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=11, programme=programme)
    d.link("L3", "A", "ｽｽﾞｷ ｲﾁﾛｳ", minute=12, programme=programme)
    d.event(18, "card_removed", resident="B")
    d.event(50, "logout")
    record(d, tmp_path)
    finding = Finding.objects.get(link_id="L3")
    assert finding.programme == programme
    link, _new = services.open_case(finding, actor=factories.staff(Role.CITY_OFFICIAL))
    md = document.to_markdown(document.build(link.case))
    for words in says:
        assert words in md
    assert "キャッシュレス" not in md
    assert "マイナポイント" not in md
    # A point programme's case keeps the point programme's words.
    link.case.programme = "points"
    assert "マイナポイントの誤付与" in document.to_markdown(document.build(link.case))


def test_a_case_without_a_resident_in_madoguchi_says_why_it_has_no_notice_letter(client, recorded):
    """A case from a finding (its resident never identified by card here) said only 'No notice
    letter yet', as if one would come."""
    from madoguchi.scans import services

    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    link, _new = services.open_case(Finding.objects.get(link_id="L3"), actor=official)
    assert link.case.holder_id is None
    url = reverse("cases:detail", args=[link.case_id]) + "?reason=case_work"
    ja = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    why = re.search(r'data-testid="no-notice-why">([^<]*)<', ja).group(1)
    assert "通知書は作成されません" in why
    assert "連絡を記録する" in why  # what the official does instead
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Record a contact" in re.search(r'data-testid="no-notice-why">([^<]*)<', en).group(1)


def test_a_findings_case_names_the_finding_it_was_opened_from(client, recorded):
    """A case opened from a finding said no incident was linked because it was opened "from an
    intake, a resident's report or a scan finding": it names its finding, linked."""
    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    finding = Finding.objects.get(link_id="L3")
    link, _new = services.open_case(finding, actor=official)
    url = reverse("cases:detail", args=[link.case_id]) + "?reason=case_work"
    ja = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    said = re.search(r'data-testid="case-incident">(.*?)</p>', ja).group(1)
    assert f'<a href="{finding_url(finding.pk)}">' in said
    assert "L3" in said
    assert f"#{recorded.pk}" in said
    assert "点検" in said
    assert "本人からの申し出" not in said
    assert "受付" not in said
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    said = re.search(r'data-testid="case-incident">(.*?)</p>', en).group(1)
    assert "forensic scan" in said
    assert "an intake" not in said
    # The finding's page, from the link, opens with the reason the case page was read for.
    assert client.get(finding_url(finding.pk)).status_code == 200


def test_a_cases_automatic_findings_are_english_on_the_english_page(client, recorded):
    """The case page's automatic findings were their Japanese sentences on the English page."""
    from madoguchi.scans import services

    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    link, _new = services.open_case(Finding.objects.get(link_id="L3"), actor=official)
    url = reverse("cases:detail", args=[link.case_id]) + "?reason=case_work"
    en = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    found = re.findall(r'<div class="finding" data-code="[^"]+">([^<]*)</div>', en)
    assert found
    assert not any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", f) for f in found), found
    ja = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert re.findall(r'<div class="finding" data-code="[^"]+">([^<]*)</div>', ja) != found


def test_a_case_opened_from_the_english_page_is_recorded_in_japanese(client, recorded):
    """The case's title, reporter and legacy link's source were in the language of the page the
    official pressed the button on; `scan open-cases` wrote them in Japanese."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    l3 = Finding.objects.get(link_id="L3")
    client.post(reverse("scans:finding_open_case", args=[l3.pk]), HTTP_ACCEPT_LANGUAGE="en")
    case = FindingCase.objects.get(link_id="L3").case
    assert "ログアウト漏れ" in case.title
    assert "Forensic scan" not in case.timeline.get().party_label
    assert "Forensic scan" not in case.legacy_link.source


@pytest.mark.parametrize("query", ["&cause=a%00b", "&municipality=%00131016"])
def test_a_nul_in_a_runs_filter_says_why_and_shows_every_finding(client, recorded, query):
    """A NUL in the cause or municipality filter was a server error (PostgreSQL cannot
    compare with it)."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    r = client.get(run_url(recorded.pk) + query)
    assert r.status_code == 200
    page = r.content.decode()
    assert "絞り込みの条件に使えない文字が含まれています" in page
    assert ">L3</a>" in page


def test_the_scan_pages_name_cases_by_reference_and_group_large_counts(client, recorded):
    """The case column showed the case's row number ("1") where every other page says
    CASE-00001, and a national run's count read 100000000 instead of 100,000,000."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    l3 = Finding.objects.get(link_id="L3")
    client.post(reverse("scans:finding_open_case", args=[l3.pk]))
    case = FindingCase.objects.get(link_id="L3").case
    ScanRun.objects.filter(pk=recorded.pk).update(rows={**recorded.rows, "links": 100_000_000})
    link = f'<a href="{reverse("cases:detail", args=[case.pk])}">{case.reference}</a>'
    for url in (finding_url(l3.pk), run_url(recorded.pk)):
        assert link in client.get(url).content.decode()
    # The run's link total (every municipality's) is the operators' (superuser flag) to see.
    from madoguchi.accounts.models import User

    client.force_login(User.objects.create_superuser("root-grouping", password=None))
    assert "紐付け 100,000,000 件を" in client.get(run_url(recorded.pk)).content.decode()
    assert "<td>100,000,000</td>" in client.get(reverse("scans:list")).content.decode()
    english = client.get(run_url(recorded.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert "100,000,000 links in" in english.content.decode()


def _official_of(name, code):
    """A city official of another city (`code` its municipality code, "" for none)."""
    from django.contrib.auth.models import Group

    from madoguchi.accounts.constants import OrganisationKind
    from madoguchi.accounts.models import Organisation, User

    city = Organisation.objects.create(
        name=name, kind=OrganisationKind.CITY, municipality_code=code
    )
    user = User.objects.create_user(username=f"official-{name}", organisation=city)
    user.groups.add(Group.objects.get_or_create(name=Role.CITY_OFFICIAL.value)[0])
    return user


def test_another_citys_official_neither_lists_opens_nor_opens_a_case_from_a_finding(
    client, recorded
):
    """Every finding of the desk log is municipality 131016 (テスト市's code): an official of
    a city with another code sees the run with no findings and no counts, and a finding's
    page and its button are 404, as a missing finding's; nothing is opened."""
    client.force_login(_official_of("別の市", "271004"))
    listed = client.get(reverse("scans:list")).content.decode()
    assert reverse("scans:run", args=[recorded.pk]) in listed
    assert "271004" in listed  # whose findings are shown
    row = re.search(
        r'<tr><td[^>]*><a href="{}">.*?</tr>'.format(reverse("scans:run", args=[recorded.pk])),
        listed,
    )
    counts = re.findall(r"<td>([^<]*)</td>", row.group(0))[-len(CAUSES) :]
    assert counts == ["0"] * len(CAUSES)  # its own counts, not the run's
    page = client.get(run_url(recorded.pk)).content.decode()
    assert ">L3</a>" not in page
    assert "131016" not in page
    for finding in Finding.objects.all():
        url = finding_url(finding.pk)
        assert client.get(url).status_code == 404
        opened = client.post(reverse("scans:finding_open_case", args=[finding.pk]))
        assert opened.status_code == 404
    filtered = client.get(run_url(recorded.pk) + "&municipality=131016")
    assert ">L3</a>" not in filtered.content.decode()
    assert not Case.objects.exists()
    assert not FindingCase.objects.exists()


def test_the_own_citys_official_lists_opens_and_opens_a_case_with_own_counts(client, recorded):
    client.force_login(factories.staff(Role.CITY_OFFICIAL))  # テスト市, 131016
    listed = client.get(reverse("scans:list")).content.decode()
    assert "（団体コード 131016）" in listed
    page = client.get(run_url(recorded.pk)).content.decode()
    assert ">L3</a>" in page
    assert ">131016</a>" in page
    l3 = Finding.objects.get(link_id="L3")
    assert client.get(finding_url(l3.pk)).status_code == 200
    client.post(reverse("scans:finding_open_case", args=[l3.pk]))
    assert FindingCase.objects.filter(link_id="L3").exists()


def test_an_official_of_a_city_without_a_code_sees_nothing_and_is_told_why(client, recorded):
    client.force_login(_official_of("コードのない市", ""))
    listed = client.get(reverse("scans:list")).content.decode()
    assert "団体コードが設定されていない" in listed
    assert reverse("scans:run", args=[recorded.pk]) not in listed
    assert "記録されたスキャンはありません" not in listed  # one was: it is not shown
    page = client.get(run_url(recorded.pk)).content.decode()
    assert "団体コードが設定されていない" in page
    assert ">L3</a>" not in page
    l3 = Finding.objects.get(link_id="L3")
    assert client.get(finding_url(l3.pk)).status_code == 404
    english = client.get(reverse("scans:list") + "?lang=en").content.decode()
    assert "your city has no municipality code" in english


def test_the_superuser_flag_sees_every_municipality(client, recorded):
    from madoguchi.accounts.models import User

    client.force_login(User.objects.create_superuser("root-scans", password=None))
    page = client.get(run_url(recorded.pk)).content.decode()
    assert ">L3</a>" in page
    assert 'data-testid="scan-scope"' not in page


def test_a_municipality_code_is_six_digits_and_a_citys_alone(db):
    from django.core.exceptions import ValidationError

    from madoguchi.accounts.constants import OrganisationKind
    from madoguchi.accounts.models import Organisation

    for bad in ("13101", "13101a", "1310160"):
        with pytest.raises(ValidationError):
            Organisation(
                name=f"市{bad}", kind=OrganisationKind.CITY, municipality_code=bad
            ).full_clean()
    contractor = factories.contractor()
    contractor.municipality_code = "271004"
    with pytest.raises(ValidationError, match="団体コードを設定できるのは市だけ"):
        contractor.full_clean()


def test_the_demo_city_carries_the_generators_first_municipality_code(db, settings, tmp_path):
    """The demo official sees a generated scan's findings of 131016 once it is recorded; a
    demo database seeded before cities carried a code gets it on the next seed."""
    from madoguchi.accounts.models import Organisation
    from madoguchi.core import demo
    from madoguchi.scan.generate import _MUNICIPALITIES

    settings.DATA_DIR = tmp_path
    demo.seed()
    city = Organisation.objects.get(name=demo.CITY)
    assert city.municipality_code == _MUNICIPALITIES[0] == "131016"
    Organisation.objects.filter(pk=city.pk).update(municipality_code="")
    demo.seed()
    city.refresh_from_db()
    assert city.municipality_code == "131016"


def test_open_cases_opens_only_the_as_officials_citys_findings(recorded):
    """`scan open-cases --as` an official of another city opens none of this city's
    findings; one of a city without a code is refused with the sentence saying why."""
    other = _official_of("別の市", "271004")
    out = io.StringIO()
    call_command("scan", "open-cases", "--min-score", "0", "--as", other.username, stdout=out)
    assert "opened 0 cases" in out.getvalue()
    assert not Case.objects.exists()
    nocode = _official_of("コードのない市", "")
    with pytest.raises(CommandError, match="city has no municipality code") as exc:
        call_command("scan", "open-cases", "--min-score", "0", "--as", nocode.username)
    assert "administrator sets" in str(exc.value)
    from madoguchi.cases.services import CaseRefused
    from madoguchi.scans import services

    with pytest.raises(CaseRefused) as refused:
        services.open_case(Finding.objects.get(link_id="L3"), actor=other)
    assert refused.value.code == "another_municipality"
    assert not Case.objects.exists()
    call_command(
        "scan",
        "open-cases",
        "--min-score",
        "0",
        "--as",
        factories.staff(Role.CITY_OFFICIAL).username,
        stdout=io.StringIO(),
    )
    assert Case.objects.exists()


@pytest.mark.parametrize("operator_city", ["", "271004"], ids=["no-city", "another-city"])
def test_a_findings_case_is_opened_only_by_an_official_of_its_own_city(
    client, recorded, operator_city
):
    """Side doors round 5: the superuser flag reads every municipality's findings, and it
    could also open their cases (the button, `scan open-cases --as`). A case opened from a
    finding has no desk, so it belongs to the opener's city, and with no city to every city:
    another city's officials listed and opened the resident ids, the session records and the
    account's last 4 of テスト市's finding. Now a finding's case is opened only by an official
    of the finding's own municipality code, flag or not; the refusal says why."""
    from madoguchi.accounts.models import User
    from madoguchi.cases.services import CaseRefused
    from madoguchi.scans import services

    root = User.objects.create_superuser("root-scans", password=None)
    if operator_city:
        root.organisation = _official_of("別の市", operator_city).organisation
        root.save(update_fields=["organisation"])
    l3 = Finding.objects.get(link_id="L3")
    client.force_login(root)
    assert client.get(finding_url(l3.pk)).status_code == 200
    page = client.post(reverse("scans:finding_open_case", args=[l3.pk]), follow=True)
    assert "ほかの団体の抽出結果" in page.content.decode()
    assert (
        "この抽出結果の市の職員が開きます" in page.content.decode()
    )  # no button, the reason instead
    if operator_city:
        out = io.StringIO()
        call_command("scan", "open-cases", "--min-score", "0", "--as", root.username, stdout=out)
        assert "opened 0 cases" in out.getvalue()
    else:
        with pytest.raises(CommandError, match="no municipality code"):
            call_command("scan", "open-cases", "--min-score", "0", "--as", root.username)
    with pytest.raises(CaseRefused) as refused:
        services.open_case(l3, actor=root)
    assert refused.value.code == "another_municipality"
    assert not Case.objects.exists()
    # Another city's official sees no case of テスト市's findings.
    client.force_login(_official_of("第三の市", "011002"))
    assert "CASE-" not in client.get(reverse("cases:list")).content.decode()


def test_an_official_sees_neither_the_runs_input_path_nor_every_citys_link_totals(client, recorded):
    """A run's page showed every official the run's input directory on the server and its
    total of links across every municipality (the list its links scanned, too): an official
    of one city sees their own city's counts and findings only; the operators see the rest."""
    from madoguchi.accounts.models import User

    ScanRun.objects.filter(pk=recorded.pk).update(
        rows={**recorded.rows, "links": 123_456, "links_unscanned": 7_891}
    )
    recorded.refresh_from_db()
    assert recorded.input_dir
    run_page = run_url(recorded.pk)
    own = factories.staff(Role.CITY_OFFICIAL)  # テスト市, 131016: every finding is theirs
    for official in (own, _official_of("別の市", "271004")):
        client.force_login(official)
        for url in (run_page, reverse("scans:list")):
            page = client.get(url).content.decode()
            assert recorded.input_dir not in page, (official, url)
            for total in ("123,456", "123456", "7,891", "7891"):
                assert total not in page, (official, url, total)
        page = client.get(run_page).content.decode()
        assert "運用担当者にだけ表示しています" in page  # says why the totals are not there
        assert "点検していない紐付けがあります" in page  # without the run-wide count
    english = client.get(run_page, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "are shown to the operators only" in english
    # The own city's official still counts and lists their findings.
    client.force_login(own)
    page = client.get(run_page).content.decode()
    assert ">L3</a>" in page
    assert ">131016</a>" in page
    # The operators (superuser flag) see the input and the totals.
    client.force_login(User.objects.create_superuser("root-input", password=None))
    page = client.get(run_page).content.decode()
    assert recorded.input_dir in page
    assert "紐付け 123,456 件を" in page
    assert "紐付け 7,891 件は点検していません" in page
    assert "<td>123,456</td>" in client.get(reverse("scans:list")).content.decode()


def test_an_insurance_findings_case_compares_the_insured_persons_details(db, tmp_path):
    """A scan finding on a health_insurance link, through `scan open-cases`, to the case's
    comparison: the insurance details the resident presents are "same" only when they are
    what the link registered (insurer number, symbol, number and branch together)."""
    from madoguchi.benefits import identifiers
    from madoguchi.cases import services as cases
    from madoguchi.cases.constants import ComparisonResult, Programme
    from tests.benefits.test_registrations import HI

    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛｳ")])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", "ｽｽﾞｷ ｲﾁﾛｳ", minute=11, programme="health_insurance")
    d.link("L3", "A", "ｽｽﾞｷ ｲﾁﾛｳ", minute=12, programme="health_insurance")
    # As `scan export` writes an insurance registration: the keyed hash of the four parts.
    d.links[-1]["account_hash"] = identifiers.identifier_hash(
        identifiers.insured_identifier(
            HI["insurer_number"], HI["insured_symbol"], HI["insured_number"], HI["branch"]
        )
    )
    d.links[-1]["account_last4"] = HI["insured_number"][-4:]
    d.event(18, "card_removed", resident="B")
    d.event(50, "logout")
    record(d, tmp_path)
    official = factories.staff(Role.CITY_OFFICIAL, username="city-official")
    call_command(
        "scan", "open-cases", "--min-score", "0.8", "--as", "city-official", stdout=io.StringIO()
    )
    case = FindingCase.objects.get(link_id="L3").case
    assert case.programme == Programme.HEALTH_INSURANCE
    parts = {k: HI[k] for k in ("insurer_number", "insured_symbol", "branch")}

    def compare(number, **changed):
        return cases.case_compare_insured(
            case,
            actor=official,
            insured_number=number,
            date_precision="unknown",
            **{**parts, **changed},
        ).comparison

    assert compare(HI["insured_number"]) == ComparisonResult.SAME
    assert compare("88120046") == ComparisonResult.DIFFERENT
    assert compare(HI["insured_number"], branch="02") == ComparisonResult.DIFFERENT
    assert compare(HI["insured_number"], insured_symbol="OTHER") == ComparisonResult.DIFFERENT
    assert compare(HI["insured_number"]) == ComparisonResult.SAME


def test_the_finding_page_names_the_account_holder_and_says_the_name_check(client, recorded):
    """The finding page showed the name check as a bare word and never the account holder's
    name, which findings.parquet carries and the case page shows: an official of the
    finding's own city reads the name and the check in a sentence, in Japanese and English;
    the superuser flag of another city does not read the name."""
    from madoguchi.accounts.models import User

    l3 = Finding.objects.get(link_id="L3")  # A's procedure, in B's name
    assert l3.holder_kana == "ｽｽﾞｷ ｲﾁﾛｳ"
    assert l3.holder_check == 2
    url = reverse("scans:finding", args=[l3.pk]) + "?reason=case_work"  # it asks one first
    client.force_login(factories.staff(Role.CITY_OFFICIAL))  # テスト市, 131016
    page = client.get(url).content.decode()
    assert "<th>口座名義（カナ）</th>" in page
    assert '<td data-testid="finding-holder-kana"><strong>ｽｽﾞｷ ｲﾁﾛｳ</strong></td>' in page
    assert "口座名義は、住民 A のお名前と一致しません。" in page
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<th>Account holder's name (kana)</th>" in english
    assert "<strong>ｽｽﾞｷ ｲﾁﾛｳ</strong>" in english
    assert "The account holder name does not match resident A&#x27;s name." in english
    # A finding whose input gave no name says so, and why its check could not be made.
    Finding.objects.filter(pk=l3.pk).update(holder_kana="", holder_check=3)
    page = client.get(url).content.decode()
    assert "不明（スキャンの入力に名義がありませんでした" in page
    assert "口座名義を住民 A のお名前と照合できませんでした。" in page
    ScanRun.objects.filter(pk=recorded.pk).update(holder_kana_kept=False)
    assert "名義を保存するようになる前に記録されました" in client.get(url).content.decode()
    # Another city's operator (the superuser flag) reads the finding, not the holder's name.
    Finding.objects.filter(pk=l3.pk).update(holder_kana="ｽｽﾞｷ ｲﾁﾛｳ", holder_check=2)
    root = User.objects.create_superuser("root-holder", password=None)
    client.force_login(root)
    page = client.get(url).content.decode()
    assert "ｽｽﾞｷ ｲﾁﾛｳ" not in page
    assert "この抽出結果の市区町村の職員にだけ表示します。" in page


def test_the_runs_report_through_the_pages_holds_the_officials_city_only(client, recorded):
    """`scan run` writes report.html and report.pdf with the input's place on the server,
    its totals and every municipality's counts and findings; the pages served no report, so
    an official had the whole file or none. The run page gives the report built from the
    recorded findings the reader sees: an official's holds their city's only, without the
    input or its totals; the operators' holds everything, as the files do."""
    from madoguchi.accounts.models import User
    from tests.cases.pdftext import check_pdf

    written = (Path(recorded.out_dir) / "report.html").read_text(encoding="utf-8")
    assert recorded.input_dir in written  # what the files print, for the operators
    other = Finding.objects.get(link_id="L4")
    Finding.objects.filter(pk=other.pk).update(municipality_code="271004")
    run_page = run_url(recorded.pk)
    # The report names residents as the run's page does: the reason given there goes with it.
    html_url = reverse("scans:run_report_html", args=[recorded.pk]) + "?reason=case_work"
    pdf_url = reverse("scans:run_report_pdf", args=[recorded.pk]) + "?reason=case_work"
    client.force_login(factories.staff(Role.CITY_OFFICIAL))  # テスト市, 131016
    page = client.get(run_page).content.decode()
    assert f'href="{html_url}"' in page
    assert f'href="{pdf_url}"' in page
    assert "あなたの市の抽出結果だけです" in page
    got = client.get(html_url)
    assert got["Content-Disposition"] == f'attachment; filename="scan-{recorded.pk}-report.html"'
    own = got.content.decode()
    assert "<h3>L3：" in own
    assert "<h3>L4：" not in own  # (its commit is among L3's desk events: same terminal)
    assert "271004" not in own
    assert recorded.input_dir not in own
    assert "入力の場所と件数は運用担当者にだけ示します" in own
    assert "市区町村コード 131016 の抽出結果のみ" in own
    assert "住民 " not in re.sub(r"<h3>.*?</h3>|<p>.*?</p>", "", own)  # no input totals
    assert "カードの読み取り" in own  # the desk events around the commit
    from madoguchi.audit.models import AuditEvent

    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    assert [e.payload["page"] for e in reads.order_by("-seq")[:1]] == ["scans.report"]
    assert reads.order_by("-seq").first().payload["reason"] == "case_work"
    text = check_pdf(client.get(pdf_url).content)
    assert "L3" in text
    assert "L4：" not in text
    assert "271004" not in text
    # Another city's official gets that city's findings (L4) only.
    client.force_login(_official_of("別の市", "271004"))
    theirs = client.get(html_url).content.decode()
    assert "<h3>L4：" in theirs
    assert "<h3>L3：" not in theirs
    assert recorded.input_dir not in theirs
    # A city without a code gets no report, and is told why.
    client.force_login(_official_of("コードのない市", ""))
    refused = client.get(html_url, follow=True).content.decode()
    assert "報告書はお渡しできません" in refused
    english = client.get(html_url + "&lang=en", follow=True).content.decode()
    assert "No report is given: your city has no municipality code" in english
    # The operators (superuser flag) get every municipality and the input, as the files.
    client.force_login(User.objects.create_superuser("root-report", password=None))
    whole = client.get(html_url).content.decode()
    assert "<h3>L3：" in whole
    assert "<h3>L4：" in whole
    assert recorded.input_dir in whole


def test_a_runs_page_and_report_ask_the_reason_as_a_finding_does_and_record_it(client, recorded):
    """A run's page lists its findings with the residents' ids, and its report too: they
    recorded the read without asking why, while a finding's page asked. Now each asks the
    reason first and records the read with it; the run list (counts only) asks nothing and
    records nothing, and a run's page without a finding of the reader's lists nobody."""
    from madoguchi.audit.models import AuditEvent

    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    client.force_login(factories.staff(Role.CITY_OFFICIAL))  # テスト市, 131016
    listed = client.get(reverse("scans:list")).content.decode()
    assert 'data-testid="scan-runs"' in listed
    assert 'data-testid="reason-form"' not in listed
    base = reverse("scans:run", args=[recorded.pk])
    report = reverse("scans:run_report_pdf", args=[recorded.pk])
    for url in (base + "?cause=typed_wrong_id", report):
        asked = client.get(url)
        assert 'data-testid="reason-form"' in asked.content.decode(), url
        assert asked.get("Content-Type", "").startswith("text/html"), url
        assert ">L4</a>" not in asked.content.decode()
    assert not reads.exists()
    # The reason page sends the page's own filter again with the reason.
    asked = client.get(base + "?cause=typed_wrong_id").content.decode()
    assert '<input type="hidden" name="cause" value="typed_wrong_id">' in asked
    page = client.get(base + "?cause=typed_wrong_id&reason=incident").content.decode()
    assert ">L4</a>" in page
    assert ">L3</a>" not in page
    read = reads.get()
    assert (read.payload["page"], read.payload["reason"]) == ("scans.run", "incident")
    # The finding's and the report's links carry the reason given.
    l4 = Finding.objects.get(link_id="L4")
    assert f'href="{reverse("scans:finding", args=[l4.pk])}?reason=incident"' in page
    assert f'href="{report}?reason=incident"' in page
    got = client.get(f"{report}?reason=incident")
    assert got["Content-Type"] == "application/pdf"
    last = reads.order_by("-seq").first()
    assert (last.payload["page"], last.payload["reason"]) == ("scans.report", "incident")
    # An official of a city without a finding in the run sees counts only: nothing to ask.
    client.force_login(_official_of("別の市", "271004"))
    counted = client.get(base)
    assert counted.status_code == 200
    assert 'data-testid="scan-causes"' in counted.content.decode()
    assert 'data-testid="reason-form"' not in counted.content.decode()
    assert reads.count() == 2


def test_the_runs_report_is_rendered_once_per_city_and_served_stored(client, recorded, monkeypatch):
    """The report's PDF was rendered at every request (about 100 s on a loaded machine), and
    its HTML built again: now both are rendered at the first request of a reader's scope (a
    city, or the operators' whole run) and stored; later requests are served the stored ones
    (each read still recorded), and the run's findings changing renders them again."""
    from madoguchi.accounts.models import User
    from madoguchi.audit.models import AuditEvent
    from madoguchi.scan import report as scan_report
    from madoguchi.scans.models import RunReport

    rendered = {"html": 0, "pdf": 0}
    to_html, to_pdf = scan_report.to_html, scan_report.to_pdf

    def counted_html(*args, **kwargs):
        rendered["html"] += 1
        return to_html(*args, **kwargs)

    def counted_pdf(*args, **kwargs):
        rendered["pdf"] += 1
        return to_pdf(*args, **kwargs)

    monkeypatch.setattr(scan_report, "to_html", counted_html)
    monkeypatch.setattr(scan_report, "to_pdf", counted_pdf)
    html_url = reverse("scans:run_report_html", args=[recorded.pk]) + "?reason=audit"
    pdf_url = reverse("scans:run_report_pdf", args=[recorded.pk]) + "?reason=audit"
    client.force_login(factories.staff(Role.CITY_OFFICIAL))  # テスト市, 131016
    first = client.get(pdf_url).content
    assert first.startswith(b"%PDF")
    assert rendered == {"html": 1, "pdf": 1}
    assert client.get(pdf_url).content == first
    html = client.get(html_url).content
    assert b"<h3>L3" in html
    # Another official of the same city is served the same stored report.
    client.force_login(factories.staff(Role.CITY_OFFICIAL, username="colleague"))
    assert client.get(pdf_url).content == first
    assert client.get(html_url).content == html
    assert rendered == {"html": 1, "pdf": 1}
    reads = AuditEvent.objects.filter(
        event_name="identity.record_read", payload__page="scans.report"
    )
    assert reads.count() == 5  # every request's read is recorded, stored or not
    # The operators' report (every municipality, the input) is another one.
    client.force_login(User.objects.create_superuser("root-stored", password=None))
    assert recorded.input_dir in client.get(html_url).content.decode()
    assert rendered == {"html": 2, "pdf": 1}
    assert set(RunReport.objects.values_list("scope", flat=True)) == {"131016", "*"}
    # A finding moved to another municipality: the city's report is rendered again.
    Finding.objects.filter(link_id="L4").update(municipality_code="271004")
    client.force_login(factories.staff(Role.CITY_OFFICIAL, username="third"))
    again = client.get(html_url).content.decode()
    assert "<h3>L4：" not in again
    assert "<h3>L3：" in again
    assert rendered == {"html": 3, "pdf": 1}
    assert client.get(pdf_url).content.startswith(b"%PDF")
    assert rendered == {"html": 3, "pdf": 2}


def test_officials_are_told_who_runs_a_scan_not_the_operators_command(client, recorded):
    """The scans page showed every official the command that records a run (madoguchi scan
    run --record), which they cannot run: it is the operators' (the superuser flag) only, and
    the officials read who runs the scans."""
    from madoguchi.accounts.models import User

    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    page = client.get(reverse("scans:list")).content.decode()
    assert "madoguchi scan" not in page
    assert 'data-testid="scan-who-runs"' in page
    assert "運用担当者" in page
    english = client.get(reverse("scans:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The system's operators run the scan" in english
    client.force_login(User.objects.create_superuser("root-command", password=None))
    page = client.get(reverse("scans:list")).content.decode()
    assert "madoguchi scan run DIR --out OUT --record" in page
    assert 'data-testid="scan-who-runs"' not in page


@pytest.mark.usefixtures("providers", "systems")
def test_export_without_a_trust_anchor_refuses_in_a_sentence_when_there_is_a_completion(
    trusted, tmp_path
):
    """Stored completions are re-verified before anything is written; with no trust anchor
    to verify them against the export says so in one sentence (it ended in a traceback of
    the identity service's refusal), and writes nothing. A database with no completion needs
    no anchor (below)."""
    from madoguchi.identity.models import TrustAnchor

    _exported_link(trusted)
    TrustAnchor.objects.all().delete()  # none at all (a deactivated one still verifies)
    out = tmp_path / "out"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "export", str(out))
    assert str(refused.value).startswith(
        "Nothing was exported: the stored completions' signatures are re-verified before "
        "anything is written, and no trust anchor is configured"
    )
    assert "madoguchi identity add-anchor" in str(refused.value)
    assert not (out / "links.parquet").exists()


def test_export_of_a_database_without_completions_needs_no_trust_anchor(db, tmp_path):
    from madoguchi.identity.models import TrustAnchor

    assert not TrustAnchor.objects.exists()
    assert not Completion.objects.exists()
    out = tmp_path / "out"
    call_command("scan", "export", str(out), stdout=io.StringIO())
    assert (out / "links.parquet").exists()


def test_a_findings_case_reads_in_english_on_the_english_pages(client, recorded):
    """The case list and the case page showed 「紐付け点検で見つかった誤紐付けの可能性：…」, the
    reporter and the scan's Japanese reasoning on ?lang=en: they are rendered from the finding
    (its cause, run and the scans app's English reasoning), the record staying Japanese."""
    from madoguchi.scans import services

    official = factories.staff(Role.CITY_OFFICIAL)
    client.force_login(official)
    finding = Finding.objects.get(link_id="L3")
    link, _new = services.open_case(finding, actor=official)
    case = link.case
    assert case.title.startswith("紐付け点検で見つかった誤紐付けの可能性：")
    listed = client.get("/cases/?reason=case_work&lang=en").content.decode()
    assert "Possible mis-link found by the forensic scan: Sign-out omitted" in listed
    page = client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=en")
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page.content.decode(), re.S).group(1)
    assert f"Forensic scan {finding.run_id}" in timeline
    assert "Committed as A&#x27;s procedure" in timeline
    assert finding.explanation not in timeline
    ja = client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja")
    assert case.title in ja.content.decode()


@pytest.mark.django_db
def test_export_into_a_file_or_an_unwritable_place_names_the_place_given(tmp_path):
    """`scan export /etc/hostname` said "File exists"; `scan export /proc` named the temporary
    file pyarrow could not open, not the directory the command was given."""
    a_file = tmp_path / "a-file"
    a_file.write_text("kept")
    with pytest.raises(CommandError) as refused:
        call_command("scan", "export", str(a_file))
    assert str(refused.value) == (
        f"{a_file}: exists and is not a directory: give a directory to export the tables into "
        "(nothing was written)."
    )
    assert a_file.read_text() == "kept"
    with pytest.raises(CommandError) as refused:
        call_command("scan", "export", "/proc")  # a directory no file can be made in
    assert str(refused.value).startswith("/proc: cannot be written or read (")
    assert str(refused.value).endswith("nothing was written.")
