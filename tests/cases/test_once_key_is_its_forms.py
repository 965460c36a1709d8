"""Round 22: a form's one-time key was looked up by its model only (`once.record_once(key, Case,
…)`). Case one's 調査を開始する key, sent with case two's step (or another step of case one, or
the intake), read 「このフォームは2回送信されました。記録は1回だけで…」 and recorded nothing on a
case that never had it recorded. A key now counts as sent before only for the form it was
recorded with (its case and step, the intake, the legacy-link form of its case); any other form
sent with it is a first send and is recorded."""

import re

from django.urls import reverse
from django.utils import timezone

from madoguchi.cases import services
from madoguchi.cases.constants import CaseStatus
from madoguchi.cases.models import Case, TimelineEntry
from tests.cases.conftest import legacy, legacy_form, open_case

SENT_TWICE = "このフォームは2回送信されました"


def _page(client, case):
    return client.get(
        reverse("cases:detail", args=[case.pk]) + "?reason=case_work&lang=ja"
    ).content.decode()


def _key(client, case, field):
    return re.search(rf'name="{field}" value="([^"]+)"', _page(client, case)).group(1)


def _step(client, case, step, key):
    """The step's form sent with `key`: the messages the case page then shows."""
    r = client.post(
        reverse("cases:step", args=[case.pk, step]) + "?lang=ja",
        {
            f"{step}-once": key,
            f"{step}-event_date": timezone.localdate().isoformat(),
            f"{step}-date_precision": "day",
            f"{step}-summary": "調査を開始しました。",
        },
        follow=True,
    )
    return [str(m) for m in r.context["messages"]]


def _entries(case):
    return TimelineEntry.objects.filter(case=case).count()


def test_a_step_key_of_one_case_sent_with_another_cases_step_is_recorded_there(client, official):
    client.force_login(official)
    one, two = open_case(official), open_case(official)
    for case in (one, two):
        services.case_attach_legacy_link(case, actor=official, legacy_link=legacy(official))
    key = _key(client, one, "investigate-once")
    assert _step(client, one, "investigate", key) == ["記録しました。"]
    before = _entries(two)
    said = _step(client, two, "investigate", key)
    two.refresh_from_db()
    assert said == ["記録しました。"]
    assert two.status == CaseStatus.INVESTIGATION
    assert _entries(two) == before + 1
    # Sent again with case two's step, it is that form sent twice.
    assert SENT_TWICE in _step(client, two, "investigate", key)[0]
    assert _entries(two) == before + 1


def test_a_step_key_sent_with_another_step_of_the_same_case_is_recorded(client, official):
    client.force_login(official)
    case = open_case(official)
    key = _key(client, case, "investigate-once")
    assert _step(client, case, "investigate", key) == ["記録しました。"]
    before = _entries(case)
    assert _step(client, case, "note", key) == ["記録しました。"]
    assert _entries(case) == before + 1
    assert case.timeline.order_by("-seq").first().kind == "note"


def test_an_intake_key_and_a_step_key_are_each_their_own_forms(client, official):
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
    client.post(reverse("cases:new") + "?lang=ja", intake)
    case = Case.objects.get()
    # The intake's key sent with the case's first step: the step's first send.
    said = _step(client, case, "investigate", key)
    assert said[-1] == "記録しました。"
    assert not any(SENT_TWICE in m for m in said)
    # A step's key sent with the intake: a new intake, a second case.
    step_key = _key(client, case, "note-once")
    _step(client, case, "note", step_key)
    client.post(reverse("cases:new") + "?lang=ja", {**intake, "once": step_key})
    assert Case.objects.count() == 2


def test_a_legacy_link_key_of_one_case_attaches_the_link_to_another(client, official):
    client.force_login(official)
    one, two = open_case(official), open_case(official)
    key = _key(client, one, "legacy-once")
    for case in (one, two):
        client.post(
            reverse("cases:legacy_link", args=[case.pk]) + "?lang=ja",
            {**legacy_form(), "legacy-once": key},
        )
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.legacy_link_id is not None
    assert two.legacy_link_id is not None
    assert two.legacy_link_id != one.legacy_link_id
