"""A legal representative's "this was not me" on a minor's record made into their own account
(a point link or a public-fund account under the minor-representative exception): the case
it opens or joins is about that record, its steps act on it, the representative follows it on
their own page and is never told of the minor's report; the admin's read of such a record is
the representative's too (docs/resident.md, "A legal representative's records")."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from madoguchi.benefits import services
from madoguchi.benefits.models import PublicFundAccount
from madoguchi.cases import selectors as case_selectors
from madoguchi.residents.models import NotMeReport
from tests.benefits.conftest import prepare
from tests.benefits.test_registrations import public_fund
from tests.benefits.test_representative_own_page import (  # noqa: F401 (the autouse fixture)
    MINOR_KANA,
    _holder,
    _me_origin,
    _representative_authenticated,
    _representative_completion,
    _sign_in,
)
from tests.visits import commit_two_cards


def _representative_public_fund(desk, minor_card, parent_card):
    _representative_authenticated(desk, minor_card, parent_card)
    prepare(
        desk,
        kind="public_fund_account",
        **public_fund(kana=MINOR_KANA, use_representative_exception=True),
    )
    return commit_two_cards(desk, minor_card, parent_card)


@pytest.mark.usefixtures("providers", "systems", "support_keys")
@pytest.mark.parametrize("kind", ["public_fund", "completion"])
def test_representatives_not_me_on_a_public_fund_account_is_a_case_about_that_account(
    trusted, desk, minor_card, kind
):
    """The parent's page offers "this was not me" on the child's public-fund registration made
    into the parent's account; the case it opens must be about that registration (its steps
    suspend it), not about none, nor about a registration of the parent's own."""
    parent = trusted.card("C")
    completion = _representative_public_fund(desk, minor_card, parent)
    account = PublicFundAccount.objects.get(visit=completion.visit)
    assert account.holder == _holder(minor_card)
    assert account.representative is not None
    me = Client(raise_request_exception=False)
    _sign_in(me, parent)
    page = me.get("/me/records/").content.decode()
    item = account.pk if kind == "public_fund" else completion.pk
    assert f"/me/not-me/{kind}/{item}/" in page  # offered on the parent's own page
    r = me.post(f"/me/not-me/{kind}/{item}/", {"reason": "never_applied"})
    assert r.status_code == 302, r.content.decode()[:300]
    report = NotMeReport.objects.get()
    assert report.case.holder == _holder(parent)
    # The case is about the registration reported.
    assert case_selectors.case_registration(report.case) == account


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_representatives_report_is_not_told_it_joined_a_report_they_never_made(
    trusted, desk, minor_card
):
    """The child reported their link first ("this was not me"); the parent then reports the same
    link from their own page. The parent's page must not tell them their report "was added to
    the one you made on <the child's report's time>": they made none, and the child's report is
    the child's."""
    from madoguchi.benefits.models import PaymentLink

    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    link = PaymentLink.objects.get(completion=completion)
    child = Client()
    _sign_in(child, minor_card)
    assert child.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"}).status_code == 302
    me = Client()
    _sign_in(me, parent)
    r = me.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"}, follow=True)
    assert r.status_code == 200
    mine = NotMeReport.objects.get(holder=_holder(parent))
    theirs = NotMeReport.objects.get(holder=_holder(minor_card))
    text = r.content.decode()
    assert 'data-testid="reported-added"' not in text, (mine.case_id, theirs.case_id)


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_representatives_report_joined_to_the_childs_case_can_be_followed_on_their_page(
    trusted, desk, minor_card
):
    """The reported page tells the parent to follow the case under "Cases concerning you" on
    their records page; after the child reported first, the parent's report joined the child's
    case, which the parent's page does not list."""
    from madoguchi.benefits.models import PaymentLink

    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    link = PaymentLink.objects.get(completion=completion)
    child = Client()
    _sign_in(child, minor_card)
    child.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"})
    me = Client()
    _sign_in(me, parent)
    me.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"})
    mine = NotMeReport.objects.get(holder=_holder(parent))
    cases = me.get("/me/records/").context["records"].cases
    assert mine.case.pk in [c["row"].pk for c in cases]


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_an_admins_read_of_a_link_into_the_representatives_account_is_theirs_too(
    trusted, desk, minor_card, settings
):
    """The admin's page of a link made under the minor-representative exception shows the
    parent's account (its last 4) and the parent as its representative, as the officials' visit
    page does; that page's read is recorded for both residents, the admin's for the child only,
    so the parent's "who looked at my records" never shows it."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.benefits.models import PaymentLink
    from tests.identity.test_admin_reads import opened
    from tests.identity.test_admin_reads import operator as make_operator

    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    link = PaymentLink.objects.get(completion=completion)
    client = make_operator.__wrapped__(settings)
    page = opened(client, f"/admin/benefits/paymentlink/{link.pk}/change/", reason="audit")
    assert link.masked_account[-4:] in page.content.decode()
    reads = AuditEvent.objects.filter(
        event_name="identity.record_read",
        subject_type="identity.holder",
        payload__page="admin.benefits.paymentlink",
    )
    assert str(_holder(minor_card).pk) in set(reads.values_list("subject_id", flat=True))
    assert str(_holder(parent).pk) in set(reads.values_list("subject_id", flat=True))


D = {"event_date": date(2026, 11, 30), "date_precision": "day"}


def _report(client: Client, kind: str, item: int) -> str:
    """Report `item` from `client`'s page; the reported page's text."""
    r = client.post(f"/me/not-me/{kind}/{item}/", {"reason": "never_applied"}, follow=True)
    assert r.status_code == 200
    return r.content.decode()


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_the_case_a_representatives_report_opened_suspends_the_minors_account(
    trusted, desk, minor_card
):
    """The steps of the case the parent's report opened act on the account reported: its
    suspension suspends the minor's registration (it looked for the parent's own registration
    of that account, found none, and changed nothing)."""
    from madoguchi.accounts.constants import Role
    from madoguchi.benefits.constants import LinkStatus
    from madoguchi.cases import services as cases
    from tests import factories

    parent = trusted.card("C")
    completion = _representative_public_fund(desk, minor_card, parent)
    account = PublicFundAccount.objects.get(visit=completion.visit)
    me = Client()
    _sign_in(me, parent)
    _report(me, "public_fund", account.pk)
    case = NotMeReport.objects.get().case
    official = factories.staff(Role.CITY_OFFICIAL)
    cases.case_investigate(case, actor=official)
    entry = cases.case_suspend(case, actor=official, summary="利用停止", **D)
    account.refresh_from_db()
    assert account.status == LinkStatus.SUSPENDED
    assert entry.detail == {"public_fund_account": account.pk}


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_minors_report_after_their_representatives_joins_that_case_told_only_of_their_own(
    trusted, desk, minor_card
):
    """The parent reported the account first; the child's report of it joins the same case
    (one record, one case: it opened a second one, about the same account), is not told of
    the parent's report, and both follow the case on their own pages."""
    parent = trusted.card("C")
    completion = _representative_public_fund(desk, minor_card, parent)
    account = PublicFundAccount.objects.get(visit=completion.visit)
    me = Client()
    _sign_in(me, parent)
    _report(me, "public_fund", account.pk)
    child = Client()
    _sign_in(child, minor_card)
    text = _report(child, "public_fund", account.pk)
    mine = NotMeReport.objects.get(holder=_holder(parent))
    theirs = NotMeReport.objects.get(holder=_holder(minor_card))
    assert theirs.case == mine.case
    assert 'data-testid="reported-added"' not in text
    for client in (me, child):
        cases = client.get("/me/records/").context["records"].cases
        assert [c["row"].pk for c in cases] == [mine.case.pk]


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_second_record_of_the_same_visit_still_says_it_joined_the_residents_own_report(
    trusted, desk, minor_card
):
    """The parent's own two reports of one visit (the link, then the completion that signed
    it) are one case, and their page still says the second joined the first."""
    from madoguchi.benefits.models import PaymentLink

    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    link = PaymentLink.objects.get(completion=completion)
    me = Client()
    _sign_in(me, parent)
    _report(me, "link", link.pk)
    text = _report(me, "completion", completion.pk)
    assert 'data-testid="reported-added"' in text
    assert NotMeReport.objects.values("case").distinct().count() == 1


@pytest.mark.usefixtures("providers", "systems", "support_keys")
@pytest.mark.parametrize("page", ["publicfundaccount", "grant"])
def test_an_admins_read_of_an_account_or_grant_into_the_representatives_account_is_theirs_too(
    trusted, desk, minor_card, settings, page
):
    """As a link's page: a public-fund account made under the exception shows the parent's
    account, and a grant's list shows its link (the parent's account's last 4); each read is
    recorded for both residents."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.benefits.models import Grant, PaymentLink
    from tests.identity.test_admin_reads import opened
    from tests.identity.test_admin_reads import operator as make_operator

    parent = trusted.card("C")
    if page == "grant":
        completion = _representative_completion(desk, minor_card, parent)
        link = PaymentLink.objects.get(completion=completion)
        services.card_acquisition_grant(link, charged_yen=20000, source_ref="t")
        assert Grant.objects.filter(link=link).exists()
        path = "/admin/benefits/grant/"
    else:
        completion = _representative_public_fund(desk, minor_card, parent)
        account = PublicFundAccount.objects.get(visit=completion.visit)
        path = f"/admin/benefits/publicfundaccount/{account.pk}/change/"
    client = make_operator.__wrapped__(settings)
    opened(client, path, reason="audit")
    reads = AuditEvent.objects.filter(
        event_name="identity.record_read",
        subject_type="identity.holder",
        payload__page=f"admin.benefits.{page}",
    )
    shown = set(reads.values_list("subject_id", flat=True))
    assert shown == {str(_holder(minor_card).pk), str(_holder(parent).pk)}
