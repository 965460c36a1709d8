"""An incident's sentence is read in the page's language: Japanese by default, English when
chosen; an old row (no neutral text in its detail) is read from its code when its kind says
how, else shows its stored summary."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from madoguchi.accounts.constants import Role
from madoguchi.benefits.services.base import outside_failure
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import AgentEventKind, VisitEndReason
from madoguchi.incidents import services as incidents
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.outside.errors import OutsideError
from madoguchi.refusals import Refusal
from tests import factories
from tests.benefits.conftest import apply_fields, prepare, refused, start_visit
from tests.visits import commit

# kind -> (the Japanese sentence's telling part, the English summary's telling part)
EXPECTED = {
    IncidentKind.VISIT_ENDED_WITH_PENDING: (
        "件ある状態で終了しました（カードが取り外されました）。何も確定していません。",
        "procedure pending; nothing was committed.",
    ),
    IncidentKind.CARD_SWAPPED: (
        "の途中で別のカードが読み取り機に置かれたため、受付を終了しました。",
        "Another card was placed on the reader during visit",
    ),
    IncidentKind.VISIT_START_REFUSED: (
        "カードの認証が拒否されました：",
        "Card authentication refused:",
    ),
    IncidentKind.NAME_CHECK: ("名義照合：一致しませんでした（", "Name check: no match ("),
    IncidentKind.PIN_LOCKED: (
        "カードの利用者証明用電子証明書の暗証番号がロックされています。",
        "user-authentication PIN is locked; the resident was referred",
    ),
    IncidentKind.OUTSIDE_FAILURE: (
        "提供事業者との通信で問題が発生しました。何も登録していません。",
        "Something went wrong talking to the payment provider.",
    ),
}
# The id rows ended with a procedure pending kept, whatever the visit had committed.
OLD_PENDING = (
    "Visit %(visit)s ended (%(reason)s) with %(count)s procedure(s) pending; nothing was committed."
)
OLD_SUMMARY = "Legacy row: recorded before sentences were kept by language."


@pytest.fixture
def recorded(trusted, desk, providers, systems):
    """One incident of each kind above, on the desk's terminal, and an old row."""
    # (the PIN lockout and the outside failure fall in the visit started last)
    visit = start_visit(desk, trusted.card("B"))
    refused("name_no_match", prepare, desk, **apply_fields(kana="スズキ イチロウ"))
    prepare(desk, kind="test_link", account="PAY-B-0002", points=1)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    swapped = start_visit(desk, trusted.card("A"))
    prepare(desk, kind="test_link", account="PAY-A-0001", points=1)
    desk_services.agent_event(
        terminal=desk.terminal, kind=AgentEventKind.INSERTED, cert_fingerprint="00" * 32
    )
    nonce = desk_services.auth_challenge(desk_session=desk).value
    with pytest.raises(Refusal):
        desk_services.visit_start(desk_session=desk, token="not-a-token", nonce=nonce)
    incidents.incident_pin_blocked(desk_session=desk, applet="auth")
    outside_failure(
        start_visit(desk, trusted.card("C")),
        OutsideError(system_name_ja="提供事業者", system_name_en="the payment provider"),
        {},
        "account",
    )
    incidents.incident_record(
        kind=IncidentKind.OUTSIDE_FAILURE,
        reason_code="legacy",
        severity=Severity.LOW,
        summary=OLD_SUMMARY,
        terminal=desk.terminal,
    )
    for kind in EXPECTED:
        assert Incident.objects.filter(kind=kind).exists(), kind
    return desk.terminal, visit, swapped


def pages(recorded):
    terminal = recorded[0]
    day = timezone.localdate().isoformat()
    return {
        # A city official says why first (the supervisor is not asked; the reason is ignored).
        "incidents:list": reverse("incidents:list") + "?reason=daily_check",
        "officials:incidents": "/officials/incidents/?reason=daily_check",
        "reports:daily": reverse("reports:daily", args=[terminal.pk, day]) + "?reason=daily_check",
    }


def test_incident_pages_show_the_japanese_sentence_and_no_english(client, recorded):
    client.force_login(factories.staff(Role.SUPERVISOR))
    for name, url in pages(recorded).items():
        html = client.get(url).content.decode()
        for kind, (ja, en) in EXPECTED.items():
            assert ja in html, (name, kind)
            assert en not in html, (name, kind)
        assert "card_removed）" not in html  # the end reason in words, not its code
        assert OLD_SUMMARY in html, name  # an old row: its stored summary


def test_incident_pages_in_english_show_the_english_sentence(client, recorded):
    client.force_login(factories.staff(Role.SUPERVISOR))
    for name, url in pages(recorded).items():
        html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        for kind, (ja, en) in EXPECTED.items():
            assert en in html, (name, kind)
            assert ja not in html, (name, kind)
        assert "ended (the card was removed) with 1 procedure pending" in html
        assert "(card_removed)" not in html  # the end reason in words, not its code
        assert OLD_SUMMARY in html, name


def test_officials_visit_page_and_incident_detail_in_japanese(client, recorded):
    _, visit, swapped = recorded
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get(f"/officials/visits/{visit.public_id}/?reason=incident").content.decode()
    assert f"受付 {visit.reference} は未確定の手続きが 1 件ある状態で終了しました" in html
    assert "nothing was committed" not in html
    html = client.get(f"/officials/visits/{swapped.public_id}/?reason=incident").content.decode()
    assert f"受付 {swapped.reference} の途中で別のカードが読み取り機に置かれたため" in html
    refused_at_start = Incident.objects.get(kind=IncidentKind.VISIT_START_REFUSED)
    client.force_login(factories.staff(Role.SUPERVISOR))
    detail = client.get(reverse("incidents:detail", args=[refused_at_start.pk])).content.decode()
    assert "カードの認証が拒否されました：" in detail
    assert refused_at_start.summary not in detail
    # The stored record stays the English sentence (the API and old readers are unchanged).
    assert refused_at_start.summary.startswith("Card authentication refused: ")


def test_the_report_pdf_carries_the_japanese_sentence(recorded):
    from madoguchi.reports import exports, services

    terminal, _, _ = recorded
    content = services.build_daily(terminal, timezone.localdate())
    with_text = [i for i in content["incidents"] if "text" in i]
    assert len(with_text) == 7  # the swapped visit also ended with a procedure pending
    html = exports.render_document(content)
    for ja, en in EXPECTED.values():
        assert ja in html
        assert en not in html
    assert OLD_SUMMARY in html


# reason code -> (the Japanese sentence's telling part, the English summary's telling part)
MORE = {
    "insured_person_mismatch": (
        "健康保険の利用登録：被保険者の生年月日がカードの持ち主と異なります。",
        "registration: the insured person",  # (the apostrophe is escaped in pages)
    ),
    "reconcile_missing_at_insurer": (
        "madoguchi では登録済みですが、保険者にはその登録がありません。",
        "Registered in madoguchi, but the insurer has no such registration.",
    ),
    "reconcile_refused_but_registered": (
        "madoguchi では拒否されましたが、保険者では登録されています。",
        "Refused in madoguchi, but the insurer registered it.",
    ),
    "reconcile_unknown_to_us": (
        "保険者に madoguchi が依頼した登録がありますが、madoguchi に記録がありません。",
        "The insurer holds a registration madoguchi requested but has no record of.",
    ),
}


@pytest.fixture
def recorded_more(trusted, desk, providers, systems):
    """A health-insurance registration refused for another person's insurance, and the three
    findings of the reconciliation with the insurer that become incidents."""
    from madoguchi.benefits.services import reconcile
    from tests.benefits.test_insured_person import CARD_C, NAMESAKE

    start_visit(desk, trusted.card("C"))
    refused("insured_person_mismatch", prepare, desk, kind="health_insurance_use",
            **NAMESAKE, **CARD_C)  # fmt: skip
    for finding in ("missing_at_insurer", "refused_but_registered", "unknown_to_us"):
        reconcile._incident(f"key-{finding}", finding, None, None)
    for reason_code in MORE:
        assert Incident.objects.filter(reason_code=reason_code).exists(), reason_code


@pytest.mark.parametrize("language", ["ja", "en"])
def test_insurer_incidents_are_read_in_the_pages_language(client, recorded_more, language):
    # (the officials' list: the reconciliation's incidents belong to no terminal)
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = client.get(
        "/officials/incidents/?reason=daily_check", HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    for reason_code, (ja, en) in MORE.items():
        shown, hidden = (ja, en) if language == "ja" else (en, ja)
        assert shown in html, reason_code
        assert hidden not in html, reason_code
    mismatch = Incident.objects.get(reason_code="insured_person_mismatch")
    assert mismatch.summary.endswith("differ from the card holder's; nothing was registered.")


@pytest.mark.usefixtures("providers", "systems")
def test_a_confirmed_close_match_is_read_in_the_pages_language(client, trusted, desk):
    from tests.benefits.conftest import commit

    card = trusted.card("C")
    start_visit(desk, card)
    prepare(desk, **apply_fields(kana="ヤマダ ジロウ", confirm_close_match=True))
    commit(desk, card)
    client.force_login(factories.staff(Role.SUPERVISOR))
    ja = client.get(reverse("incidents:list")).content.decode()
    en = client.get(reverse("incidents:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "名義照合の結果（近似）をご本人が確認したうえで、受取口座を登録しました。" in ja
    assert "payment_link linked after" not in ja
    assert "A payment account linked after the resident confirmed a close name check." in en
    assert "payment_link" not in ja + en  # the linked object in words, not its code


@pytest.mark.usefixtures("providers", "systems")
def test_a_confirmed_name_the_provider_did_not_report_is_said_in_words(client, trusted, desk):
    """An account whose holder's name the provider does not report is confirmed at the desk as
    a close name is; its incident read 「名義照合の結果（unavailable）をご本人が確認したうえで…」
    and "…confirmed a unavailable name check": the outcome's code."""
    from tests.benefits.conftest import commit

    card = trusted.card("C")
    start_visit(desk, card)
    fields = apply_fields(psid="7010000000000006", code="2468", confirm_close_match=True)
    prepare(desk, **fields)
    commit(desk, card)
    client.force_login(factories.staff(Role.SUPERVISOR))
    ja = client.get(reverse("incidents:list")).content.decode()
    en = client.get(reverse("incidents:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "名義照合の結果（照合不可）をご本人が確認したうえで、受取口座を登録しました。" in ja
    assert (
        "A payment account linked after the resident confirmed a name-not-reported name check."
        in en
    )
    assert "unavailable" not in ja + en
    # Its kind says both (it read 「名義の近似一致を確認して紐付け」 for a name never reported).
    assert "名義の近似一致・照合不可を確認して紐付け" in ja
    assert "Close or unreported name confirmed" in en


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_complaint_is_framed_in_the_pages_language(db, client, language):
    """A complaint keeps what staff typed as its summary (the API); the pages frame it in
    their language, with who reported it."""
    supervisor = factories.staff(Role.SUPERVISOR)
    typed = "窓口で長く待たされたとの電話"
    incidents.incident_complaint(recorded_by=supervisor, terminal=None, summary=typed)
    reported = incidents.incident_complaint(
        recorded_by=supervisor, terminal=None, summary=typed, reported_by="市民課"
    )
    assert reported.summary == typed
    client.force_login(supervisor)
    html = client.get(reverse("incidents:list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    detail = client.get(
        reverse("incidents:detail", args=[reported.pk]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    if language == "ja":
        assert f"職員が記録した苦情: {typed}" in html
        assert f"職員が記録した苦情（申出人: 市民課）: {typed}" in detail
        assert "Complaint recorded" not in html + detail
    else:
        assert f"Complaint recorded by staff: {typed}" in html
        assert f"Complaint recorded by staff (reported by 市民課): {typed}" in detail
        assert "職員が記録した苦情" not in html + detail


@pytest.mark.parametrize("language", ["ja", "en"])
def test_lists_show_no_reason_codes_beside_the_sentences(client, recorded, language):
    """The incident lists, one incident, the officials' visit page and the daily report say
    why in the sentence and the refusals by reason in words; the internal reason codes stay in
    the API and the stored content."""
    terminal, visit, _ = recorded
    codes = set(
        Incident.objects.exclude(reason_code="legacy").values_list("reason_code", flat=True)
    )
    assert {"card_removed", "token_too_short", "jpki_auth"} <= codes
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    urls = [*pages(recorded).values(), f"/officials/visits/{visit.public_id}/?reason=incident"]
    urls += [
        reverse("incidents:detail", args=[pk])
        for pk in Incident.objects.values_list("pk", flat=True)
    ]
    for url in urls:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        html = re.sub(r"<[^>]*>", " ", html)  # the text people read (not attributes)
        for code in codes:
            assert code not in html, (url, code, html[html.find(code) - 300 : html.find(code) + 60])
    day = timezone.localdate().isoformat()
    report = client.get(
        reverse("reports:daily", args=[terminal.pk, day]), HTTP_ACCEPT_LANGUAGE=language
    )
    refusals = dict(report.context["refusals"])
    assert refusals, "the day has refusals"
    for label in refusals:
        assert not any(code in label for code in codes), label
    said = (
        "受付開始の拒否：カードの署名データが短すぎます"
        if language == "ja"
        else "Visit start refused: The card token is too short to be valid"
    )
    assert refusals[said] == 1, refusals


def test_an_audit_line_says_the_refusal_in_words():
    from madoguchi.desk.events import VISITS_COMPLETION_REFUSED

    payload = {"visit": "AB12CD34", "code": "certificate_mismatch"}
    ja = VISITS_COMPLETION_REFUSED.render(payload, "ja")
    en = VISITS_COMPLETION_REFUSED.render(payload, "en")
    assert "certificate_mismatch" not in ja + en
    assert "受付を開始したカードと異なります" in ja
    assert "not the card that started the visit" in en
    unknown = VISITS_COMPLETION_REFUSED.render({**payload, "code": "made_up_code"}, "ja")
    assert "made_up_code" in unknown


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_day_at_the_edge_of_the_calendar_is_not_a_server_error(client, recorded, day):
    """A day whose local bounds cannot be computed was a 500 on every page that takes a day;
    the report pages answer 404, the lists show today."""
    terminal = recorded[0]
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    for suffix in ("", "pdf", "xlsx"):
        url = reverse("reports:daily", args=[terminal.pk, day]) + suffix
        assert client.get(url).status_code == 404, url
    today = timezone.localdate().isoformat()
    for url in (f"/incidents/?day={day}", f"/officials/?date={day}"):
        r = client.get(url)
        assert r.status_code == 200, url
    assert today in client.get(f"/incidents/?day={day}").content.decode()


@pytest.mark.parametrize("day", ["1872-12-31", "0002-01-01", "明治5年12月31日"])
def test_a_day_before_1873_is_not_a_server_error(client, desk, day):
    """A day before Japan adopted the Gregorian calendar (明治6年1月1日) has no date in an era:
    every Japanese page and document dating it was a 500 (`era.EraError`). The report pages,
    its form among them, answer 404; the lists show today and say why."""
    terminal = desk.terminal
    client.raise_request_exception = False
    client.force_login(factories.staff(Role.SUPERVISOR))
    for suffix in ("", "pdf", "xlsx"):
        url = reverse("reports:daily", args=[terminal.pk, day]) + suffix
        assert client.get(url, HTTP_ACCEPT_LANGUAGE="ja").status_code == 404, url
    url = reverse("reports:daily", args=[terminal.pk, day])
    assert client.post(url, {"note": "x"}, HTTP_ACCEPT_LANGUAGE="ja").status_code == 404
    for url in (f"/incidents/?day={day}", f"/officials/?date={day}"):
        official = factories.staff(Role.CITY_OFFICIAL) if "officials" in url else None
        if official is not None:
            client.force_login(official)
        r = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
        assert r.status_code == 200, url
        page = r.content.decode()
        assert "1873年1月1日（明治6年1月1日）より前の日" in page, url
        assert f"今日（{timezone.localdate().isoformat()}）の記録を表示しています" in page, url


@pytest.mark.parametrize(
    ("count", "english", "japanese"),
    [
        (1, "with 1 procedure pending; nothing", "手続きが 1 件ある状態"),
        (2, "with 2 procedures pending; nothing", "手続きが 2 件ある状態"),
    ],
)
def test_a_count_of_procedures_reads_as_one_or_many(count, english, japanese):
    from django.utils import translation

    from madoguchi.incidents import text

    summary, stored = text.sentence(
        text.VISIT_ENDED_WITH_PENDING,
        visit="V-1",
        reason=text.by_language(ja="カードが取り外されました", en="the card was removed"),
        count=count,
    )
    assert english in summary
    assert "(s)" not in summary
    # The stored key is the sentence's id as before: rows recorded earlier render the same way.
    assert stored["id"] == (
        "Visit %(visit)s ended (%(reason)s) with %(count)s procedure(s) pending; "
        "nothing was committed."
    )
    with translation.override("en"):
        assert english in text.render(stored)
    with translation.override("ja"):
        assert japanese in text.render(stored)
    # A count that is not a number falls back to the stored summary.
    broken = {"id": stored["id"], "params": {**stored["params"], "count": "many"}}
    assert text.render(broken) is None


@pytest.fixture
def earlier_rows(trusted, desk, providers, systems):
    """Rows as recorded before sentences were kept: an English summary naming a code, and no
    neutral text in the detail (the rows are not rewritten; the pages read their codes)."""
    visit = start_visit(desk, trusted.card("B"))
    desk_services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    Incident.objects.filter(visit=visit).delete()  # only the earlier rows below
    common = {"visit": visit, "terminal": desk.terminal, "staff": desk.staff}
    rows = [
        (
            IncidentKind.VISIT_ENDED_WITH_PENDING,
            "card_removed",
            f"Visit {visit.reference} ended (card_removed) with 2 procedure(s) pending; "
            "nothing was committed.",
            {"pending": ["test_link", "test_link"]},
        ),
        (
            IncidentKind.NAME_CHECK,
            "DIFFERENT",
            "Name check: no match (DIFFERENT); nothing was linked.",
            {"outcome": "no_match", "reason": "DIFFERENT", "score": 12.0},
        ),
        (
            IncidentKind.VISIT_START_REFUSED,
            "nonce_unknown",
            "Card authentication refused: nonce_unknown",
            {"code": "nonce_unknown", "detail": ""},
        ),
    ]
    for kind, code, summary, detail in rows:
        incidents.incident_record(
            kind=kind,
            reason_code=code,
            severity=Severity.LOW,
            summary=summary,
            detail=detail,
            **common,
        )
    return desk.terminal, visit


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "ja",
            [
                "件ある状態で終了しました（カードが取り外されました）",
                "名義照合：一致しませんでした（別の方の口座の可能性があります）",
                "このチャレンジは発行されていません",
            ],
        ),
        (
            "en",
            [
                "ended (the card was removed) with 2 procedures pending; nothing was committed.",
                "Name check: no match (The account may belong to someone else); nothing was "
                "linked.",
                "Card authentication refused: The challenge was never issued by this server.",
            ],
        ),
    ],
)
def test_an_earlier_rows_code_is_read_as_a_sentence(client, earlier_rows, language, said):
    """Incidents recorded before their sentence was kept read as sentences built from their
    codes, in the page's language: they showed the English summary with the code."""
    client.force_login(factories.staff(Role.SUPERVISOR))
    for url in pages(earlier_rows).values():
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        for sentence in said:
            assert sentence in html, (url, sentence)
        for code in ("(card_removed)", "(DIFFERENT)", "nonce_unknown"):
            assert code not in html, (url, code)
    stored = Incident.objects.get(reason_code="DIFFERENT")
    assert stored.summary == "Name check: no match (DIFFERENT); nothing was linked."
    assert "text" not in stored.detail


def test_an_end_with_pending_says_the_visits_completions_stand(client, trusted, desk, systems):
    """A visit ended with a procedure pending read "nothing was committed" even when the
    resident's card had committed a completion in it earlier (the ended page says so): the
    incident says the pending procedure was not committed and the visit's completions stand,
    for a row recorded now and for rows recorded before (read at display time, not
    rewritten)."""
    card = trusted.card("B")
    visit = start_visit(desk, card)
    prepare(desk, kind="test_link", account="PAY-B-0002", points=1)
    commit(desk, card)
    prepare(desk, kind="test_link", account="PAY-B-0002", points=2)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.CARD_REMOVED)
    recorded = Incident.objects.get(visit=visit, kind=IncidentKind.VISIT_ENDED_WITH_PENDING)
    assert "nothing was committed" not in recorded.summary
    assert "pending, which was not committed" in recorded.summary
    # Rows recorded before: one that kept the "nothing was committed" sentence, one older.
    kept = f"Visit {visit.reference} ended (the card was removed) with 1 procedure pending; "
    earlier = {
        "kind": IncidentKind.VISIT_ENDED_WITH_PENDING,
        "reason_code": "card_removed",
        "severity": Severity.MEDIUM,
        "visit": visit,
        "terminal": desk.terminal,
        "staff": desk.staff,
    }
    for summary, detail in (
        (
            kept + "nothing was committed.",
            {"pending": ["test_link"], "text": {**recorded.detail["text"], "id": OLD_PENDING}},
        ),
        (
            f"Visit {visit.reference} ended (card_removed) with 1 procedure(s) pending; "
            "nothing was committed.",
            {"pending": ["test_link"]},
        ),
    ):
        incidents.incident_record(summary=summary, detail=detail, **earlier)
    client.force_login(factories.staff(Role.SUPERVISOR))
    said = {
        "ja": "（カードが取り外されました）。未確定の手続きは登録されていません。"
        "この受付で住民のカードにより確定した手続き（1 件）はそのまま有効です。",
        "en": "with 1 procedure pending, which was not committed; the completions the "
        "resident's card committed in the visit (1) stand.",
    }
    for url in pages((desk.terminal,)).values():
        for language, sentence in said.items():
            html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert html.count(escape(sentence)) == 3, (url, language)
            assert "何も確定していません" not in html, url
            assert "nothing was committed" not in html, url
