"""Probe R1 (regression probe of side doors round 22, forty-fourth session): the case's
re-grant step, for points left in funding by a case closed before the resident linked again."""

import pytest
from django.db.models import Sum
from django.urls import reverse

from madoguchi.benefits import services as benefits
from madoguchi.benefits.constants import GrantStatus
from madoguchi.benefits.models import Grant
from madoguchi.cases import document, services
from madoguchi.cases.constants import CaseStatus, EntryKind
from madoguchi.refusals import Refusal
from tests.benefits import builders
from tests.cases.conftest import open_case
from tests.cases.test_round22_probe_g import D, _walk


def _effective_points(holder) -> int:
    return int(
        Grant.objects.filter(holder=holder, status=GrantStatus.EFFECTIVE).aggregate(
            s=Sum("points")
        )["s"]
        or 0
    )


def _closed_before_the_resident_linked(official, *, relink: bool = True):
    """The first case walked to its end (suspend, return, re-enable, notify, close as put right)
    while A had not linked their own account; then, with `relink`, A links at a desk."""
    case, a, _right, prog, granted = _walk(official, relink=False)
    services.case_notify(case, actor=official, summary="案内", **D)
    services.case_close(case, actor=official, summary="完了", outcome="corrected", **D)
    own = None
    if relink:
        own = builders.link(
            a, programme=prog, provider=builders.provider(), account="7010000000000001"
        )
        benefits.grants_evaluate(a)  # the desk's commit: grants no returned category
    return case, a, own, granted


def _page(client, case, lang: str = "ja") -> str:
    url = reverse("cases:detail", args=[case.pk]) + f"?reason=case_work&lang={lang}"
    return client.get(url).content.decode()


def test_points_of_a_case_closed_before_the_resident_linked_again_can_be_re_granted_by_a_case(
    official,
):
    """docs/cases.md, Re-grant: "a resident who has not applied again does not hold the case
    open (it may close; the points stay in funding, and a later desk link grants nothing:
    re-grant them through a case)". The resident then links their own account at a desk; a
    new case about the same link must be able to grant the 350 points again. Before the fix
    the second case's re-enable was refused `link_not_suspended` (the link was replaced by the
    first case) and so the re-grant `transition_not_allowed`: no way back for the points. Now
    the later case investigates and re-grants (the one thing left to do on that link), then
    closes as put right."""
    case, a, own, granted = _closed_before_the_resident_linked(official)
    assert _effective_points(a) == 0

    again = open_case(official, payment_link=case.payment_link, holder=a)
    services.case_investigate(again, actor=official)
    entry = services.case_regrant(again, actor=official, **D)
    assert entry.status == CaseStatus.INVESTIGATION
    assert _effective_points(a) == granted
    effective = Grant.objects.filter(holder=a, status=GrantStatus.EFFECTIVE)
    assert {g.link_id for g in effective} == {own.pk}
    assert all(g.regrant_of_id is not None for g in effective)
    letter = again.notices.get(entry=entry)
    assert f"（{granted} ポイント）" in letter.body[0]

    # The repair this case made: closed as put right, never as "no error was found".
    with pytest.raises(Refusal) as exc:
        services.case_close(again, actor=official, summary="完了", outcome="no_error", **D)
    assert exc.value.code == "outcome_not_reached"
    services.case_close(again, actor=official, summary="完了", outcome="corrected", **D)
    assert again.status == CaseStatus.CLOSED
    assert _effective_points(a) == granted


def test_the_later_case_page_offers_the_re_grant_while_investigating(official, client):
    """The case page of the later case offers the re-grant while it investigates, naming the
    points and the resident's own link; sent with the tick, it grants them."""
    case, a, _own, granted = _closed_before_the_resident_linked(official)
    again = open_case(official, payment_link=case.payment_link, holder=a)
    services.case_investigate(again, actor=official)
    client.force_login(official)
    page = _page(client, again)
    assert 'data-step="regrant"' in page
    assert f"誤った紐付けから返還された {granted} ポイントを" in page
    form = {"event_date": "2024-04-01", "date_precision": "day", "summary": "", "confirm": "on"}
    response = client.post(
        reverse("cases:step", args=[again.pk, "regrant"]),
        {f"regrant-{k}": v for k, v in form.items()},
        follow=True,
    )
    assert "記録しました" in response.content.decode()
    assert _effective_points(a) == granted
    assert again.timeline.filter(kind=EntryKind.REGRANT).count() == 1


def test_the_later_case_refuses_the_re_grant_saying_why(official, client):
    """On the later case: before the resident linked their own account (said in the step's
    place), once granted again, and never a second time."""
    case, a, _own, granted = _closed_before_the_resident_linked(official, relink=False)
    again = open_case(official, payment_link=case.payment_link, holder=a)
    services.case_investigate(again, actor=official)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(again, actor=official, **D)
    assert exc.value.code == "regrant_no_link"
    client.force_login(official)
    page = _page(client, again)
    assert 'data-step="regrant"' not in page
    assert "ご自身のマイナンバーカードで窓口で申し込んだ後に" in page
    # Closing as put right is refused: no repair is recorded on this case.
    with pytest.raises(Refusal) as exc:
        services.case_close(again, actor=official, summary="完了", outcome="corrected", **D)
    assert exc.value.code == "outcome_not_reached"

    builders.link(
        a,
        programme=case.payment_link.programme,
        provider=builders.provider(),
        account="7010000000000001",
    )
    services.case_regrant(again, actor=official, **D)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(again, actor=official, **D)
    assert exc.value.code == "already_regranted"
    # A third case about the link finds nothing left to grant.
    third = open_case(official, payment_link=case.payment_link, holder=a)
    services.case_investigate(third, actor=official)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(third, actor=official, **D)
    assert exc.value.code == "already_regranted"
    assert _effective_points(a) == granted


def test_investigating_a_link_no_case_re_enabled_grants_nothing(official, client):
    """The re-grant while investigating is only a later case's about a link an earlier case
    re-enabled: on a case whose link is still effective, or held suspended by another case
    that returned its points (its own re-enabling and re-grant to come), it is refused
    `transition_not_allowed` and the page offers none."""
    prog = builders.programme()
    b = builders.holder()
    held = builders.link(
        b, programme=prog, provider=builders.provider(), account="7010000000000005"
    )
    benefits.grants_evaluate(b)
    first = open_case(official, payment_link=held, holder=b)
    services.case_investigate(first, actor=official)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(first, actor=official, **D)
    assert exc.value.code == "transition_not_allowed"
    client.force_login(official)
    assert 'data-step="regrant"' not in _page(client, first)
    services.case_suspend(first, actor=official, summary="利用停止", **D)
    services.case_contact(
        first, actor=official, party="call_centre", channel="phone", summary="相談", **D
    )
    services.case_return_points(first, actor=official, summary="返還", **D)
    assert Grant.objects.filter(link=held, status=GrantStatus.RETURNED).exists()
    second = open_case(official, payment_link=held, holder=b)
    services.case_investigate(second, actor=official)
    with pytest.raises(Refusal) as exc:
        services.case_regrant(second, actor=official, **D)
    assert exc.value.code == "transition_not_allowed"
    assert "調査中に行えます" in exc.value.text("ja")
    assert 'data-step="regrant"' not in _page(client, second)
    assert _effective_points(b) == 0


def test_the_published_report_names_no_payment_service_or_account_digits(official, client):
    """The city's report copies each timeline summary: the re-grant's names the points, not the
    resident's payment service or the last digits of their account (no other step's summary
    puts an account there); the resident's own letter still names it."""
    case, a, _own, granted = _closed_before_the_resident_linked(official)
    again = open_case(official, payment_link=case.payment_link, holder=a)
    services.case_investigate(again, actor=official)
    entry = services.case_regrant(again, actor=official, **D)
    assert entry.summary == (
        f"誤った紐付けから返還された {granted} ポイントを、ご本人がご自身で申し込んだ"
        "決済サービスに再付与しました。"
    )
    report = document.to_markdown(document.build(again))
    assert f"{granted} ポイントを、ご本人がご自身で申し込んだ決済サービスに再付与しました" in report
    assert "0001" not in report
    assert "シミュレーションペイ" not in report
    client.force_login(official)
    english = _page(client, again, "en")
    assert "granted again to the payment service the resident applied for themselves" in english
    letter = again.notices.get(entry=entry)
    assert "＊＊＊＊0001" in letter.body[0]
