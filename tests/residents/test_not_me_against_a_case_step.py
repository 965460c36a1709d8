"""Round 19: "this was not me" on a record the city works a case about, while an official closes
that case at the same moment."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.cases import selectors as case_selectors
from madoguchi.cases import services as cases
from madoguchi.cases.models import Case
from madoguchi.residents import services as resident_services
from tests import factories
from tests.benefits import builders
from tests.residents.test_resident_page import (  # noqa: F401
    _origins,
    desk_completion,
    open_case,
    sign_in,
)
from tests.residents.test_resident_page import desk as desk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_not_me_while_an_official_closes_the_citys_case_is_not_a_server_error(
    trusted, desk, monkeypatch
):
    a = trusted.card("A")
    holder = desk_completion(desk, a).visit.holder
    link = builders.link(
        holder,
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010000000000009",
    )
    official = factories.staff(Role.CITY_OFFICIAL)
    case = open_case(official, payment_link=link, summary="コールセンターへの電話")
    cases.case_investigate(case, actor=official, summary="調査", event_date=timezone.localdate())

    # The interleaving: the resident's request has locked the holder and read the city's case
    # as open; the official's close has locked the case and written its step and letter; then
    # each goes on (the resident to the case's row, the official to its commit).
    from madoguchi.residents import receivers

    real_about = case_selectors.open_case_about
    real_notice = receivers.notice_issue
    resident_read, official_wrote = threading.Event(), threading.Event()

    def about(*args, **kwargs):
        found = real_about(*args, **kwargs)
        resident_read.set()
        official_wrote.wait(5)
        return found

    def notice(entry):
        made = real_notice(entry)
        official_wrote.set()
        resident_read.wait(5)
        return made

    monkeypatch.setattr(resident_services.case_selectors, "open_case_about", about)
    monkeypatch.setattr(receivers, "notice_issue", notice)
    client = Client(raise_request_exception=False)
    sign_in(client, a)
    results = {}

    def resident():
        try:
            r = client.post(f"/me/not-me/link/{link.pk}/", {"reason": "not_my_account"})
            results["resident"] = (r.status_code, r.content.decode()[:300])
        finally:
            connection.close()

    def official_closes():
        try:
            cases.case_close(
                Case.objects.get(pk=case.pk),
                actor=official,
                summary="確認済み",
                outcome="no_error",
                event_date=timezone.localdate(),
            )
            results["official"] = "closed"
        except Exception as exc:  # the test reads it
            results["official"] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=resident), threading.Thread(target=official_closes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(results)
    assert results["resident"][0] == 302, results
    assert results["official"] == "closed", results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_not_me_on_a_second_record_of_the_visit_while_the_official_closes_its_case(
    trusted, desk, monkeypatch
):
    """The same-visit path (`_open_visit_report`): the holder's row, then the case's; an
    official's step locks the case's row, then (its letter's foreign key, at commit) the
    holder's."""
    from madoguchi.residents import receivers
    from tests.residents.test_resident_page import _linked_at_a_desk

    card, link, completion = _linked_at_a_desk(trusted, desk)
    client = Client(raise_request_exception=False)
    sign_in(client, card)
    assert (
        client.post(f"/me/not-me/link/{link.pk}/", {"reason": "never_applied"}).status_code == 302
    )
    case = Case.objects.get()
    official = factories.staff(Role.CITY_OFFICIAL)

    real_open = resident_services._open_visit_report
    real_notice = receivers.notice_issue
    resident_locked, official_wrote = threading.Event(), threading.Event()

    def open_visit_report(holder, visit):
        resident_locked.set()  # the holder's row is locked (not_me_report's first statement)
        official_wrote.wait(5)
        return real_open(holder, visit)

    def notice(entry):
        made = real_notice(entry)
        official_wrote.set()
        resident_locked.wait(5)
        return made

    monkeypatch.setattr(resident_services, "_open_visit_report", open_visit_report)
    monkeypatch.setattr(receivers, "notice_issue", notice)
    results = {}

    def resident():
        try:
            r = client.post(f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk"})
            results["resident"] = r.status_code
        finally:
            connection.close()

    def official_closes():
        try:
            cases.case_close(
                Case.objects.get(pk=case.pk),
                actor=official,
                summary="確認済み",
                outcome="no_error",
                event_date=timezone.localdate(),
            )
            results["official"] = "closed"
        except Exception as exc:  # the test reads it
            results["official"] = repr(exc)[:200]
        finally:
            connection.close()

    threads = [threading.Thread(target=resident), threading.Thread(target=official_closes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(results)
    assert results["resident"] == 302, results
    assert results["official"] == "closed", results
