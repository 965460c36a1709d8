"""A case about a resident's own public-fund account or insurance registration (opened from
their "this was not me", so no legacy link) compares what the resident presents with that
registration, hashed as the registration hashed it."""

import pytest
from django.utils import translation

from madoguchi.accounts.constants import Role
from madoguchi.cases import services as cases
from madoguchi.cases.constants import ComparisonResult, Programme
from madoguchi.refusals import Refusal
from tests import factories
from tests.benefits.conftest import commit, drain, prepare, start_visit
from tests.benefits.test_registrations import HI, public_fund

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _case(official, holder, programme):
    return cases.case_open(
        actor=official,
        title="",
        resident_label="申し出た本人",
        reported_by="本人",
        summary="身に覚えのない登録",
        date_precision="unknown",
        holder=holder,
        programme=programme,
    )


def _open_from(client, incident, subject=None):
    """An official reads the intake filled from the incident's page, which says what the case
    will be about (`subject`, the record's masked text; None: nothing said), and sends it."""
    from django.urls import reverse

    page = client.get(f"{reverse('cases:new')}?incident={incident.pk}&reason=case_work")
    html = page.content.decode()
    if subject is None:
        assert 'data-testid="intake-subject"' not in html
    else:
        said = html.split('data-testid="intake-subject">', 1)[1].split("</p>", 1)[0]
        assert "このケースは、このインシデントの受付で確定された次の記録とその方" in said
        assert subject in said
    intake = {
        "resident_label": "A氏",
        "reported_by": "インシデント",
        "channel": "system",
        "summary": "窓口での手続きについて",
        "date_precision": "unknown",
    }
    assert client.post(f"{reverse('cases:new')}?incident={incident.pk}", intake).status_code == 302


ACCOUNT = {"bank_code": "0990", "branch_code": "001", "account_type": "ordinary"}


def _registered(trusted, desk, programme):
    """C registers Yamada Taro's account (the bank reports its holder's kana), or for health
    insurance (the insurer confirms it); C's holder."""
    c = trusted.card("C")
    visit = start_visit(desk, c)
    if programme == Programme.PUBLIC_FUND:
        prepare(desk, kind="public_fund_account", **public_fund())
    else:
        prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    drain()
    return visit.holder


def _public_fund_case(trusted, desk):
    """C's public-fund account registered; a case on C."""
    holder = _registered(trusted, desk, Programme.PUBLIC_FUND)
    official = factories.staff(Role.CITY_OFFICIAL)
    return official, _case(official, holder, Programme.PUBLIC_FUND), ACCOUNT


def test_a_public_fund_case_compares_with_the_residents_registered_account(trusted, desk):
    official, case, account = _public_fund_case(trusted, desk)
    other = cases.case_compare_account(
        case, actor=official, account_number="7654321", date_precision="unknown", **account
    )
    assert other.comparison == ComparisonResult.DIFFERENT
    same = cases.case_compare_account(
        case, actor=official, account_number="1234567", date_precision="unknown", **account
    )
    assert same.comparison == ComparisonResult.SAME
    # Without a resident (so no registration) there is nothing to compare with: refused.
    empty = _case(official, None, Programme.PUBLIC_FUND)
    with pytest.raises(Refusal) as exc:
        cases.case_compare_account(
            empty, actor=official, account_number="1234567", date_precision="unknown", **account
        )
    assert exc.value.code == "no_link"


def _insurance_case(trusted, desk):
    """C registered for health insurance; a case on C."""
    holder = _registered(trusted, desk, Programme.HEALTH_INSURANCE)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, holder, Programme.HEALTH_INSURANCE)
    return official, case, {k: HI[k] for k in ("insurer_number", "insured_symbol", "branch")}


def test_an_insurance_case_compares_with_the_residents_registration(trusted, desk):
    official, case, ident = _insurance_case(trusted, desk)
    same = cases.case_compare_insured(
        case, actor=official, insured_number=HI["insured_number"], date_precision="unknown", **ident
    )
    assert same.comparison == ComparisonResult.SAME
    other = cases.case_compare_insured(
        case, actor=official, insured_number="88120046", date_precision="unknown", **ident
    )
    assert other.comparison == ComparisonResult.DIFFERENT


def test_a_comparison_compares_the_account_holders_kana_where_it_is_known(trusted, desk, client):
    # C registered Yamada Taro's account; the bank reported its holder's kana (ﾔﾏﾀﾞ ﾀﾛｳ).
    official, case, account = _public_fund_case(trusted, desk)
    shown = cases.case_compare_account(
        case,
        actor=official,
        account_number="1234567",
        date_precision="unknown",
        resident_kana="スズキ イチロウ",  # the kana on the resident's ID, shown to the official
        **account,
    )
    assert shown.detail == {"holder_kana": "no_match"}
    assert (
        "口座名義（カナ）をご本人のフリガナと照合したところ、一致しませんでした。" in shown.summary
    )
    # Neither kana is written into the record.
    assert "スズキ" not in shown.summary
    assert "ﾔﾏﾀﾞ" not in shown.summary
    # Without one, the kana the registration used.
    registered = cases.case_compare_account(
        case, actor=official, account_number="1234567", date_precision="unknown", **account
    )
    assert registered.detail == {"holder_kana": "match"}
    assert (
        "登録時に入力されたご本人のフリガナと照合したところ、一致しました。" in registered.summary
    )

    # The case page shows it, and says it is compared.
    client.force_login(official)
    page = client.get(f"/cases/{case.pk}/?reason=case_work").content.decode()
    kana = page.split('data-testid="holder-kana">', 1)[1].split("</p>", 1)[0]
    assert "口座名義（カナ）" in kana
    assert "ﾔﾏﾀﾞ ﾀﾛｳ" in kana
    # The form asks for the reading from the resident, not from the card, which has none (it
    # said 「カードまたは本人確認書類のとおり」).
    assert "マイナンバーカードにフリガナはありません" in page
    assert "カードまたは本人確認書類のとおり" not in page


def test_a_legacy_links_case_says_the_kana_is_not_known(trusted, desk, client):
    from tests.cases.conftest import legacy

    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, None, Programme.POINTS)
    cases.case_attach_legacy_link(case, actor=official, legacy_link=legacy(official))
    entry = cases.case_compare_identifier(
        case, actor=official, presented="4980-9999-8888-7777", date_precision="unknown"
    )
    assert entry.detail == {"holder_kana": "unknown"}
    assert "署名付き確定以前の紐付けの記録には残っていないため、照合していません。" in entry.summary
    client.force_login(official)
    page = client.get(f"/cases/{case.pk}/?reason=case_work").content.decode()
    kana = page.split('data-testid="holder-kana">', 1)[1].split("</p>", 1)[0]
    assert "古いシステムの紐付けには名義が残っていないため" in kana


def test_a_comparison_reads_the_registration_once(trusted, desk):
    """The comparison read the resident's latest registration twice, for its hash and again
    for the account holder's kana: one fact, one query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    official, case, account = _public_fund_case(trusted, desk)
    with CaptureQueriesContext(connection) as queries:
        entry = cases.case_compare_account(
            case, actor=official, account_number="1234567", date_precision="unknown", **account
        )
    assert entry.comparison == ComparisonResult.SAME
    assert entry.detail["holder_kana"] == "match"
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT") and "publicfundaccount" in q["sql"]
    ]
    assert len(reads) == 1, reads


def test_a_case_whose_resident_registered_only_after_it_was_opened_says_so(trusted, desk):
    # The case is opened on C's resident before C's insurance registration is made: the case
    # is not about that registration, and the refusal says why, not that there is none.
    c = trusted.card("C")
    visit = start_visit(desk, c)
    official = factories.staff(Role.CITY_OFFICIAL)
    case = _case(official, visit.holder, Programme.HEALTH_INSURANCE)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    drain()
    ident = {k: HI[k] for k in ("insurer_number", "insured_symbol", "branch")}
    with pytest.raises(Refusal) as exc:
        cases.case_compare_insured(
            case,
            actor=official,
            insured_number=HI["insured_number"],
            date_precision="unknown",
            **ident,
        )
    assert exc.value.code == "registered_after_opening"
    with translation.override("en"):
        english = str(exc.value.message)
    with translation.override("ja"):
        japanese = str(exc.value.message)
    assert "after the case was opened" in english
    assert "ケースの受付より後" in japanese
    assert "no registration of this programme" not in english


@pytest.mark.parametrize(
    ("typed", "code"),
    [("鈴木 一郎", "kanji"), ("★★", "characters"), ("ｶ)ﾔﾏﾀﾞ", "legal_form")],
)
def test_a_comparison_refuses_a_kana_the_desk_would_refuse(trusted, desk, client, typed, code):
    """Kanji typed as the resident's kana (the card's name copied across) came out a close
    match against the account holder's kana, whoever's account it was, and the comparison
    counted against the case's limit: refused as the desk refuses it, nothing recorded."""
    from django.utils.html import escape

    from madoguchi.benefits.services.names import kana_refusal
    from madoguchi.cases.models import TimelineEntry

    official, case, account = _public_fund_case(trusted, desk)
    before = TimelineEntry.objects.filter(case=case).count()
    with pytest.raises(Refusal) as exc:
        cases.case_compare_account(
            case,
            actor=official,
            account_number="1234567",
            date_precision="unknown",
            resident_kana=typed,
            **account,
        )
    assert exc.value.code == f"resident_kana_{code}"
    assert TimelineEntry.objects.filter(case=case).count() == before
    # The case page's form says so beside the field, in the page's language.
    client.force_login(official)
    fields = {"date_precision": "unknown", "account_number": "1234567", **account}
    sent = {f"compare-{k}": v for k, v in {**fields, "resident_kana": typed}.items()}
    page = client.post(f"/cases/{case.pk}/step/compare/", sent, follow=True)
    with translation.override("ja"):
        said = escape(str(kana_refusal(typed)[1]))
    assert said in page.content.decode()
    assert TimelineEntry.objects.filter(case=case).count() == before


@pytest.mark.parametrize("programme", [Programme.PUBLIC_FUND, Programme.HEALTH_INSURANCE])
def test_a_registration_cases_findings_are_read_off_the_registration(
    trusted, desk, client, programme
):
    """A case about a resident's own signed public-fund account or insurance registration (the
    one its page shows) had no automatic findings: that what the resident presented differs
    from it was recorded, yet the page said 「No finding yet.」 and the city's incident report
    that the cause could not be determined. A point link's case read its findings off its link;
    a registration's case reads them off its registration and the visit that made it."""
    from madoguchi.cases import document, findings
    from madoguchi.cases import selectors as case_selectors

    if programme == Programme.PUBLIC_FUND:
        official, case, account = _public_fund_case(trusted, desk)
        cases.case_compare_account(
            case, actor=official, account_number="7654321", date_precision="unknown", **account
        )
        code, said = "account_differs", "登録されている公金受取口座が異なります"
    else:
        official, case, ident = _insurance_case(trusted, desk)
        cases.case_compare_insured(
            case, actor=official, insured_number="88120046", date_precision="unknown", **ident
        )
        code, said = "insured_differs", "利用登録されている資格情報が異なります"
    registration = case_selectors.case_registration(case)
    assert findings.signed_subject(case) == registration
    ev = findings.gather(case)
    # Signed by the resident's own card, in the visit that made it: no legacy finding.
    assert ev.signed
    assert ev.signer_is_holder
    assert ev.visit_started_at == registration.visit.started_at
    assert [f.code for f in findings.findings_for(case)] == [code]
    client.force_login(official)
    page = client.get(f"/cases/{case.pk}/?reason=case_work", HTTP_ACCEPT_LANGUAGE="ja")
    html = page.content.decode()
    assert f'data-code="{code}"' in html
    assert said in html
    cause = document.build(case).cause
    assert said in cause[0]
    assert "原因である可能性が高い" in cause[1]


@pytest.mark.parametrize("programme", [Programme.PUBLIC_FUND, Programme.HEALTH_INSURANCE])
def test_a_registration_cases_letters_name_the_registration(trusted, desk, programme):
    """A point case's letter names the payment service and its masked account; a public-fund or
    insurance case's letter said only 「公金受取口座の登録」 or 「健康保険証としての利用登録」,
    not which: it names the registration the case is about, as the case page shows it (and calls
    a wrong public-fund registration a wrong registration, not a wrong link)."""
    from django.utils import timezone

    from madoguchi.cases import selectors as case_selectors
    from madoguchi.residents.models import Notice

    if programme == Programme.PUBLIC_FUND:
        official, case, _ = _public_fund_case(trusted, desk)
    else:
        official, case, _ = _insurance_case(trusted, desk)
    row = case_selectors.case_registration(case)
    today = timezone.localdate()
    cases.case_investigate(case, actor=official, summary="調査", event_date=today)
    cases.case_suspend(case, actor=official, summary="停止", event_date=today)
    letter = Notice.objects.get(case=case, entry__kind="suspension").body[0]
    if programme == Programme.PUBLIC_FUND:
        named = (
            f"公金受取口座の登録（{row.bank_name} {row.branch_name} ＊＊＊＊{row.account_last4}）"
        )
        assert row.bank_name
    else:
        named = (
            "健康保険証としての利用登録"
            f"（保険者番号 {row.insurer_number}、被保険者番号 ＊＊＊＊{row.insured_last4}）"
        )
    assert named in letter
    assert "誤った登録の可能性" in letter


@pytest.mark.parametrize("named", [True, False])
@pytest.mark.parametrize("programme", [Programme.PUBLIC_FUND, Programme.HEALTH_INSURANCE])
def test_a_case_opened_from_an_incident_of_a_visit_is_about_what_the_visit_committed(
    trusted, desk, client, programme, named
):
    """A case opened from an incident of a resident's visit (a close name match confirmed, the
    insurer refusing a signed registration, a complaint about the visit) was about nothing: no
    resident, no link, a point case whatever the visit did; its suspension stopped nothing, and
    only a legacy link could be attached to it. It is about the record the incident names, else
    the first one the visit committed, and that record's resident."""

    from madoguchi.benefits.models import OutsideCall
    from madoguchi.cases import findings, remedy
    from madoguchi.cases.models import Case
    from madoguchi.incidents.constants import IncidentKind, Severity
    from madoguchi.incidents.models import Incident

    holder = _registered(trusted, desk, programme)
    official = factories.staff(Role.CITY_OFFICIAL)
    row = remedy.registration(str(programme), None, holder)
    detail: dict = {}
    if named and programme == Programme.PUBLIC_FUND:
        detail = {"what": "public_fund_account", "object": row.pk}
    elif named:
        detail = {"key": OutsideCall.objects.get(registration=row).key}
    incident = Incident.objects.create(
        kind=IncidentKind.COMPLAINT,
        reason_code="complaint",
        severity=Severity.HIGH,
        summary="A resident complained about the visit.",
        visit=row.visit if not named else None,
        terminal=row.visit.terminal,
        detail=detail,
    )
    client.force_login(official)
    # The intake says so before the case is opened: 公金受取口座 0990-001 ＊＊＊＊4567.
    _open_from(client, incident, subject=str(row))
    case = Case.objects.get()
    assert case.programme == programme
    assert case.holder == row.holder
    assert findings.signed_subject(case) == row
    page = client.get(f"/cases/{case.pk}/?reason=case_work").content.decode()
    assert 'data-testid="case-registration"' in page
    last4 = row.account_last4 if programme == Programme.PUBLIC_FUND else row.insured_last4
    assert f'<span class="nowrap">＊＊＊＊{last4}</span>' in page  # kept on one line
    assert 'data-testid="legacy-link-form"' not in page
    # Its suspension acts on that record: stopped, or asked of the insurer.
    from django.utils import timezone

    today = timezone.localdate()
    cases.case_investigate(case, actor=official, summary="調査", event_date=today)
    cases.case_suspend(case, actor=official, summary="停止", event_date=today)
    row.refresh_from_db()
    if programme == Programme.PUBLIC_FUND:
        assert row.status == "suspended"
    else:
        assert row.suspension in ("suspending", "suspended")


@pytest.mark.parametrize("kind", ["outside_failure", "completion_refused", "pin_locked"])
def test_a_case_from_a_refusal_or_outage_is_not_about_what_the_visit_committed_before(
    trusted, desk, client, kind
):
    """An outage, a refused completion or a PIN lock in a visit that had committed a
    registration before is about a procedure that committed nothing: a case opened from it is
    about no record and no resident, as before (what the official attaches, if anything)."""

    from madoguchi.cases import remedy
    from madoguchi.cases.models import Case
    from madoguchi.incidents.models import Incident

    holder = _registered(trusted, desk, Programme.PUBLIC_FUND)
    row = remedy.registration(str(Programme.PUBLIC_FUND), None, holder)
    incident = Incident.objects.create(
        kind=kind,
        reason_code="x",
        severity="low",
        summary="The bank could not be reached.",
        visit=row.visit,
        terminal=row.visit.terminal,
    )
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    _open_from(client, incident)
    case = Case.objects.get()
    assert case.holder is None
    assert case.programme == Programme.POINTS
    assert case.payment_link is None


def test_the_report_of_a_registration_in_the_residents_own_name_says_no_other_name(trusted, desk):
    """The city's report of a public-fund case said the account registered was 「申請者とは異なる
    名義」, though the desk's name check found it in the resident's own name (the bank reported
    the holder's kana and it matched): it says a wrong account was registered."""
    from madoguchi.cases import document, findings

    case = _public_fund_case(trusted, desk)[1]
    assert findings.signed_subject(case).name_outcome == "match"
    doc = document.build(case)
    assert "異なる名義" not in "".join(doc.introduction + doc.content)
    assert "誤った預貯金口座を公金受取口座として登録する事案" in doc.introduction[0]
    assert (
        "申し出た本人の公金受取口座として、誤った預貯金口座が登録されたものです。" in doc.content[0]
    )
