"""A case page's form is recorded once: sent twice (a double click, or the browser's back
button and the button again) it made a second contact entry, a second note or a second case,
and a timeline entry or an intake can never be taken back (the city's record and its incident
report carried it twice)."""

import re
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from madoguchi.cases import services
from madoguchi.cases.models import Case, TimelineEntry
from tests.cases.conftest import B_CARD, open_case


def _page(client, case):
    return client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    ).content.decode()


def _key(page, step):
    form = re.search(rf'<form [^>]*data-step="{step}">.*?</form>', page, re.S).group(0)
    return re.search(r'name="(?:\w+-)?once" value="([^"]+)"', form).group(1)


def test_a_step_form_sent_twice_is_recorded_once(client, official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    page = _page(client, case)
    key = _key(page, "note")
    assert key != _key(page, "close")  # each form its own key
    before = TimelineEntry.objects.filter(case=case).count()
    note = {
        "note-once": key,
        "note-summary": "事業者から回答あり",
        "note-date_precision": "unknown",
    }
    url = reverse("cases:step", args=[case.pk, "note"]) + "?lang=ja"
    client.post(url, note)
    second = client.post(url, note, follow=True).content.decode()
    assert TimelineEntry.objects.filter(case=case).count() == before + 1
    assert "このフォームは2回送信されました" in second
    # The page shown again has a new key: the next note is a new one.
    client.post(url, {**note, "note-once": _key(second, "note")})
    assert TimelineEntry.objects.filter(case=case).count() == before + 2


def test_an_intake_sent_twice_opens_one_case(client, official):
    client.force_login(official)
    page = client.get(reverse("cases:new") + "?lang=ja").content.decode()
    key = re.search(r'name="once" value="([^"]+)"', page).group(1)
    intake = {
        "once": key,
        "resident_label": "A氏",
        "reported_by": "A氏",
        "channel": "phone",
        "summary": "ポイントが届かない",
        "date_precision": "unknown",
    }
    first = client.post(reverse("cases:new") + "?lang=ja", intake)
    second = client.post(reverse("cases:new") + "?lang=ja", intake)
    case = Case.objects.get()
    assert second["Location"] == first["Location"] == reverse("cases:detail", args=[case.pk])
    said = client.get(second["Location"] + "?reason=case_work&lang=ja").content.decode()
    assert f"ケース {case.reference} は1回だけ開かれ" in said


def test_a_form_refused_first_is_recorded_when_sent_again(client, official):
    """A refused send records nothing, so its key does not stop the corrected form."""
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    key = _key(_page(client, case), "note")
    url = reverse("cases:step", args=[case.pk, "note"])
    before = TimelineEntry.objects.filter(case=case).count()
    client.post(url, {"note-once": key, "note-summary": "", "note-date_precision": "unknown"})
    assert _key(_page(client, case), "note") == key  # the refused form, kept with its key
    client.post(
        url, {"note-once": key, "note-summary": "回答あり", "note-date_precision": "unknown"}
    )
    assert TimelineEntry.objects.filter(case=case).count() == before + 1


def test_a_key_longer_than_any_shown_is_read_not_refused_by_the_database(client, official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    client.force_login(official)
    url = reverse("cases:step", args=[case.pk, "note"])
    note = {"note-once": "k" * 500, "note-summary": "回答あり", "note-date_precision": "unknown"}
    before = TimelineEntry.objects.filter(case=case).count()
    assert client.post(url, note).status_code == 302
    assert client.post(url, note).status_code == 302
    assert TimelineEntry.objects.filter(case=case).count() == before + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_step_form_sent_twice_at_once_is_recorded_once(official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    key = _key(_page(_signed_in(official), case), "note")
    before = TimelineEntry.objects.filter(case=case).count()
    note = {"note-once": key, "note-summary": "同時送信", "note-date_precision": "unknown"}
    url = reverse("cases:step", args=[case.pk, "note"])
    _twice_at_once(official, url, note)
    assert TimelineEntry.objects.filter(case=case).count() == before + 1


def _signed_in(user):
    c = Client()
    c.force_login(user)
    return c


def _twice_at_once(user, url, sent) -> list[str]:
    """Post `sent` to `url` from two browsers of `user` at once; the pages they end on."""
    start = threading.Barrier(2)
    said: list[str] = []

    def send():
        try:
            start.wait()
            said.append(_signed_in(user).post(url, sent, follow=True).content.decode())
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return said


def test_a_report_edit_sent_twice_is_saved_once(client, official):
    """The report's edit form had no key: sent again (the back button and Save once more) it
    recorded a second `cases.report_edited`, and an edit kept in an old tab, sent after another
    official's, wrote over it (docs/security.md, side doors round 13)."""
    from madoguchi.audit.models import AuditEvent

    case = open_case(official)
    client.force_login(official)
    url = reverse("cases:report", args=[case.pk]) + "?reason=case_work&lang=ja"
    page = client.get(url).content.decode()
    key = re.search(r'name="once" value="([^"]+)"', page).group(1)
    assert "<label" not in page.split('name="once"')[0].rsplit("<form", 1)[1]  # hidden, bare
    edits = AuditEvent.objects.filter(event_name="cases.report_edited")
    sent = {"once": key, "title": "一回目の題", "prevention": "対策"}
    client.post(url, sent)
    assert edits.count() == 1
    # Another official's edit from a new form, then the first form sent again.
    new_key = re.search(r'name="once" value="([^"]+)"', client.get(url).content.decode()).group(1)
    assert new_key != key
    client.post(url, {"once": new_key, "title": "二回目の題", "prevention": "対策"})
    again = client.post(url, sent, follow=True).content.decode()
    assert "このフォームは2回送信されました" in again
    case.refresh_from_db()
    assert case.report_title == "二回目の題"
    assert edits.count() == 2


def _legacy_form(page):
    form = re.search(r'<details [^>]*data-testid="legacy-link-form".*?</form>', page, re.S)
    return form.group(0)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_legacy_link_form_sent_twice_records_one_link(client, official, lang):
    """The legacy-link form had no key: sent again (a double click, or back and the button once
    more), the second send was answered "the case already has a link", as if the first had not
    been recorded. It is now recorded once and says so, before any of the case's refusals
    (docs/security.md, side doors round 14)."""
    from madoguchi.audit.models import AuditEvent
    from madoguchi.cases.models import LegacyLink

    case = open_case(official)
    client.force_login(official)
    page = client.get(
        reverse("cases:detail", args=[case.pk]) + f"?reason=case_work&lang={lang}"
    ).content.decode()
    form = _legacy_form(page)
    key = re.search(r'name="legacy-once" value="([^"]+)"', form).group(1)
    assert "<label" not in form.split('name="legacy-once"')[0].rsplit('class="field"', 1)[-1]
    sent = {
        "legacy-once": key,
        "legacy-resident_label": "A氏",
        "legacy-provider_name": "キャッシュレス決済サービス",
        "legacy-account_number": B_CARD,
        "legacy-linked_on_precision": "unknown",
    }
    url = reverse("cases:legacy_link", args=[case.pk]) + f"?lang={lang}"
    client.post(url, sent)
    case.refresh_from_db()
    first = case.legacy_link
    assert first is not None
    second = client.post(url, sent, follow=True).content.decode()
    case.refresh_from_db()
    assert case.legacy_link == first
    assert LegacyLink.objects.count() == 1
    added = AuditEvent.objects.filter(event_name="cases.legacy_link_added")
    attached = AuditEvent.objects.filter(event_name="cases.legacy_link_attached")
    assert (added.count(), attached.count()) == (1, 1)
    if lang == "ja":
        assert "この紐付けのフォームは2回送信されました" in second
    else:
        assert "This legacy link form was sent twice" in second
    assert "The case already has a link" not in second


def test_a_legacy_link_form_with_a_new_key_on_a_linked_case_is_refused(client, official):
    """A new form (a second tab) for a case linked meanwhile is still refused, as before."""
    from madoguchi.cases.models import LegacyLink

    case = open_case(official)
    client.force_login(official)
    url = reverse("cases:legacy_link", args=[case.pk]) + "?lang=en"
    sent = {
        "legacy-resident_label": "A氏",
        "legacy-provider_name": "x",
        "legacy-account_number": B_CARD,
        "legacy-linked_on_precision": "unknown",
    }
    client.post(url, {**sent, "legacy-once": "first-tab"})
    again = client.post(url, {**sent, "legacy-once": "second-tab"}, follow=True).content.decode()
    assert "The case already has a link" in again
    assert LegacyLink.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_legacy_link_form_sent_twice_at_once_says_so(official):
    """Both sends at once: the second waits for the case's row lock, then finds the link the
    first attached; it is told the form was sent twice, not that the case has a link."""
    from madoguchi.cases.models import LegacyLink

    case = open_case(official)
    sent = {
        "legacy-once": "one-key",
        "legacy-resident_label": "A氏",
        "legacy-provider_name": "x",
        "legacy-account_number": B_CARD,
        "legacy-linked_on_precision": "unknown",
    }
    url = reverse("cases:legacy_link", args=[case.pk]) + "?lang=en"
    said = _twice_at_once(official, url, sent)
    assert LegacyLink.objects.count() == 1
    assert sorted("This legacy link form was sent twice" in s for s in said) == [False, True]
    assert not any("The case already has a link" in s for s in said)
