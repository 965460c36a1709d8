"""Side doors, round 22 (probe B): a minor's own page for a link made into their legal
representative's account (the minor-representative exception)."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from madoguchi.benefits.models import PaymentLink
from tests.benefits.test_representative_own_page import (  # noqa: F401 -- fixture
    _me_origin,
    _representative_completion,
    _sign_in,
)
from tests.residents.test_resident_page import plain


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_minors_link_into_the_parents_account_says_so_not_another_persons_account(
    trusted, desk, minor_card
):
    """A parent (親権者) links the child's points to the parent's own account under the
    minor-representative exception, both cards signing; the account's name was checked against
    the parent's name (一致). The child's page shows that link as 「不一致：名義が一致しません。別の
    方の口座の可能性があります。」, in use, the parent's name as 「口座の名義」 beside the child's
    reading, and not a word of the exception: the resident is told their points may be going
    to a stranger's account (the seed's mis-link), and the page's own answer is 「これは自分では
    ない」. The link should say it was made into their legal representative's account, as the
    representative's page says it from the other side."""
    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    link = PaymentLink.objects.get(completion=completion)
    assert link.name_exception == "minor_representative"
    assert link.representative_outcome == "match"
    child = Client()
    _sign_in(child, minor_card)
    page = child.get("/me/records/?lang=ja").content.decode()
    found = re.search(r'data-testid="me-links">(.*?)</section>', page, re.S)
    assert found is not None
    links = plain(found.group(1))
    assert "別の方の口座の可能性があります" not in links, links
    assert "法定代理人" in links, links


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_minors_link_into_the_parents_account_says_so_in_english_with_the_parents_reading(
    trusted, desk, minor_card
):
    """The English page says it too, and the names compared are the account's and the
    representative's reading the check used (signed by both cards), with that check's outcome:
    not the child's reading, which was never the one that had to match."""
    parent = trusted.card("C")
    _representative_completion(desk, minor_card, parent)
    child = Client()
    _sign_in(child, minor_card)
    page = child.get("/me/records/?lang=en").content.decode()
    found = re.search(r'data-testid="me-links">(.*?)</section>', page, re.S)
    assert found is not None
    links = plain(found.group(1))
    assert "account of your legal representative (Parent" in links, links
    assert "may belong to someone else" not in links, links
    assert "Your legal representative's name (kana) it was compared with" in links, links
    assert 'data-testid="compared-kana">ヤマダ タロウ<' in found.group(1)
    check = re.search(r'data-testid="name-check">(.*?)</dd>', found.group(1), re.S)
    assert check is not None
    assert html.unescape(plain(check.group(1))).startswith(
        "Match: the account's name was compared with your"
    )


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_minors_public_fund_account_in_the_parents_name_says_so(trusted, desk, minor_card):
    """The same for a public-fund account registered for the child into the parent's account."""
    from tests.benefits.test_representative_reports import _representative_public_fund

    parent = trusted.card("C")
    _representative_public_fund(desk, minor_card, parent)
    child = Client()
    _sign_in(child, minor_card)
    page = child.get("/me/records/?lang=ja").content.decode()
    found = re.search(r'aria-labelledby="h-accounts"(.*?)</section>', page, re.S)
    assert found is not None
    accounts = plain(found.group(1))
    assert "あなたの法定代理人（親権者）の口座です" in accounts, accounts
    assert "別の方の口座の可能性があります" not in accounts, accounts
    # The parent's own page is unchanged: no names, no check, their own sentence.
    me = Client()
    _sign_in(me, parent)
    own = me.get("/me/records/?lang=ja").content.decode()
    assert 'data-testid="me-as-representative"' in own
    assert 'data-testid="me-into-representatives-account"' not in own


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_the_representatives_report_is_theirs_on_their_page_and_not_the_minors(
    trusted, desk, minor_card
):
    """The parent reports the child's link as not them: the case (its resident the parent) is
    the parent's report on the parent's page, and on the child's page, which lists it as a case
    about the child's link, the city looking into it, not a report the child made."""
    parent = trusted.card("C")
    completion = _representative_completion(desk, minor_card, parent)
    link = PaymentLink.objects.get(completion=completion)
    me = Client()
    _sign_in(me, parent)
    assert me.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"}).status_code == 302
    own = me.get("/me/records/?lang=ja").content.decode()
    found = re.search(r'data-testid="me-cases">(.*?)</section>', own, re.S)
    assert found is not None
    assert "お申し出を受け付けました。" in plain(found.group(1))
    child = Client()
    _sign_in(child, minor_card)
    page = child.get("/me/records/?lang=ja").content.decode()
    found = re.search(r'data-testid="me-cases">(.*?)</section>', page, re.S)
    assert found is not None
    section = plain(found.group(1))
    assert "CASE-" in section
    assert "お申し出" not in section, section
    assert "この件について、市が確認を始めました。" in section, section
