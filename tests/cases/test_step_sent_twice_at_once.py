"""Round 19: a stage-opening step form (close, investigate, suspend…) sent twice at once (a
double click): the second send should say "sent twice", as docs/cases.md promises ("two sends
at once are decided by the key's unique row"), not that the step is not allowed."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from madoguchi.cases import services
from madoguchi.cases.models import TimelineEntry
from madoguchi.cases.services import transitions
from tests.cases.conftest import open_case
from tests.racekit import at_once


def _key(page, step):
    form = re.search(rf'<form [^>]*data-step="{step}">.*?</form>', page, re.S).group(0)
    return re.search(r'name="(?:\w+-)?once" value="([^"]+)"', form).group(1)


def _signed_in(user):
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_close_form_sent_twice_at_once_says_sent_twice(official):
    case = open_case(official)
    services.case_investigate(case, actor=official)
    page = (
        _signed_in(official)
        .get(reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja")
        .content.decode()
    )
    key = _key(page, "close")
    sent = {
        "close-once": key,
        "close-summary": "確認済み",
        "close-outcome": "no_error",
        "close-date_precision": "unknown",
    }
    url = reverse("cases:step", args=[case.pk, "close"]) + "?lang=ja"
    before = TimelineEntry.objects.filter(case=case).count()

    def send():
        c = _signed_in(official)
        r = c.post(url, sent)
        assert r.status_code == 302, r.status_code
        return c.get(
            reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
        ).content.decode()

    # Both sends pass the key's first look, then take the case's lock one after the other.
    pages = at_once(transitions, "_lock_for_step", send, send)
    assert TimelineEntry.objects.filter(case=case).count() == before + 1
    said = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", p)) for p in pages]
    said = [" ".join(re.findall(r"[^。 ]*(?:ません|ました)。", s)[:1]) for s in said]
    # It was: ["記録しました。", "「完了」の段階では「完了」は行えません。"] (and the refused page kept
    # the summary as a draft: 送信した内容は記録されていません…), though the close was recorded once.
    assert sorted(said) == sorted(["記録しました。", "このフォームは2回送信されました。"]), said
