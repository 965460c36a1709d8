"""The case page offers only the steps the transition table allows now, titled in Japanese; the
old terminal's session events in words; a legacy link gets onto a case by the page or by
`madoguchi case legacy-link`; the intake names the other resident; the demo's contact block."""

import io
import re
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from madoguchi.accounts.constants import Role
from madoguchi.benefits import identifiers
from madoguchi.cases import document, services, steps
from madoguchi.cases.constants import ALLOWED_TRANSITIONS, CaseStatus, EntryKind
from madoguchi.cases.models import Case, LegacyLink
from madoguchi.cases.services import intake
from tests import factories
from tests.cases.conftest import B_CARD, legacy, legacy_form, open_case, report_url
from tests.oddfiles import odd_files

D = {"event_date": date(2023, 7, 5), "date_precision": "day"}
# The case list with a reason given (an official is asked one before any case is shown).
CASE_LIST = "/cases/?reason=case_work"
LOG = "2022-08-10 10:02, login, 職員X\n2022-08-10 10:05, card_read, A氏\n2022-08-10 10:20, card_read, B氏\n2022-08-10 10:25, committed, B氏"


def _forms(page: str) -> list[str]:
    return re.findall(r'data-step="([a-z_]+)"', page)


def test_allowed_steps_are_exactly_what_the_service_accepts(official):
    # For every status, a step is offered iff appending its entry would be accepted.
    for status in CaseStatus:
        offered = set(steps.allowed(status))
        for name, kind in steps.KINDS.items():
            accepted = services.step_allowed(kind, status)
            assert (name in offered) == accepted, (status, name)
    assert steps.allowed(CaseStatus.CLOSED) == []
    assert ALLOWED_TRANSITIONS[CaseStatus.CLOSED] == frozenset()
    assert set(steps.allowed(CaseStatus.INTAKE)) == {"investigate", "compare", "close"}
    assert "suspend" not in steps.allowed(CaseStatus.SUSPENDED)
    assert set(steps.KINDS.values()) == set(EntryKind) - {EntryKind.INTAKE}


def test_case_page_offers_the_allowed_steps_with_japanese_titles(client, official):
    case = open_case(official)
    client.force_login(official)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    ).content.decode()
    assert _forms(page) == ["investigate", "compare", "close"]
    assert "調査を開始する" in page
    assert "<h3>investigate</h3>" not in page
    services.case_investigate(case, actor=official)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    ).content.decode()
    assert _forms(page) == ["compare", "note", "suspend", "close"]
    services.case_close(case, actor=official, summary="誤りではなかった", **D)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    ).content.decode()
    assert _forms(page) == []
    assert 'data-testid="no-steps"' in page


def test_legacy_link_from_the_page_with_session_events_in_words(client, official):
    case = open_case(official)
    client.force_login(official)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    ).content.decode()
    assert 'data-testid="legacy-link-form"' in page
    response = client.post(
        reverse("cases:legacy_link", args=[case.pk]),
        {
            "legacy-resident_label": "A氏",
            "legacy-provider_name": "キャッシュレス決済サービス",
            "legacy-account_number": B_CARD,
            "legacy-linked_on": "2022-08-01",
            "legacy-linked_on_precision": "month",
            "legacy-desk_location": "本庁の支援窓口",
            "legacy-session_log": LOG,
        },
        follow=True,
    )
    body = response.content.decode()
    case.refresh_from_db()
    link = case.legacy_link
    assert link is not None
    assert link.account_last4 == "7777"
    assert identifiers.identifier_matches(B_CARD, link.account_hash)
    assert B_CARD.replace("-", "") not in body
    assert [r["event"] for r in link.session_log] == [
        "login",
        "card_read",
        "card_read",
        "committed",
    ]
    # Session events in Japanese words, not codes; the return step says what it records.
    assert "カードの読み取り" in body
    assert "申込の確定" in body
    assert (
        'data-testid="session-log"><tr><th>時刻</th><th>出来事</th><th>職員</th><th>来庁者</th></tr>'
        in body
    )
    assert ">card_read<" not in body
    # The old records' times in the era on a Japanese page, as the rest of the case's dates
    # (「2022-08-10 10:02」 was the one calendar date on it), not ISO 8601's 2022-08-10T10:02.
    assert '<td class="nowrap">令和4年8月10日 10:02</td>' in body
    assert "2022-08-10" not in body
    assert not re.search(r"<td>\d{4}-\d\d-\d\dT", body)
    english = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=en"
    ).content.decode()
    assert '<td class="nowrap">2022-08-10 10:02</td>' in english
    client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja")  # kept
    assert 'data-testid="legacy-link-form"' not in body
    assert "事業者" in body
    # The findings see the old terminal's records.
    assert "session_not_closed" in body
    # A second link is refused, nothing added.
    again = client.post(
        reverse("cases:legacy_link", args=[case.pk]),
        {
            "legacy-resident_label": "A氏",
            "legacy-provider_name": "x",
            "legacy-account_number": "1234",
            "legacy-linked_on_precision": "unknown",
        },
        follow=True,
    )
    assert "すでに紐付けが設定されています" in again.content.decode()
    assert LegacyLink.objects.count() == 1


def test_bad_session_log_is_refused_and_nothing_is_written(client, official):
    case = open_case(official)
    client.force_login(official)
    response = client.post(
        reverse("cases:legacy_link", args=[case.pk]),
        {
            "legacy-resident_label": "A氏",
            "legacy-provider_name": "x",
            "legacy-account_number": B_CARD,
            "legacy-linked_on_precision": "unknown",
            "legacy-session_log": "yesterday, swiped, A氏",
        },
        follow=True,
    )
    assert "1行目が読めません" in response.content.decode()
    assert not LegacyLink.objects.exists()
    case.refresh_from_db()
    assert case.legacy_link is None


def test_a_refused_legacy_link_form_comes_back_as_typed_but_the_card_number(client, official):
    """One unreadable line of the old terminal's session records refused the legacy link form,
    and the case page came back with the message and an empty form: every pasted record, the
    resident, the service and the date had to be typed again. They come back as typed, once;
    the card number (a hidden field, kept only as a keyed hash) is typed again."""
    case = open_case(official)
    client.force_login(official)
    log = (
        "2022-08-01 10:00, card_read, A氏\n2022-08-01 10:05, committed, A氏\nyesterday, swiped, B氏"
    )
    client.post(
        reverse("cases:legacy_link", args=[case.pk]),
        legacy_form(
            provider_name="キャッシュレス決済サービス",
            session_log=log,
            desk_location="本庁 1階",
            linked_on="2022-08-01",
            linked_on_precision="day",
        ),
    )
    assert not LegacyLink.objects.exists()
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    page = client.get(url).content.decode()
    assert "3行目が読めません" in page
    form = re.search(r"<form[^>]*legacy[^>]*>.*?</form>", page, re.S).group(0)
    assert f">\n{log}</textarea>" in form
    assert 'value="キャッシュレス決済サービス"' in form
    assert 'value="本庁 1階"' in form
    assert 'value="2022-08-01"' in form
    assert "4980-1111-2222-3333" not in page  # legacy_form's card number
    assert 'data-testid="unsent-step"' not in page
    # Once: a reload shows the empty form.
    again = client.get(url).content.decode()
    assert "キャッシュレス決済サービス" not in again


def test_legacy_link_command(official, tmp_path, monkeypatch):
    case = open_case(official)
    log = tmp_path / "log.txt"
    log.write_text(LOG, encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(B_CARD + "\n"))
    out = io.StringIO()
    call_command(
        "case",
        "legacy-link",
        case.reference,
        "--actor",
        official.username,
        "--resident",
        "A氏",
        "--provider",
        "キャッシュレス決済サービス",
        "--linked-on",
        "2022-08-01",
        "--precision",
        "month",
        "--session-log",
        str(log),
        stdout=out,
    )
    case.refresh_from_db()
    assert case.legacy_link.account_last4 == "7777"
    assert "attached" in out.getvalue()
    assert B_CARD not in out.getvalue()
    monkeypatch.setattr("sys.stdin", io.StringIO(B_CARD + "\n"))
    with pytest.raises(CommandError, match="already has a link"):
        call_command(
            "case", "legacy-link", case.reference, "--actor", official.username,
            "--resident", "A氏", "--provider", "x",
        )  # fmt: skip


@odd_files("session log file")
def test_a_hostile_session_log_is_a_plain_refusal_before_the_card_number(
    official, tmp_path, monkeypatch, make, says
):
    """A missing, directory, non-UTF-8 session log was a traceback, and /dev/zero was read
    until memory ran out; each is refused with the reason, nothing attached, no number read."""
    case = open_case(official)
    stdin = io.StringIO(B_CARD + "\n")
    monkeypatch.setattr("sys.stdin", stdin)
    with pytest.raises(CommandError, match=says):
        call_command(
            "case", "legacy-link", case.reference, "--actor", official.username,
            "--resident", "A氏", "--provider", "x", "--session-log", str(make(tmp_path)),
        )  # fmt: skip
    assert stdin.tell() == 0
    case.refresh_from_db()
    assert case.legacy_link is None


def test_legacy_return_records_the_provider_without_ledger(official):
    from madoguchi.benefits.models import LedgerTransfer

    case = open_case(official, legacy_link=legacy(official))
    services.case_investigate(case, actor=official)
    services.case_suspend(case, actor=official, summary="利用停止を依頼", **D)
    services.case_contact(
        case, actor=official, summary="事業者に連絡", party="provider", channel="phone", **D
    )
    entry = services.case_return_points(case, actor=official, summary="事業者が返還", **D)
    assert entry.kind == EntryKind.POINT_RETURN
    assert not LedgerTransfer.objects.exists()


def test_intake_names_the_other_resident_for_the_report(client, official):
    client.force_login(official)
    response = client.post(
        reverse("cases:new"),
        {
            "resident_label": "A氏",
            "other_resident_label": "B氏",
            "reported_by": "A氏",
            "channel": "in_person",
            "summary": "心当たりがない",
            "date_precision": "unknown",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.other_resident_label == "B氏"
    md = document.to_markdown(document.build(case))
    assert "別人であるB氏" in md


def test_demo_seeds_the_reports_contact_block(db, settings, tmp_path):
    from django.contrib.auth.models import Group

    from madoguchi.accounts.constants import Role
    from madoguchi.accounts.models import User
    from madoguchi.core import demo

    settings.DATA_DIR = tmp_path
    demo.seed()
    demo.seed()  # idempotent
    # The demo's row names no city: the contact of every case whose city has none of its own
    # (here one opened by no organisation).
    official = User.objects.create_user(username="official-of-none")
    official.groups.add(Group.objects.get_or_create(name=Role.CITY_OFFICIAL.value)[0])
    block = document.contact_block(open_case(official))
    assert block["department"] == demo.DEMO_CITY_CONTACT["department"]
    assert block["phone"] == demo.DEMO_CITY_CONTACT["phone"]


def test_contact_block_from_settings_without_a_row(official, settings):
    settings.CASES_CITY_CONTACT = {"department": "市民課", "phone": "000-111-2222"}
    block = document.contact_block(open_case(official))
    assert block["department"] == "市民課"
    assert block["phone"] == "000-111-2222"


def test_an_incidents_page_opens_a_case_intake_filled_from_it(client, official):
    """The incident's button leads to the intake with when, where and what the system
    recorded, in Japanese (the city's record, whatever the page's language:
    `test_intake_from_incident_language.py`); the official adds the resident and opens the
    case."""
    from madoguchi.incidents.constants import IncidentKind, Severity
    from madoguchi.incidents.models import Incident
    from tests import factories

    terminal = factories.terminal("desk-07")
    incident = Incident.objects.create(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code="outside_unavailable",
        severity=Severity.LOW,
        summary="SimPay could not be reached. Nothing was linked.",
        terminal=terminal,
    )
    client.force_login(official)
    page = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    link = f"{reverse('cases:new')}?incident={incident.pk}"
    assert f'href="{link}"' in page
    form = client.get(link).content.decode()
    assert f'value="インシデント #{incident.pk}"' in form
    assert 'value="本庁 1階"' in form  # the desk's place, not its id (the report prints it)
    assert "SimPay could not be reached. Nothing was linked." in form
    assert '<option value="system" selected>' in form
    assert f'value="{incident.get_kind_display()}"' in form
    response = client.post(
        link,
        {
            "resident_label": "A氏",
            "reported_by": f"インシデント #{incident.pk}",
            "channel": "system",
            "summary": "SimPay could not be reached. Nothing was linked.",
            "date_precision": "day",
            "event_date": timezone.localdate().isoformat(),
            "desk_location": "本庁 1階",
        },
    )
    case = Case.objects.get()
    assert response.status_code == 302
    assert case.desk_location == "本庁 1階"
    # The intake's party is not a visitor: the system reported it.
    page = client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work")
    assert f"その他 インシデント #{incident.pk}（システム）" in page.content.decode()
    # Desk staff open intakes but do not read incidents: the incident fills nothing for them.
    client.force_login(factories.staff(Role.DESK_STAFF))
    assert client.get(link).status_code == 403


def _incident(name="desk-07"):
    from madoguchi.incidents.constants import IncidentKind, Severity
    from madoguchi.incidents.models import Incident

    return Incident.objects.create(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code="outside_unavailable",
        severity=Severity.LOW,
        summary="SimPay could not be reached. Nothing was linked.",
        terminal=factories.terminal(name),
    )


INTAKE = {
    "resident_label": "A氏",
    "reported_by": "インシデント",
    "channel": "system",
    "summary": "SimPay could not be reached. Nothing was linked.",
    "date_precision": "unknown",
}


def test_an_incident_opens_one_case_and_then_links_to_it(client, official, supervisor):
    """The incident's button opened a second case from the same incident without a word: the
    case now keeps its incident, the incident's page links to the case instead of the button,
    and a second intake (the form again, or the form sent twice) is refused saying why."""
    incident = _incident()
    client.force_login(official)
    link = f"{reverse('cases:new')}?incident={incident.pk}"
    assert client.post(link, INTAKE).status_code == 302
    case = Case.objects.get()
    assert case.incident == incident
    page = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert 'data-testid="incident-open-case"' not in page
    case_url = reverse("cases:detail", args=[case.pk])
    assert f'<a href="{case_url}">{case.reference}</a>' in page
    assert "このインシデントからはケース <a" in page
    # The intake again: no form, the refusal and the way to the case.
    again = client.get(link).content.decode()
    assert '<form method="post" class="card">' not in again
    assert f"このインシデントにはすでにケース {case.reference} があります" in again
    assert f'href="{case_url}"' in again
    # The form sent a second time (an open tab): refused, nothing opened.
    second = client.post(link, INTAKE)
    assert second.status_code == 409
    assert (
        f"このインシデントにはすでにケース {case.reference} があります" in second.content.decode()
    )
    assert Case.objects.count() == 1
    english = client.get(link + "&lang=en").content.decode()
    assert f"This incident already has a case, {case.reference}" in english
    # The contractor's supervisor reads the incident too: the case's reference, no link to an
    # official's page.
    client.force_login(supervisor)
    page = client.get(reverse("incidents:detail", args=[incident.pk]) + "?lang=ja")
    page = page.content.decode()
    assert 'data-testid="incident-open-case"' not in page
    assert f"このインシデントからはケース {case.reference} が開かれています。" in page
    assert f'href="{case_url}"' not in page


def test_a_second_case_of_an_incident_is_refused_in_english_for_the_api(official):
    incident = _incident()
    first = open_case(official, incident=incident)
    with pytest.raises(services.CaseRefused) as refused:
        open_case(official, incident=incident)
    assert refused.value.code == "incident_has_case"
    assert refused.value.status == 409
    assert refused.value.message_en == (
        f"This incident already has a case, {first.reference}: add what is new to that case "
        "instead of opening a second one."
    )
    assert Case.objects.filter(incident=incident).count() == 1
    # Another incident has its own case.
    assert open_case(official, incident=_incident("desk-08")).incident is not None


@pytest.mark.django_db(transaction=True)
def test_two_cases_opened_from_one_incident_at_once_make_one(official):
    """Two clicks at the same moment both passed the check: the incident's case column is
    unique, so the second is refused naming the first."""
    from madoguchi.refusals import Refusal
    from tests.racekit import at_once

    incident = _incident()
    results = at_once(
        intake,
        "_new_case",
        lambda: open_case(official, incident=incident),
        lambda: open_case(official, incident=incident),
    )
    assert [r.code for r in results if isinstance(r, Refusal)] == ["incident_has_case"], results
    assert sum(isinstance(r, Case) for r in results) == 1, results
    assert Case.objects.filter(incident=incident).count() == 1


def _other_city_official():
    """An official of a second city (with a contractor and a desk of its own)."""
    from madoguchi.accounts.constants import OrganisationKind
    from madoguchi.accounts.models import Organisation

    other = Organisation.objects.create(name="隣の市", kind=OrganisationKind.CITY)
    user = factories.staff(Role.CITY_OFFICIAL)
    user.organisation = other
    user.save()
    return user


def test_an_official_of_another_city_cannot_open_or_list_the_citys_cases(client, official):
    """Every city official could open, list, step and download any city's cases."""
    mine = open_case(official)  # deskless, opened by this city's official
    at_desk = open_case(factories.staff(Role.DESK_STAFF), terminal=factories.terminal())
    stranger = _other_city_official()
    theirs = open_case(stranger)
    client.force_login(stranger)
    for case in (mine, at_desk):
        for path in [
            reverse("cases:detail", args=[case.pk]) + "?reason=case_work",
            report_url(case),
            report_url(case, "report_md"),
            report_url(case, "report_pdf"),
        ]:
            assert client.get(path).status_code == 404, path
        r = client.post(reverse("cases:step", args=[case.pk, "note"]), {"note-summary": "x"})
        assert r.status_code == 404
        assert case.timeline.count() == 1  # nothing recorded
    listed = client.get(CASE_LIST).content.decode()
    assert mine.reference not in listed
    assert at_desk.reference not in listed
    assert theirs.reference in listed
    # The city's own official still sees both, and not the other city's.
    client.force_login(official)
    listed = client.get(CASE_LIST).content.decode()
    assert mine.reference in listed
    assert at_desk.reference in listed
    assert theirs.reference not in listed
    page = reverse("cases:detail", args=[at_desk.pk]) + "?reason=case_work"
    assert client.get(page).status_code == 200


def test_a_residents_text_in_the_markdown_report_is_plain_text(official):
    """A resident's "not me" comment reaches the case's summary and the report's timeline: in
    the Markdown download it was an image a viewer fetches, a link and raw HTML."""
    hostile = (
        "![x](https://evil.example/a.png) <img src=https://evil.example/b.png> "
        "[市の窓口](https://evil.example/) `code`\n# 見出し\r\n<script>alert(1)</script>"
    )
    case = open_case(official, summary=hostile)
    md = document.to_markdown(document.build(case))
    assert "![x](" not in md
    # Every angle bracket, square bracket and backtick is escaped: no HTML, link or image.
    assert not re.search(r"(?<!\\)[<>\[\]`]", md)
    assert "\\<img src=https://evil.example/b.png\\>" in md
    assert "\\[市の窓口\\](https://evil.example/)" in md  # the text stays readable
    assert "\n# 見出し" not in md
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings == [line for line in headings if line.startswith(("## ", "### "))]
    assert len(headings) == 5


def test_the_case_list_says_where_cases_come_from_and_dates_them_in_the_era(client, official):
    """An empty list said only 「ケースはありません。」, and a case's opening read 2026-12-01 on
    the Japanese list while its page says 令和8年12月1日."""
    client.force_login(official)
    empty = client.get(CASE_LIST).content.decode()
    assert "ケースはまだありません。" in empty
    assert "「これは自分ではない」" in empty
    case = open_case(official)
    page = client.get(CASE_LIST).content.decode()
    opened = timezone.localtime(case.opened_at)
    assert (
        f'<td class="nowrap">令和{opened.year - 2018}年{opened.month}月{opened.day}日 {opened:%H:%M} '
        in page
    )
    assert f"{opened:%Y-%m-%d}" not in page
    english = client.get(CASE_LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<td class="nowrap">{opened:%Y-%m-%d %H:%M} ' in english


def test_the_legacy_link_command_refuses_an_official_of_another_city(official, monkeypatch):
    """Side doors round 5: `case legacy-link CASE --actor` took any official, so a link was
    attached to this city's case as the act of another city's official (the page answers
    that official 404; `scan open-cases --as` already refused another city's findings). Now
    the actor must be able to open the case; nothing is attached, no number read."""
    case = open_case(official)
    stdin = io.StringIO(B_CARD + "\n")
    monkeypatch.setattr("sys.stdin", stdin)
    with pytest.raises(CommandError, match="cannot open"):
        call_command(
            "case", "legacy-link", case.reference, "--actor", _other_city_official().username,
            "--resident", "A氏", "--provider", "x",
        )  # fmt: skip
    assert stdin.tell() == 0
    case.refresh_from_db()
    assert case.legacy_link is None
    assert not LegacyLink.objects.exists()


def test_a_case_step_asked_with_get_or_for_an_unknown_step_says_why(client, official):
    """Side doors round 5: GET on a step's or the legacy link's address, or a POST to a step
    that does not exist, answered an official who runs the case 「このページを開く権限が
    ありません」, a reason that was not the reason. Now 405 saying the address takes POST (as
    the scan finding's button does), and 404 for a step that does not exist."""
    case = open_case(official)
    client.force_login(official)
    for url in (
        reverse("cases:step", args=[case.pk, "note"]),
        reverse("cases:legacy_link", args=[case.pk]),
    ):
        r = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        assert r.status_code == 405, url
        assert r["Allow"] == "POST"
        assert "このアドレスは GET では使えません（使えるのは POST です）" in r.content.decode()
    r = client.post(reverse("cases:step", args=[case.pk, "nonsense"]), {})
    assert r.status_code == 404
    assert case.timeline.count() == 1


def test_the_case_report_asks_the_reason_before_showing_the_resident(client, official):
    """The report (page, Markdown, PDF) was served without a reason and its read recorded
    with none, while the case page asks one first; it carries the resident's comment."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.identity.models import Holder

    case = open_case(official, holder=Holder.objects.create(), summary="心当たりのない申込です")
    client.force_login(official)
    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    for name in ("report", "report_md", "report_pdf"):
        asked = client.get(reverse(f"cases:{name}", args=[case.pk]))
        assert asked.status_code == 200, name
        text = asked.content.decode(errors="replace")
        assert "心当たりのない申込" not in text
        assert not asked.content.startswith(b"%PDF")
        assert 'data-testid="reason-form"' in text
        assert "理由" in text  # the page says why, in Japanese
        assert asked["Cache-Control"] == "no-store"
        assert not reads.exists(), name
    english = client.get(reverse("cases:report", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "Why are you opening this record?" in english.content.decode()
    # With a reason: shown, and the read recorded with it; the page's links carry it.
    page = client.get(report_url(case, reason="resident_inquiry")).content.decode()
    assert "心当たりのない申込" in page
    assert f'href="{report_url(case, "report_md", "resident_inquiry")}"' in page
    assert f'href="{report_url(case, "report_pdf", "resident_inquiry")}"' in page
    md = client.get(report_url(case, "report_md", "resident_inquiry"))
    assert "心当たりのない申込" in md.content.decode()
    assert client.get(report_url(case, "report_pdf", "audit")).content.startswith(b"%PDF")
    assert [(e.payload["page"], e.payload["reason"]) for e in reads.order_by("seq")] == [
        ("cases.report", "resident_inquiry"),
        ("cases.report", "resident_inquiry"),
        ("cases.report", "audit"),
    ]
    assert {e.subject_id for e in reads} == {str(case.holder_id)}
    # The case page's link to the report carries the reason given there.
    detail = client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work")
    assert f'href="{report_url(case)}"' in detail.content.decode()


def test_the_report_text_typed_before_the_reason_is_kept_through_the_reason_form(client, official):
    """The report's reason form was a GET: an official whose edit was sent without a reason
    (the sign-in's remembered reason gone) was asked it, and the page reloaded without what
    they typed. The reason form posts what was typed with the reason; saved once it is given,
    and the report's read is recorded with it, as before."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.identity.models import Holder

    case = open_case(official, holder=Holder.objects.create())
    client.force_login(official)
    url = reverse("cases:report", args=[case.pk])
    typed = {"title": "窓口での誤登録について", "prevention": "一行目の対策\n二行目 <b>&</b>"}
    asked = client.post(url, typed)
    page = asked.content.decode()
    assert asked.status_code == 200
    assert 'data-testid="reason-form"' in page
    form = re.search(r'<form method="(\w+)" data-testid="reason-form">(.*?)</form>', page, re.S)
    assert form is not None
    assert form.group(1) == "post"
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    assert hidden["title"] == typed["title"]
    assert hidden["prevention"] == "一行目の対策\n二行目 &lt;b&gt;&amp;&lt;/b&gt;"
    assert "csrfmiddlewaretoken" in form.group(2)
    assert "入力した内容はそのまま保たれ" in page
    case.refresh_from_db()
    assert case.report_title == ""
    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    assert not reads.exists()
    english = client.post(url, typed, HTTP_ACCEPT_LANGUAGE="en")
    assert "What you entered is kept" in english.content.decode()
    # The reason form sends the text again with the reason: saved, then the report is read.
    sent = client.post(url, {**typed, "reason": "case_work"})
    assert sent.status_code == 302
    case.refresh_from_db()
    assert (case.report_title, case.report_prevention) == (typed["title"], typed["prevention"])
    shown = client.get(sent["Location"]).content.decode()
    assert "窓口での誤登録について" in shown
    assert [(e.payload["page"], e.payload["reason"]) for e in reads] == [
        ("cases.report", "case_work")
    ]


def test_the_case_list_is_paged_newest_first_and_counts_every_case(client, official, monkeypatch):
    """`scan open-cases` opens a case per mis-link found (thousands at a city's scale), and the
    list showed every case on one page. It shows a page at a time, newest first, with the total
    and links to the previous and next pages."""
    from madoguchi.cases import views

    monkeypatch.setattr(views, "CASES_PER_PAGE", 2)
    cases = [open_case(official) for _ in range(3)]
    client.force_login(official)
    first = client.get(CASE_LIST).content.decode()
    refs = re.findall(r">(CASE-\d+)<", first)
    assert refs == [cases[2].reference, cases[1].reference]
    assert "全 3 件" in first
    assert ">1 / 2<" in first
    # The other pages, like each case's link, carry the reason given for the list.
    assert 'href="?page=2&amp;reason=case_work"' in first
    second = client.get(
        reverse("cases:list"), {"page": "2", "reason": "case_work"}
    ).content.decode()
    assert re.findall(r">(CASE-\d+)<", second) == [cases[0].reference]
    assert 'href="?page=1&amp;reason=case_work"' in second
    # A page number past the end or not a number shows the last or the first page, never a 404.
    assert re.findall(
        r">(CASE-\d+)<",
        client.get(reverse("cases:list"), {"page": "9", "reason": "case_work"}).content.decode(),
    ) == [cases[0].reference]
    assert (
        cases[2].reference
        in client.get(reverse("cases:list"), {"page": "x", "reason": "case_work"}).content.decode()
    )
    english = client.get(CASE_LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "3 in all" in english


def test_a_case_from_a_complaint_names_who_complained_not_the_system(client, official):
    """A complaint is a person's words: the intake from its incident named its reporter
    「インシデント #n」 by the system channel, so the case's first entry read as if the system had
    reported it. It names who complained, in person (the official changes the channel if the
    complaint came by phone or letter)."""
    from madoguchi.incidents.services import incident_complaint

    incident = incident_complaint(
        recorded_by=official, terminal=None, summary="覚えのない紐付け", reported_by="住民 A 様"
    )
    client.force_login(official)
    form = client.get(f"{reverse('cases:new')}?incident={incident.pk}").content.decode()
    assert 'value="住民 A 様"' in form
    assert f'value="インシデント #{incident.pk}"' not in form
    assert '<option value="in_person" selected>' in form
    assert '<option value="system" selected>' not in form


def test_the_case_page_names_the_incident_it_was_opened_from_or_says_why_none(client, official):
    """The case page said nothing of an incident: a case opened from one now links to it, and a
    case with none (opened elsewhere, or from an incident before cases kept theirs) says so."""
    incident = _incident()
    from_incident = open_case(official, incident=incident)
    without = open_case(official)
    client.force_login(official)
    page = client.get(reverse("cases:detail", args=[from_incident.pk]) + "?reason=case_work")
    page = page.content.decode()
    incident_url = reverse("incidents:detail", args=[incident.pk])
    # A Japanese sentence, without the spaces an English one puts around the link's words.
    assert (
        f'このケースは、インシデント<a href="{incident_url}?reason=case_work">#{incident.pk}（'
        in page
    )
    assert re.search(r"#\d+（[^<]+）</a>から開かれました。", page)
    assert "結び付いたインシデントはありません" not in page
    page = client.get(reverse("cases:detail", args=[without.pk]) + "?reason=case_work")
    page = page.content.decode()
    assert re.search(
        r'data-testid="case-incident">このケースに結び付いたインシデントはありません。', page
    )
    assert f'href="{incident_url}' not in page
    english = client.get(reverse("cases:detail", args=[without.pk]) + "?reason=case_work&lang=en")
    assert "No incident is linked to this case" in english.content.decode()


def test_the_day_fields_placeholder_reads_as_an_example_not_a_value(client, official):
    """An empty day field showed 2026-12-01 in it, which read as a day already filled in."""
    case = open_case(official)
    client.force_login(official)
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    page = client.get(url).content.decode()
    assert 'placeholder="例：2026-12-01"' in page
    assert 'placeholder="2026-12-01"' not in page
    assert 'placeholder="e.g. 2026-12-01"' in client.get(url + "&lang=en").content.decode()


def test_the_intakes_day_field_says_an_eras_day_is_taken_as_the_others_do(client, official):
    """The intake's 日付 showed only its example (例：2026-12-01), while the incidents' and the
    officials' day fields say that 令和8年12月1日 is taken too: now every case day field says
    it, under the field and read with it (aria-describedby)."""
    client.force_login(official)
    said = "日付は 2026-12-01 または 令和8年12月1日 のように書いてください。"
    new = client.get(reverse("cases:new") + "?lang=ja").content.decode()
    assert f'<p class="hint" id="id_event_date_helptext">{said}</p>' in new
    assert re.search(
        r'<input[^>]*name="event_date"[^>]*aria-describedby="id_event_date_helptext"', new
    )
    case = open_case(official)
    page = client.get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja")
    assert said in page.content.decode()
    english = client.get(reverse("cases:new") + "?lang=en").content.decode()
    assert "Write the day as 2026-12-01 or 令和8年12月1日." in english


def test_the_timeline_names_who_reported_and_how_in_the_pages_brackets(client, official):
    """The timeline wrote who told and how with ASCII brackets on a Japanese page (来庁者 A氏
    (来庁)); the Japanese page uses full-width ones, the English page ASCII."""
    case = open_case(official, reported_by="A氏", channel="in_person")
    client.force_login(official)
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    assert "来庁者 A氏（来庁）" in client.get(url).content.decode()
    assert "A氏 (In person)" in client.get(url + "&lang=en").content.decode()


def test_the_officials_pages_call_a_case_by_one_word(client, official):
    """A case is ケース on the officials' pages (the navigation, the list, the page's
    headings), but the header, the link's status and a few sentences said 案件, as if it were
    something else."""
    from django.utils import translation

    from madoguchi.benefits.constants import LinkStatus

    case = open_case(official)
    client.force_login(official)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    ).content.decode()
    assert 'data-testid="no-notice-why"' in page
    assert "インシデント・報告・ケース" in page
    new = client.get(reverse("cases:new") + "?lang=ja").content.decode()
    for shown in (page, new):
        assert "案件" not in shown
    with translation.override("ja"):
        assert str(LinkStatus.REPLACED.label) == "ケースにより差し替え"


def test_a_timeline_entry_names_the_status_it_led_to_only_when_that_says_more(client, official):
    """Each timeline entry read "kind → status": a case's first read 「受付 → 受付」 (Intake →
    Intake), a suspension 「利用停止 → 利用停止」, a closing 「終了 → 終了」. The status follows
    the step only where it says something the step's name does not."""
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    url = reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    for lang in ("ja", "en"):
        page = client.get(f"{url}&lang={lang}").content.decode()
        steps_shown = re.findall(r'data-testid="entry-step">([^<]*)<', page)
        with translation.override(lang):
            intake = str(EntryKind.INTAKE.label)
            started = f"{EntryKind.INVESTIGATION.label} → {CaseStatus.INVESTIGATION.label}"
        assert sorted(steps_shown) == sorted([intake, started]), steps_shown


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--resident", "住民 123456789012", r"--resident: .*long number"),
        ("--resident", "A" * 101, r"--resident: Ensure this value has at most 100 characters"),
        ("--provider", "P" * 201, r"--provider: Ensure this value has at most 200 characters"),
        ("--desk", "本庁\u202e1階", r"--desk: "),
        ("--source", "S" * 201, r"--source: Ensure this value has at most 200 characters"),
        ("--session-log", None, r"--session-log: Ensure this value has at most 20000 characters"),
    ],
)
def test_the_legacy_link_command_takes_its_text_as_the_case_pages_form_does(
    official, tmp_path, monkeypatch, option, value, says
):
    """Run with hostile arguments (thirty-sixth session), the command stored a 12-digit number
    in the resident's label (the page's form refuses it as a possible individual number) and a
    bidirectional control in the desk, and a label past its column's length was PostgreSQL's
    "value too long" traceback. Each is refused naming the option, before the number is read."""
    case = open_case(official)
    if value is None:
        value = str(tmp_path / "log.txt")
        (tmp_path / "log.txt").write_text(LOG * (20001 // len(LOG) + 1), encoding="utf-8")
    stdin = io.StringIO(B_CARD + "\n")
    monkeypatch.setattr("sys.stdin", stdin)
    args = {"--resident": "A氏", "--provider": "P", option: value}
    with pytest.raises(CommandError, match=says + r".*Nothing was attached\.$"):
        call_command(
            "case", "legacy-link", case.reference, "--actor", official.username,
            *[x for pair in args.items() for x in pair], stdout=io.StringIO(),
        )  # fmt: skip
    assert stdin.tell() == 0  # the number was not asked for
    case.refresh_from_db()
    assert case.legacy_link is None
    assert not LegacyLink.objects.exists()
