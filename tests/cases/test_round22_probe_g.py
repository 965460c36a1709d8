"""Side doors, round 22 (probe G): a city official walks a point mis-link from start to end with
what the case offers, and the resident's points."""

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.urls import reverse

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits import ledger
from madoguchi.benefits import services as benefits
from madoguchi.benefits.constants import AccountKind, GrantStatus
from madoguchi.benefits.models import Grant
from madoguchi.cases import services
from madoguchi.cases.constants import CaseStatus, EntryKind
from madoguchi.cases.services import remediation
from madoguchi.refusals import Refusal
from tests.benefits import builders
from tests.cases.conftest import open_case
from tests.racekit import at_once

D = {"event_date": date(2024, 4, 1), "date_precision": "day"}


def _effective_points(holder) -> int:
    return int(
        Grant.objects.filter(holder=holder, status=GrantStatus.EFFECTIVE).aggregate(
            s=Sum("points")
        )["s"]
        or 0
    )


def _walk(official, *, relink: bool = True):
    """A's application linked to B's payment account; A's points granted (and partly paid)
    there; a case opened about that link and walked to re-enabling; with `relink`, A then links
    their own account at a desk."""
    prog = builders.programme()
    prov = builders.provider()
    a = builders.holder()
    wrong = builders.link(a, programme=prog, provider=prov, account="7010000000000003")
    benefits.grants_evaluate(a)
    granted = _effective_points(a)
    assert granted > 0
    ledger.post_payout(wrong, 100, batch_id=f"b{wrong.pk}", item_id="1")
    case = open_case(official, payment_link=wrong, holder=a)
    services.case_investigate(case, actor=official)
    services.case_suspend(case, actor=official, summary="利用停止", **D)
    services.case_contact(
        case, actor=official, party="call_centre", channel="phone", summary="相談", **D
    )
    services.case_return_points(case, actor=official, summary="返還", **D)
    services.case_reenable(case, actor=official, summary="再申込可能", **D)
    right = None
    if relink:
        # A comes to the desk with their own card and links their own account.
        right = builders.link(a, programme=prog, provider=prov, account="7010000000000001")
        benefits.grants_evaluate(a)  # what a desk's commit runs
    return case, a, right, prog, granted


@pytest.fixture
def mislinked(official):
    """A's application linked to B's payment account; A's points granted (and partly paid) there;
    a case opened about that link and walked to re-enabling; A then links their own account
    at a desk."""
    return _walk(official)


def test_a_case_closed_as_put_right_leaves_the_residents_points_granted_again(mislinked, official):
    """The points returned from B's account are A's: the case's remediation is suspend, return,
    re-enable, A links again, re-grant (docs/benefits.md "Remediation"). The official's pages
    offer no re-grant (docs/cases.md: "Service only; no page form yet"), the desk's new link
    grants nothing (`grants_evaluate` skips a returned category), and the case can be notified
    and closed "an error was found and put right" with A's points nowhere: returned to funding
    and never granted again. Either the close refuses while the returned grants wait, or A's
    points are A's again when it closes."""
    case, a, _right, prog, granted = mislinked
    assert _effective_points(a) == 0  # nothing came back by itself
    services.case_notify(case, actor=official, summary="案内", **D)
    try:
        services.case_close(case, actor=official, summary="完了", outcome="corrected", **D)
    except Refusal:
        return  # refused until the points are granted again: what should happen
    assert case.status == CaseStatus.CLOSED
    assert _effective_points(a) == granted, (
        "the case closed as put right, A's points returned and never granted again"
    )
    assert ledger.balance(ledger.account(AccountKind.FUNDING, prog)) == -granted


def test_the_case_page_offers_the_re_grant_once_the_resident_linked_again(
    mislinked, official, client
):
    """The one step that gives A's points back has no form: an official working from the case
    page cannot do it (only `case_regrant` from Python)."""
    case, _a, _right, _prog, _granted = mislinked
    client.force_login(official)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work"
    ).content.decode()
    assert "再付与" in page, "no re-grant step on the case page in the re-enabled stage"


# --- the fix (side doors round 22, forty-fourth session): the re-grant step and the close -----

STEP = "cases:step"


def _page(client, case, lang: str = "ja") -> str:
    url = reverse("cases:detail", args=[case.pk]) + f"?reason=case_work&lang={lang}"
    return client.get(url).content.decode()


def _regrant_form(**fields: str) -> dict[str, str]:
    form = {"event_date": "2024-04-01", "date_precision": "day", "summary": "", **fields}
    return {f"regrant-{name}": value for name, value in form.items()}


def test_closing_as_put_right_is_refused_while_the_returned_points_wait(mislinked, official):
    """Notified, the case closed "put right" with A's 350 points returned to funding for good:
    the close is refused, saying why and what to do, and the case stays notified."""
    case, a, _right, _prog, granted = mislinked
    services.case_notify(case, actor=official, summary="案内", **D)
    with pytest.raises(Refusal) as exc:
        services.case_close(case, actor=official, summary="完了", outcome="corrected", **D)
    assert exc.value.code == "regrant_pending"
    said = exc.value.text("ja")
    assert f"{granted} ポイントが、まだご本人に再付与されていません" in said
    assert "＊＊＊＊0001" in said  # the resident's own link, which can receive them
    assert "「返還したポイントをご本人に再付与する」を記録してから" in said
    assert f"the {granted} points returned from the wrong link" in exc.value.message_en
    assert case.status == CaseStatus.NOTIFIED
    assert not case.timeline.filter(kind=EntryKind.CLOSE).exists()
    assert _effective_points(a) == 0


def test_the_official_grants_the_points_again_from_the_case_page_then_closes_it(
    mislinked, official, client
):
    """The case page names the points and the resident's own link, asks the official to
    confirm, grants them again (audited, a letter to the resident), then says it is done; the
    case closes "put right" with A's points A's again and nothing granted twice."""
    case, a, right, prog, granted = mislinked
    client.force_login(official)
    page = _page(client, case)
    assert 'data-step="regrant"' in page
    assert "返還したポイントをご本人に再付与する" in page
    assert f"誤った紐付けから返還された {granted} ポイントを" in page
    assert "＊＊＊＊0001" in page
    # Sent without the confirmation: refused beside the box, nothing granted.
    response = client.post(reverse(STEP, args=[case.pk, "regrant"]), _regrant_form(), follow=True)
    assert "このチェックボックスにチェックを入れてください" in response.content.decode()
    assert _effective_points(a) == 0
    assert not case.timeline.filter(kind=EntryKind.REGRANT).exists()

    response = client.post(
        reverse(STEP, args=[case.pk, "regrant"]), _regrant_form(confirm="on"), follow=True
    )
    assert "記録しました" in response.content.decode()
    assert _effective_points(a) == granted
    again = Grant.objects.filter(holder=a, status=GrantStatus.EFFECTIVE)
    assert {g.link_id for g in again} == {right.pk}
    assert all(g.regrant_of_id is not None for g in again)
    assert ledger.balance(ledger.account(AccountKind.FUNDING, prog)) == -granted
    entry = case.timeline.get(kind=EntryKind.REGRANT)
    assert entry.status == CaseStatus.REENABLED
    assert entry.detail["points"] == granted
    assert f"{granted} ポイントを、ご本人がご自身で申し込んだ決済サービスに" in entry.summary
    assert "0001" not in entry.summary  # the city publishes it (test_probe_r1_regrant.py)
    assert AuditEvent.objects.filter(
        event_name="cases.step", payload__kind="regrant", payload__case=case.reference
    ).exists()
    assert AuditEvent.objects.filter(
        event_name="benefits.ledger_transfer", payload__kind="regrant"
    ).exists()
    letter = case.notices.get(entry=entry)
    assert letter.title == "返還されたポイントの再付与について（お知らせ）"
    assert f"（{granted} ポイント）" in letter.body[0]
    assert "＊＊＊＊0001" in letter.body[0]

    # Done: the page says so instead of the form; the English page in English.
    page = _page(client, case)
    assert 'data-step="regrant"' not in page
    assert f"すでにご本人に再付与されています（{granted} ポイント）" in page
    english = _page(client, case, "en")
    assert f"have already been granted again to the resident ({granted} points)" in english
    assert f"The {granted} points returned from the wrong link were granted again" in english

    # The desk's evaluation again grants nothing more: one grant per category.
    assert benefits.grants_evaluate(a) == []
    services.case_notify(case, actor=official, summary="案内", **D)
    services.case_close(case, actor=official, summary="完了", outcome="corrected", **D)
    assert case.status == CaseStatus.CLOSED
    assert _effective_points(a) == granted


def test_the_re_grant_is_refused_saying_why_when_it_cannot_be_done(official, client):
    """Before re-enabling, before the resident linked their own payment service, once granted
    again, once closed, and on a case with no ledger link: refused, each saying why (Japanese
    on the page, English for the command and API), nothing granted."""
    case, a, _right, prog, _granted = _walk(official, relink=False)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(case, actor=official, **D)
    assert exc.value.code == "regrant_no_link"
    assert "まだ申し込んでいません" in exc.value.text("ja")
    client.force_login(official)
    page = _page(client, case)
    assert 'data-step="regrant"' not in page
    assert 'data-testid="regrant-why"' in page
    assert "ご自身のマイナンバーカードで窓口で申し込んだ後に" in page
    # With no link of their own yet, the case may close (the resident may never apply again).
    services.case_notify(case, actor=official, summary="案内", **D)
    services.case_close(case, actor=official, summary="完了", outcome="corrected", **D)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(case, actor=official, **D)
    assert exc.value.code == "transition_not_allowed"
    assert "ケースを終了する前に" in exc.value.text("ja")
    assert _effective_points(a) == 0

    # Before re-enabling.
    early = open_case(
        official,
        payment_link=builders.link(
            builders.holder(),
            programme=prog,
            provider=builders.provider(),
            account="7010000000000004",
        ),
    )
    services.case_investigate(early, actor=official)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(early, actor=official, **D)
    assert exc.value.code == "transition_not_allowed"
    assert "再申込できるようにした後" in exc.value.text("ja")

    # A case about no link in madoguchi's ledger (no link, or a legacy link's).
    bare = open_case(official)
    services.case_investigate(bare, actor=official)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(bare, actor=official, **D)
    assert exc.value.code == "regrant_not_for_case"
    assert "本システムの台帳で再付与できるポイントがありません" in exc.value.text("ja")
    assert not services.step_allowed(EntryKind.REGRANT, CaseStatus.REENABLED, "public_fund")


def test_the_re_grant_is_made_once(mislinked, official):
    """Granted again, the step is refused `already_regranted`; the ledger's own re-grant of the
    same returned grant is refused too: never two grants of the points."""
    case, a, right, _prog, granted = mislinked
    services.case_regrant(case, actor=official, **D)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(case, actor=official, **D)
    assert exc.value.code == "already_regranted"
    assert f"（{granted} ポイント）" in exc.value.text("ja")
    returned = Grant.objects.filter(holder=a, status=GrantStatus.RETURNED).first()
    with pytest.raises(Refusal) as exc:
        benefits.ledger_regrant(returned, to_link=right, actor=None, reason="again")
    assert exc.value.code == "grant_already_regranted"
    assert _effective_points(a) == granted


def test_the_case_command_grants_again_only_when_confirmed(official):
    """`madoguchi case regrant`: says what it would grant and to which link, grants only with
    --confirm, and refuses in English saying why."""
    case, a, _right, _prog, granted = _walk(official, relink=False)
    with pytest.raises(CommandError) as exc:
        call_command("case", "regrant", case.reference, "--actor", official.username)
    assert "has not linked their own payment service" in str(exc.value)
    assert "Nothing was re-granted." in str(exc.value)
    right = builders.link(
        a,
        programme=case.payment_link.programme,
        provider=builders.provider(),
        account="7010000000000001",
    )
    out = io.StringIO()
    call_command("case", "regrant", case.reference, "--actor", official.username, stdout=out)
    assert f"the {granted} points returned from the wrong link would be granted again" in (
        out.getvalue()
    )
    assert right.masked_account in out.getvalue()
    assert "Nothing was re-granted" in out.getvalue()
    assert _effective_points(a) == 0
    out = io.StringIO()
    call_command(
        "case", "regrant", case.reference, "--actor", official.username, "--confirm", stdout=out
    )
    assert f"{granted} points granted again" in out.getvalue()
    assert _effective_points(a) == granted
    with pytest.raises(CommandError) as exc:
        call_command("case", "regrant", case.reference, "--actor", official.username, "--confirm")
    assert "have already been granted again" in str(exc.value)
    assert _effective_points(a) == granted


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_officials_granting_again_at_once_grant_once(official):
    """Two re-grants sent at the same moment (two officials, two tabs): the case's lock keeps
    them apart, the second reads the grants re-granted and is refused `already_regranted`."""
    case, a, _right, _prog, granted = _walk(official)
    results = at_once(
        remediation,
        "_lock_for_step",
        lambda: services.case_regrant(case, actor=official, **D),
        lambda: services.case_regrant(case, actor=official, **D),
    )
    refused = [r for r in results if isinstance(r, Refusal)]
    assert [r.code for r in refused] == ["already_regranted"], results
    assert _effective_points(a) == granted
    assert case.timeline.filter(kind=EntryKind.REGRANT).count() == 1
