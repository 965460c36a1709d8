"""Officials' pages: who sees what, a visit's audit trail, incidents."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone, translation

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.models import Organisation, User
from madoguchi.desk import services
from madoguchi.desk.constants import AgentEventKind, VisitEndReason
from madoguchi.era import format_era
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.constants import DeskSessionCloseReason
from tests import cardkit, factories

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _origin(settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.SECURE_SSL_REDIRECT = False


def other_contractor_terminal():
    org = Organisation.objects.create(
        name="別の窓口株式会社", kind=OrganisationKind.CONTRACTOR, city=factories.city()
    )
    return terminal_services.terminal_register(
        name="other-01", location="支所", contractor=org, actor=None
    )


def visit_on(terminal, card, *, pending=False):
    desk = terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())
    nonce = services.auth_challenge(desk_session=desk).value
    visit = services.visit_start(
        desk_session=desk, token=cardkit.auth_token(card, ORIGIN, nonce), nonce=nonce
    )
    if pending:
        services.procedure_prepare(
            desk_session=desk, kind="test_link", fields={"account": "PAY-B-0002", "points": 1}
        )
    return visit


@pytest.fixture
def two_visits(trusted):
    ours = visit_on(factories.terminal(), trusted.card("A"), pending=True)
    services.visit_end(visit=ours, reason=VisitEndReason.CARD_REMOVED)  # records an incident
    theirs = visit_on(other_contractor_terminal(), trusted.card("B"), pending=True)
    services.agent_event(
        terminal=theirs.terminal, kind=AgentEventKind.INSERTED, cert_fingerprint="00" * 32
    )  # another card on the reader: the visit ends, a card_swapped incident
    return ours, theirs


def _tags_out(html: str) -> str:
    """The page without the spans that keep a value's words together (the terminal's name and
    place are set in them)."""
    return re.sub(r"</?span[^>]*>", "", html)


def test_desk_staff_cannot_see_officials_pages(client, db):
    client.force_login(factories.staff())
    assert client.get("/officials/").status_code == 403
    assert client.get("/officials/incidents/").status_code == 403


def test_anonymous_is_sent_to_sign_in(client, db):
    assert client.get("/officials/").status_code == 302


def test_city_official_sees_every_desk_and_visit(client, two_visits):
    ours, theirs = two_visits
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get("/officials/").content.decode()
    assert ours.reference in html
    assert theirs.reference in html
    assert "other-01" in html
    incidents = client.get("/officials/incidents/?reason=daily_check").content.decode()
    assert ours.reference in incidents
    assert theirs.reference in incidents


def test_each_staff_session_of_a_desk_is_its_own_line(client, two_visits):
    """Three sign-ins on one desk read as three entries, not one run-on line of names."""
    ours, _ = two_visits
    terminal = ours.terminal
    for _n in range(2):
        terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get("/officials/").content.decode()
    row = re.search(rf"<tr><td[^>]*>{terminal.name}</td>.*?</tr>", html, re.S)
    assert row, html
    entries = re.findall(r"<li>([^<]*)</li>", row.group(0))
    assert len(entries) == 3, row.group(0)
    # Japanese brackets on the Japanese page, with nothing between the name and its times.
    assert all(
        re.fullmatch(r"\S+（\d\d:\d\d(–(\d\d:\d\d)?| から、[^）]+)）", e) for e in entries
    ), entries
    html = client.get("/officials/?lang=en").content.decode()
    row = re.search(rf"<tr><td[^>]*>{terminal.name}</td>.*?</tr>", html, re.S)
    entries = re.findall(r"<li>([^<]*)</li>", row.group(0))
    assert all(re.fullmatch(r"\S+ \(\d\d:\d\d–(\d\d:\d\d|[^)]+)?\)", e) for e in entries), entries


def test_the_visit_count_is_written_in_japanese_on_the_japanese_page(client, two_visits):
    """「受付 (2 件, 受付中 0 件)」 mixed an ASCII comma and brackets into the Japanese heading;
    the English heading stays as it was. The visit's desk and its place likewise."""
    ours, _ = two_visits
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get("/officials/?lang=ja").content.decode()
    assert '<span class="hint" data-testid="visit-count">2 件（受付中 0 件）</span>' in html
    # The heading's day runs into its particle, as the incidents' 「令和8年12月1日のインシデント」
    # does (it read 「令和8年12月4日 の窓口と受付」).
    day = format_era(timezone.localdate(), weekday=False)
    assert f"<h1>{day}の窓口と受付</h1>" in html, html
    html = client.get("/officials/?lang=en").content.decode()
    assert '<span class="hint" data-testid="visit-count">(2 visits, 0 open)</span>' in html
    visit = f"/officials/visits/{ours.public_id}/?reason=incident"
    html = client.get(visit + "&lang=ja").content.decode()
    assert f"<dd>{ours.terminal.name}（{ours.terminal.location}）</dd>" in _tags_out(html)
    html = client.get(visit + "&lang=en").content.decode()
    assert f"<dd>{ours.terminal.name} ({ours.terminal.location})</dd>" in _tags_out(html)


def test_signed_in_now_is_who_holds_a_live_sign_in_not_every_session_of_the_day(client, db):
    """The desks' list only grew: sessions that ended, and open ones whose staff sign-in had
    expired (never signed out), all read as signed in."""
    from django.contrib.sessions.backends.db import SessionStore

    terminal = factories.terminal()
    ended = terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())
    terminal_services.desk_session_close(
        session=ended, reason=DeskSessionCloseReason.SIGNED_OUT, actor=None
    )
    now = terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())
    lapsed_desk = factories.terminal(name="desk-lapsed")
    lapsed = terminal_services.desk_session_open(terminal=lapsed_desk, staff=factories.staff())
    for session, age in ((now, 3600), (lapsed, -1)):  # a live sign-in, an expired one
        store = SessionStore()
        store["desk_session_id"] = session.pk
        store.set_expiry(age)
        store.create()
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get("/officials/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    rows = {
        name: re.search(rf"<tr><td[^>]*>{name}</td>.*?</tr>", html, re.S).group(0)
        for name in (terminal.name, lapsed_desk.name)
    }
    current = re.search(r'data-testid="signed-in-now">(.*?)</td>', rows[terminal.name], re.S)
    assert current.group(1).strip() == str(now.staff)
    assert str(ended.staff) not in current.group(1)
    gone = re.search(r'data-testid="signed-in-now">(.*?)</td>', rows[lapsed_desk.name], re.S)
    assert str(lapsed.staff) not in gone.group(1)
    assert "nobody" in gone.group(1)
    assert "sign-in expired, never signed out" in rows[lapsed_desk.name]
    # The day's sign-ins are all still listed, each with its times.
    assert str(ended.staff) in rows[terminal.name]


def test_supervisor_sees_only_their_contractor(client, two_visits):
    ours, theirs = two_visits
    supervisor = factories.staff(Role.SUPERVISOR)  # of the factories' contractor
    client.force_login(supervisor)
    html = client.get("/officials/").content.decode()
    assert ours.reference in html
    assert theirs.reference not in html
    assert "other-01" not in html
    incidents = client.get("/officials/incidents/?reason=daily_check").content.decode()
    assert ours.reference in incidents
    assert theirs.reference not in incidents
    assert (
        client.get(f"/officials/visits/{theirs.public_id}/?reason=daily_check").status_code == 404
    )


def test_an_official_of_another_city_sees_none_of_the_citys_desks_visits_or_incidents(
    client, two_visits
):
    """`/officials/` showed every city's desks, visits and sessions, `/officials/incidents/`
    every city's incidents, and a visit's page (the resident's data) opened for any official."""
    ours, theirs = two_visits
    other_city = Organisation.objects.create(name="隣の市", kind=OrganisationKind.CITY)
    stranger = factories.staff(Role.CITY_OFFICIAL)
    stranger.organisation = other_city
    stranger.save()
    client.force_login(stranger)
    html = client.get("/officials/").content.decode()
    incidents = client.get("/officials/incidents/?reason=daily_check").content.decode()
    for visit in (ours, theirs):
        assert visit.reference not in html
        assert visit.terminal.name not in html
        assert visit.reference not in incidents
        page = f"/officials/visits/{visit.public_id}/?reason=daily_check"
        assert client.get(page).status_code == 404


def test_visit_detail_shows_audit_trail_and_incident(client, two_visits):
    ours, _ = two_visits
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    r = client.get(f"/officials/visits/{ours.public_id}/?reason=incident")
    html = r.content.decode()
    assert r.status_code == 200
    assert f"受付を開始しました（受付 {ours.reference}）" in html
    # Procedures and end reasons by their names, not their codes (the table and the trail).
    assert "手続き テスト用の紐付け を準備しました" in html
    assert "<td>テスト用の紐付け</td>" in html
    assert "test_link" not in html
    assert f"受付を終了しました（受付 {ours.reference}、理由: カードが取り外されました）" in html
    with translation.override("ja"):
        kind = str(IncidentKind.VISIT_ENDED_WITH_PENDING.label)
    assert kind in html  # the incident's kind, in Japanese
    assert "card_removed" not in html  # its reason in words (the sentence), never the code
    assert "（カードが取り外されました）。何も確定していません。" in html
    assert "no-store" in r["Cache-Control"]


def test_incidents_filter_by_kind(client, two_visits):
    ours, theirs = two_visits
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get("/officials/incidents/?kind=card_swapped&reason=daily_check").content.decode()
    assert theirs.reference in html
    assert ours.reference not in html


def test_day_filter(client, two_visits):
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get("/officials/?date=2001-01-01").content.decode()
    assert two_visits[0].reference not in html


@pytest.mark.parametrize(
    ("path", "bad"),
    [("/officials/?date=", "2026-13-01"), ("/incidents/?reason=daily_check&day=", "yesterday")],
)
def test_a_day_that_is_not_a_date_is_said_so_and_today_is_shown(client, two_visits, path, bad):
    """A mistyped day is not taken silently for today: the page says what it could not read
    and that it shows today, in Japanese."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    response = client.get(path + bad)
    assert response.status_code == 200
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1
    assert f"「{bad}」は日付として読めません" in messages[0]
    assert "今日の記録を表示しています" in messages[0]
    assert two_visits[0].reference in response.content.decode()  # today's
    # No day at all is today, without a word.
    assert not list(client.get(path).context["messages"])


def test_superuser_without_role_may_view(client, db):
    admin = User.objects.create_superuser("root", password=factories.PASSWORD)
    assert not Group.objects.filter(user=admin).exists()
    client.force_login(admin)
    assert client.get("/officials/").status_code == 200


def test_opening_a_visit_asks_why_first_and_records_the_reason(client, two_visits):
    ours, _ = two_visits
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    url = f"/officials/visits/{ours.public_id}/"
    asked = client.get(url).content.decode()
    assert 'name="reason"' in asked
    # Nothing of the visit before a reason is given. (The page's own address holds the public
    # id, whose first 8 characters are the reference when they happen to be all digits.)
    assert ours.reference not in asked.replace(str(ours.public_id), "")
    assert client.get(url + "?reason=made-up").content.decode().count('name="reason"') > 0
    assert client.get(url + "?reason=incident").status_code == 200
    # The reason is remembered for this page in this sign-in (a step's redirect back).
    assert client.get(url).status_code == 200
    from madoguchi.audit.models import AuditEvent

    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    assert [e.payload["reason"] for e in reads] == ["incident", "incident"]
    assert {e.subject_id for e in reads} == {str(ours.holder_id)}


def test_incident_pages_have_the_officials_layout_and_navigation(client, two_visits):
    """/incidents/ is laid out as the officials' pages are (the centred wide column, their
    navigation back to the desks and visits), with the oversight links under it."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    pages = {}
    for url in ("/officials/", "/incidents/"):
        html = client.get(url + "?reason=daily_check").content.decode()
        main = re.search(r'<main id="main"[^>]*class="([^"]*)"', html)
        assert main is not None
        pages[url] = (main.group(1), '<nav class="subnav"' in html)
    assert pages["/incidents/"] == pages["/officials/"] == ("container wide", True)
    # One link per name: the oversight's own incidents list, not the officials' one beside it.
    assert html.count(">日ごとのインシデント</a>") == 1
    assert ">インシデント一覧（全日）</a>" not in html


def test_the_two_incident_lists_have_names_that_tell_them_apart(client, two_visits):
    """Both lists were called 「インシデント」: the officials' one (every day, filtered by kind
    and severity) and the oversight's (one day): each now says which it is, in its link, its
    title and its heading, in Japanese and in English."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    officials = client.get("/officials/?lang=ja").content.decode()
    assert '<a href="/officials/incidents/" >インシデント一覧（全日）</a>' in officials
    listed = client.get("/officials/incidents/?reason=daily_check&lang=ja").content.decode()
    assert "<h1>インシデント一覧（全日）</h1>" in listed
    assert '「<a href="/incidents/">日ごとのインシデント</a>」を開きます。' in listed
    day = client.get("/incidents/?reason=daily_check&lang=ja").content.decode()
    assert '<a href="/incidents/">日ごとのインシデント</a>' in day
    assert re.search(r"<h1>令和\d+年\d+月\d+日のインシデント</h1>", day), day
    assert "<title>日ごとのインシデント" in day
    for html in (officials, listed, day):
        assert ">インシデント</a>" not in html
    english = client.get("/officials/incidents/?reason=daily_check&lang=en").content.decode()
    assert "<h1>All incidents</h1>" in english
    day = client.get("/incidents/?reason=daily_check&lang=en").content.decode()
    assert '<a href="/incidents/">Incidents by day</a>' in day
    assert re.search(r"<h1>Incidents on \d{4}-\d\d-\d\d</h1>", day), day


def test_visit_trail_shows_what_the_visit_committed_and_its_payout(client, db):
    """The link a visit committed, its point postings and the payout that paid them are in the
    visit's audit trail (their subject is the link or the batch, not the visit), with the
    provider's display name looked up once per page, not once per line."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from madoguchi.audit import services as audit
    from madoguchi.benefits import services as benefits
    from madoguchi.benefits.events import BENEFITS_LINK_CREATED, BENEFITS_PAYOUT_SENT
    from tests.benefits import builders

    prog, prov = builders.programme(), builders.provider()
    link = builders.link(
        builders.holder(), programme=prog, provider=prov, account="7010000000000001"
    )
    other = builders.link(
        builders.holder(), programme=prog, provider=prov, account="7010000000000003"
    )
    with transaction.atomic():
        for each in (link, other):
            audit.record(
                BENEFITS_LINK_CREATED,
                subject=each,
                payload={"provider": prov.code, "account": each.masked_account},
            )
    benefits.grants_evaluate(link.holder)
    batch = benefits.payout_batch_create(prov, prog)
    with transaction.atomic():
        audit.record(
            BENEFITS_PAYOUT_SENT,
            subject=batch,
            payload={"provider": prov.code, "batch": batch.batch_id, "points": 350},
        )
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    with CaptureQueriesContext(connection) as queries:
        html = client.get(
            f"/officials/visits/{link.visit.public_id}/?reason=incident"
        ).content.decode()
    assert f"決済サービスを紐付けました（シミュレーションペイ {link.masked_account}）" in (
        html.replace('<span class="nowrap">', "").replace("</span>", "")
    )
    assert f'<span class="nowrap">{link.masked_account}</span>' in html  # kept on one line
    assert other.masked_account not in html  # another visit's link is not this visit's
    assert "ポイントの記帳: 付与 " in html  # the transfer's kind in words, not "grant"
    assert (
        f"ポイントを付与依頼しました（シミュレーションペイ、バッチ {batch.batch_id}、350 ポイント）"
        in html
    )
    lookups = [q for q in queries.captured_queries if 'FROM "benefits_provider"' in q["sql"]]
    assert len(lookups) == 1, lookups


OVERSIGHT = {
    "/incidents/": ">日ごとのインシデント</a>",
    "/incidents/complaint/": ">苦情を記録</a>",
    "/reports/": ">日次報告</a>",
    "/reports/city/": ">報告の受領状況（市）</a>",
    "/reports/dashboard/": ">ダッシュボード</a>",
    "/cases/": ">ケース</a>",
    "/cases/new/": ">ケースの受付</a>",
    "/scans/": ">紐付け点検（スキャン）</a>",
}


@pytest.mark.parametrize("role", [Role.DESK_STAFF, Role.SUPERVISOR, Role.CITY_OFFICIAL])
def test_the_oversight_navigation_links_only_the_pages_the_reader_may_open(client, db, role):
    """Desk staff on /cases/ were offered incidents, reports and scans, each a 403."""
    client.force_login(factories.staff(role))
    html = client.get("/cases/").content.decode()
    nav = re.search(r'<nav class="oversight-nav".*?</nav>', html, re.S).group(0)
    for url, link in OVERSIGHT.items():
        opens = client.get(url).status_code == 200
        assert (link in nav) == opens, (role, url, opens)


ISO_DAY = re.compile(r"\d{4}-\d\d-\d\d")
ERA_MOMENT = re.compile(r"令和\d+年\d+月\d+日 \d\d:\d\d:\d\d")
EN_MOMENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def _pages(visit):
    incident = Incident.objects.filter(visit=visit).first()
    return [
        "/officials/",
        f"/officials/visits/{visit.public_id}/?reason=incident",
        "/officials/incidents/?reason=daily_check",
        "/incidents/?reason=daily_check",
        reverse("incidents:detail", args=[incident.pk]) + "?reason=incident",
    ]


def _text(html):
    """The page's text without its tags' attributes (dates in inputs and links stay ISO), nor
    the day field's hint, whose example shows the typed form beside the era's."""
    html = re.sub(r'<span class="hint" id="(date|day)-hint">[^<]*</span>', "", html)
    html = re.sub(r"<(input|a|form|link|script)\b[^>]*>", "", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_officials_pages_date_in_the_era_in_japanese_and_the_calendar_in_english(
    client, two_visits
):
    """They showed `2026-12-01 16:25:07` and `Desks and visits on 2026-12-01` while the case
    pages read 令和8年12月1日."""
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    for url in _pages(two_visits[0]):
        response = client.get(url)
        assert response.status_code == 200, url
        text = _text(response.content.decode())
        assert "令和" in text, url
        assert not ISO_DAY.search(text), (url, ISO_DAY.search(text))
    detail = _text(client.get(_pages(two_visits[0])[4]).content.decode())
    assert ERA_MOMENT.search(detail)
    # English pages keep English dates.
    for url in _pages(two_visits[0]):
        joined = "&" if "?" in url else "?"
        text = _text(client.get(f"{url}{joined}lang=en").content.decode())
        assert "令和" not in text, url
    detail = _text(client.get(_pages(two_visits[0])[4] + "?lang=en").content.decode())
    assert EN_MOMENT.search(detail)


def test_incident_lists_and_daily_reports_ask_a_city_official_why_as_an_incident_does(
    client, two_visits
):
    """The incident lists and a desk's daily report (page, PDF, Excel) show incidents of
    residents' visits (the visit, the masked account or insurer number, a resident's own words
    when they said a record was not theirs), as one incident's page does; that page asked a city
    official's reason first, the lists recorded the read with none. They now ask it the same
    way, show nothing of the visits before, record the read with it and carry it to the
    report's exports. The contractor's supervisor watching its own desks is not asked, as on an
    incident's page."""
    from django.utils import timezone

    from madoguchi.audit.models import AuditEvent

    ours, _theirs = two_visits
    day = timezone.localdate().isoformat()
    daily = f"/reports/{ours.terminal_id}/{day}/"
    pages = ["/incidents/", "/officials/incidents/", daily, daily + "pdf", daily + "xlsx"]
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    for url in pages:
        asked = client.get(url)
        assert asked.status_code == 200, url
        page = asked.content.decode()
        assert 'name="reason"' in page, url
        assert ours.reference not in page, url
    reads = AuditEvent.objects.filter(event_name="identity.record_read")
    assert not reads.exists()
    for url in pages:
        shown = client.get(url + "?reason=daily_check")
        assert shown.status_code == 200, url
        if not url.endswith(("pdf", "xlsx")):
            assert ours.reference in shown.content.decode(), url
    assert {e.payload["reason"] for e in reads} == {"daily_check"}
    assert {e.payload["page"] for e in reads} >= {
        "incidents.list",
        "officials.incidents",
        "reports.daily",
        "reports.daily_pdf",
        "reports.daily_xlsx",
    }
    # The report's exports (the same incidents) carry the reason given, remembered for the
    # page; one incident or visit opened from a list asks its own, as it did.
    assert f"{daily}pdf?reason=daily_check" in client.get(daily).content.decode()
    assert "?reason=" not in client.get("/incidents/").content.decode()
    # The supervisor of the desk's contractor is not asked.
    supervisor = User.objects.create_user(
        username="sv-lists", password=factories.PASSWORD, organisation=ours.terminal.contractor
    )
    supervisor.groups.add(Group.objects.get_or_create(name=Role.SUPERVISOR.value)[0])
    client.force_login(supervisor)
    for url in ("/incidents/", daily):
        page = client.get(url).content.decode()
        assert 'name="reason"' not in page, url
        assert ours.reference in page, url


@pytest.mark.parametrize(
    "typed", ["2001-01-01", "2001/1/1", "平成13年1月1日", "２００１－０１－０１"]
)
def test_the_day_fields_are_text_that_reads_the_day_as_the_docs_write_it(client, db, typed):
    """The day fields were type="date": Chromium showed them in the browser's own order
    (mm/dd/yyyy in an English browser, whatever the page's language). They are text fields
    showing 2001-01-01 and reading the forms the docs use, the era's too."""
    from madoguchi.cases.forms import WhenForm

    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    fields = {
        "/officials/?date=": '<input type="text" id="date" name="date" value="2001-01-01"',
        "/incidents/?day=": '<input type="text" name="day" value="2001-01-01"',
    }
    for path, field in fields.items():
        html = client.get(path + typed).content.decode()
        assert field in html, path
        assert 'type="date"' not in html, path
    form = WhenForm({"event_date": typed, "date_precision": "day"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["event_date"].isoformat() == "2001-01-01"
    assert 'type="text"' in str(form["event_date"])
    shown = WhenForm(initial={"event_date": date_of(2001, 1, 1)})
    assert 'value="2001-01-01"' in str(shown["event_date"])


def test_a_case_day_that_cannot_be_read_says_how_to_write_it(db):
    from madoguchi.cases.forms import WhenForm

    with translation.override("ja"):
        form = WhenForm({"event_date": "01/02/2001", "date_precision": "day"})
        assert not form.is_valid()
        assert form.errors["event_date"] == [
            "日付は 2026-12-01 または 令和8年12月1日 のように書いてください。"
        ]


def date_of(y, m, d):
    from datetime import date

    return date(y, m, d)


def test_the_officials_incident_list_is_paged_and_links_each_incident(db, client, monkeypatch):
    """The list kept the newest 500 incidents and dropped the rest without a word, and a row led
    nowhere: the incident's page (and its case button) was not linked. It shows a page at a
    time with the number in all and the filter kept across pages, each row linked."""
    from madoguchi.incidents.services import incident_complaint
    from madoguchi.officials import views

    monkeypatch.setattr(views, "INCIDENTS_PER_PAGE", 2)
    official = factories.staff(Role.CITY_OFFICIAL)
    made = [
        incident_complaint(recorded_by=official, terminal=None, summary=f"苦情その{n}")
        for n in range(3)
    ]
    client.force_login(official)
    first = client.get("/officials/incidents/?kind=complaint").content.decode()
    assert "苦情その2" in first
    assert "苦情その1" in first
    assert "苦情その0" not in first
    assert "全 3 件" in first
    assert f'href="{reverse("incidents:detail", args=[made[2].pk])}"' in first
    assert 'href="?kind=complaint&amp;severity=&amp;page=2"' in first
    second = client.get("/officials/incidents/?kind=complaint&page=2").content.decode()
    assert "苦情その0" in second
    assert "苦情その2" not in second


@pytest.mark.parametrize(
    ("role", "label"),
    [
        (Role.DESK_STAFF, None),
        (Role.SUPERVISOR, "自社の窓口と受付"),
        (Role.CITY_OFFICIAL, "市職員向け"),
        (Role.OPERATOR, "市職員向け"),
    ],
)
def test_the_header_links_the_desks_page_under_a_name_for_its_reader(client, db, role, label):
    """The contractor's supervisor, who does not work for the city, was shown 市職員向け."""
    client.force_login(factories.staff(role))
    page = client.get("/officials/" if label else "/cases/")
    assert page.status_code == 200
    header = re.search(r'<header class="topbar">.*?</header>', page.content.decode(), re.S)
    links = re.findall(r'<a href="/officials/"[^>]*>([^<]*)</a>', header.group(0))
    assert links == ([label] if label else [])


@pytest.mark.parametrize(
    ("role", "label"),
    [
        (Role.SUPERVISOR, "委託事業者の責任者向け"),
        (Role.CITY_OFFICIAL, "市職員向け"),
        (Role.OPERATOR, "市職員向け"),
    ],
)
def test_the_desks_pages_navigation_is_named_for_its_reader(client, db, role, label):
    """The sub-navigation of the desks' pages was named 市職員向け for the contractor's
    supervisor too, who is not a city official and sees its own desks' links only; a screen
    reader announces it by this name, so it names who the links are for, as the header does."""
    client.force_login(factories.staff(role))
    pages = ["/officials/?lang=ja"]
    if role != Role.OPERATOR:  # the oversight pages repeat it above their own links
        pages.append("/incidents/?reason=daily_check&lang=ja")
    for url in pages:
        html = client.get(url).content.decode()
        names = re.findall(r'<nav class="subnav" aria-label="([^"]*)"', html)
        assert names == [label], (url, names)
    english = client.get("/officials/?lang=en").content.decode()
    names = re.findall(r'<nav class="subnav" aria-label="([^"]*)"', english)
    expected = "For the contractor's supervisor" if role == Role.SUPERVISOR else "Officials"
    assert names == [expected], names
