"""The case workflow: every transition, every refusal, roles, an append-only timeline."""

from datetime import date

import pytest

from madoguchi.audit.models import AuditEvent
from madoguchi.cases import services
from madoguchi.cases.constants import ALLOWED_TRANSITIONS, CaseStatus, EntryKind
from madoguchi.cases.events import CASES_LEGACY_LINK_ATTACHED
from madoguchi.cases.models import TimelineEntry, TimelineImmutableError
from madoguchi.cases.services import review
from madoguchi.refusals import Refusal
from tests.cases.conftest import A_CARD, B_CARD, legacy, open_case

S = CaseStatus
D = dict(event_date=date(2023, 7, 5), date_precision="day")


def refused(code, fn, *args, **kwargs):
    with pytest.raises(Refusal) as exc:
        fn(*args, **kwargs)
    assert exc.value.code == code, exc.value
    assert exc.value.message_ja
    assert exc.value.message_en
    return exc.value


def walk_to(case, official, target):
    """Drive a (legacy-link) case forward to `target` along the normal path."""
    path = [
        (S.INVESTIGATION, lambda: services.case_investigate(case, actor=official)),
        (S.SUSPENDED, lambda: services.case_suspend(case, actor=official, summary="利用停止", **D)),
        (
            S.CONTACTING,
            lambda: services.case_contact(
                case, actor=official, party="call_centre", channel="phone", summary="相談", **D
            ),
        ),
        (
            S.POINTS_RETURNED,
            lambda: services.case_return_points(case, actor=official, summary="返還", **D),
        ),
        (
            S.REENABLED,
            lambda: services.case_reenable(case, actor=official, summary="再申込可能", **D),
        ),
        (S.NOTIFIED, lambda: services.case_notify(case, actor=official, summary="案内", **D)),
        (S.CLOSED, lambda: services.case_close(case, actor=official, summary="完了", **D)),
    ]
    order = [S.INTAKE] + [status for status, _ in path]
    for status, step in path:
        if case.status == target:
            return
        if order.index(status) <= order.index(case.status):
            continue
        entry = step()
        assert entry.status == status
        assert case.status == status


@pytest.fixture
def case(official):
    c = open_case(official)
    services.case_attach_legacy_link(c, actor=official, legacy_link=legacy(official))
    return c


def test_attaching_a_legacy_link_is_audited(case, official):
    case.refresh_from_db()
    assert case.legacy_link is not None
    event = AuditEvent.objects.get(event_name=CASES_LEGACY_LINK_ATTACHED.name)
    assert event.subject_id == str(case.pk)
    assert event.payload == {"case": case.reference, "resident": case.legacy_link.resident_label}


def test_intake_is_the_first_entry(case, official):
    assert case.status == S.INTAKE
    entry = case.timeline.get()
    assert entry.kind == EntryKind.INTAKE
    assert entry.party_label == "A氏"
    assert entry.date_precision == "month"
    assert entry.event_date == date(2022, 8, 1)
    assert AuditEvent.objects.filter(event_name="cases.opened", subject_id=str(case.pk)).exists()


def test_the_whole_path_appends_one_entry_per_step(case, official):
    walk_to(case, official, S.CLOSED)
    entries = list(case.timeline.order_by("seq"))
    assert [e.status for e in entries] == [
        S.INTAKE,
        S.INVESTIGATION,
        S.SUSPENDED,
        S.CONTACTING,
        S.POINTS_RETURNED,
        S.REENABLED,
        S.NOTIFIED,
        S.CLOSED,
    ]
    assert [e.seq for e in entries] == list(range(1, 9))
    assert all(e.actor == official for e in entries)
    steps = AuditEvent.objects.filter(event_name="cases.step", subject_id=str(case.pk))
    assert steps.count() == 7
    assert steps.last().payload["to_status"] == "closed"


# A point programme's case never reaches CORRECTED (tests/cases/test_programme_workflow.py).
@pytest.mark.parametrize("start", [s for s in S if s != S.CORRECTED])
def test_every_disallowed_transition_is_refused(case, official, start):
    walk_to(case, official, start)
    attempts = {
        S.INVESTIGATION: lambda: services.case_investigate(case, actor=official),
        S.SUSPENDED: lambda: services.case_suspend(case, actor=official, summary="x", **D),
        S.POINTS_RETURNED: lambda: services.case_return_points(
            case, actor=official, summary="x", **D
        ),
        S.REENABLED: lambda: services.case_reenable(case, actor=official, summary="x", **D),
        S.NOTIFIED: lambda: services.case_notify(case, actor=official, summary="x", **D),
        S.CLOSED: lambda: services.case_close(case, actor=official, summary="x", **D),
    }
    for target, attempt in attempts.items():
        allowed = target in ALLOWED_TRANSITIONS[start] and target != start
        if allowed:
            continue
        before = case.timeline.count()
        refused("transition_not_allowed", attempt)
        assert case.timeline.count() == before
        assert case.status == start


def test_contacts_keep_the_stage_and_notes_need_an_open_case(case, official):
    refused(
        "transition_not_allowed",
        services.case_contact,
        case,
        actor=official,
        party="ministry",
        channel="phone",
        summary="x",
        **D,
    )
    refused("transition_not_allowed", services.case_note, case, actor=official, summary="x", **D)
    walk_to(case, official, S.POINTS_RETURNED)
    e = services.case_contact(
        case,
        actor=official,
        party="resident",
        party_label="A氏",
        channel="phone",
        summary="謝罪と説明",
        **D,
    )
    assert e.status == S.POINTS_RETURNED
    assert (
        services.case_note(case, actor=official, summary="メモ", date_precision="unknown").status
        == S.POINTS_RETURNED
    )
    walk_to(case, official, S.CLOSED)
    refused(
        "transition_not_allowed",
        services.case_contact,
        case,
        actor=official,
        party="resident",
        channel="phone",
        summary="x",
        **D,
    )


def test_closing_from_intake_or_investigation_is_allowed(official):
    c = open_case(official)
    assert (
        services.case_close(c, actor=official, summary="誤紐付けではなかった", **D).status
        == S.CLOSED
    )


def test_comparison_records_only_same_or_different(case, official):
    services.case_investigate(case, actor=official)
    e = services.case_compare_identifier(case, actor=official, presented=A_CARD, **D)
    assert e.comparison == "different"
    assert "異なる番号" in e.summary
    e2 = services.case_compare_identifier(
        case, actor=official, presented=B_CARD.replace("-", " "), **D
    )
    assert e2.comparison == "same"
    # What is stored as text (a time's microseconds may hold those digits by chance).
    stored = str(
        [
            {k: v for k, v in row.items() if isinstance(v, str | dict | list)}
            for row in TimelineEntry.objects.values()
        ]
    )
    assert "1111" not in stored
    assert "4980" not in stored
    assert case.legacy_link.account_last4 == "7777"


def test_desk_staff_and_supervisors_can_only_open_an_intake(desk_staff, supervisor, official):
    for person in (desk_staff, supervisor):
        c = open_case(person)
        assert c.status == S.INTAKE
        assert c.opened_by == person
        refused("not_city_official", services.case_investigate, c, actor=person)
        refused("not_city_official", services.case_close, c, actor=person, summary="x", **D)
        refused(
            "not_city_official",
            services.case_compare_identifier,
            c,
            actor=person,
            presented=A_CARD,
            **D,
        )
        refused(
            "not_city_official",
            services.legacy_link_add,
            actor=person,
            resident_label="A",
            provider_name="p",
            account_number="1",
        )
        refused(
            "not_city_official",
            services.case_report_edit,
            c,
            actor=person,
            title="t",
            prevention="p",
        )
    assert services.case_investigate(c, actor=official).status == S.INVESTIGATION


def test_a_user_without_a_role_cannot_open(db):
    from madoguchi.accounts.models import User
    from tests import factories

    nobody = User.objects.create_user(username="nobody", password=factories.PASSWORD)
    refused("not_allowed_to_open", open_case, nobody)


def test_intake_needs_who_and_what_and_dates_need_a_value(official):
    refused("intake_incomplete", open_case, official, reported_by=" ")
    refused("date_required", open_case, official, event_date=None, date_precision="day")
    c = open_case(official, event_date=None, date_precision="unknown")
    assert c.timeline.get().event_date is None
    refused("summary_required", services.case_investigate, c, actor=official, summary=" ")


def test_timeline_entries_are_never_changed(case, official):
    e = case.timeline.get()
    e.summary = "changed"
    with pytest.raises(TimelineImmutableError):
        e.save()
    with pytest.raises(TimelineImmutableError):
        e.delete()


def test_month_dates_are_stored_as_the_first_of_the_month(case, official):
    services.case_investigate(
        case, actor=official, event_date=date(2022, 8, 19), date_precision="month"
    )
    e = case.latest_entry()
    assert e.event_date == date(2022, 8, 1)
    assert e.date_precision == "month"


def test_refusals_say_why(db, official):
    from madoguchi.accounts.models import User
    from tests import factories

    nobody = User.objects.create_user(username="nobody2", password=factories.PASSWORD)
    exc = refused("not_allowed_to_open", open_case, nobody)
    assert "窓口職員、委託事業者の責任者、市職員" in exc.message_ja
    assert "your role is none of these" in exc.message_en
    # A case with no link and no resident: nothing to compare, and what to do about it.
    case = open_case(official)
    exc = refused("no_link", services.case_compare_identifier, case, actor=official, presented="1")
    assert "旧システムの記録" in exc.message_ja
    assert "record it on the case first" in exc.message_en


def test_a_step_forms_errors_name_the_fields_in_the_pages_language(client, official):
    from django.contrib.messages import get_messages
    from django.urls import reverse

    case = open_case(official)
    client.force_login(official)
    response = client.post(
        reverse("cases:step", args=[case.pk, "investigate"]) + "?lang=ja",
        {"investigate-summary": "調査", "investigate-date_precision": "sometime"},
    )
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "date_precision" not in said
    assert "日付の精度" in said


def test_comparing_stops_after_five_different_results(case, official, client):
    """Side doors round 5: a comparison says only same or different, but it could be asked
    without end, so an official could guess the registered number digit by digit (its last 4
    are shown): 1,000 guesses find a bank account's 7 digits. After
    `CASE_COMPARISONS_DIFFERENT_MAX` (5) different results the case compares no more, even
    the right number, and says why; nothing is recorded."""
    from django.urls import reverse

    services.case_investigate(case, actor=official)
    for guess in range(5):
        wrong = f"4980-0000-000{guess}-7777"
        e = services.case_compare_identifier(case, actor=official, presented=wrong, **D)
        assert e.comparison == "different"
    before = case.timeline.count()
    exc = refused(
        "comparisons_exhausted",
        services.case_compare_identifier,
        case,
        actor=official,
        presented=B_CARD,
        **D,
    )
    assert "5 times" in exc.message_en
    # What to note is which documents were seen, never their numbers: a note is kept for good
    # in the timeline, and a 7- or 8-digit account or insured number passes its long-number
    # check.
    assert "which documents the resident presented" in exc.message_en
    assert "never their numbers" in exc.message_en
    assert "書類の種類" in exc.message_ja
    assert "番号は記録しないでください" in exc.message_ja
    client.force_login(official)
    page = client.post(
        reverse("cases:step", args=[case.pk, "compare"]),
        {
            "compare-presented": B_CARD,
            "compare-event_date": "2023-07-05",
            "compare-date_precision": "day",
        },
        follow=True,
        HTTP_ACCEPT_LANGUAGE="ja",
    ).content.decode()
    assert "これ以上は照合しません" in page
    assert "番号は記録しないでください" in page
    assert case.timeline.count() == before
    assert not case.timeline.filter(comparison="same").exists()


def another_case_after(case, official, *, different):
    """Compare the case `different` times with a different result, then open another case of
    its legacy link, under investigation (the count covers both)."""
    services.case_investigate(case, actor=official)
    for guess in range(different):
        wrong = f"4980-0000-000{guess}-7777"
        services.case_compare_identifier(case, actor=official, presented=wrong, **D)
    again = open_case(official)
    services.case_attach_legacy_link(again, actor=official, legacy_link=case.legacy_link)
    services.case_investigate(again, actor=official)
    return again


def test_another_case_of_the_same_link_does_not_start_the_count_again(case, official):
    """The limit would be no limit if opening another case about the same registration
    started it again: the different results are counted over every case that compares it."""
    again = another_case_after(case, official, different=5)
    exc = refused(
        "comparisons_exhausted",
        services.case_compare_identifier,
        again,
        actor=official,
        presented="4980-0000-0009-7777",
        **D,
    )
    assert "another case of the same resident" in exc.message_en
    assert not again.timeline.filter(kind=EntryKind.COMPARISON).exists()


@pytest.mark.django_db(transaction=True)
def test_two_cases_compared_at_once_do_not_both_pass_the_limit(case, official):
    """The count covers every case of the same link, but only the compared case was locked:
    two cases compared at the same moment, one below the limit, both counted four and both
    recorded a fifth and a sixth different result. The count's own key (the resident and
    programme, else the legacy link) is locked first, so the second counts the first's."""
    from tests.racekit import at_once

    again = another_case_after(case, official, different=4)

    def compare(which, guess):
        return lambda: services.case_compare_identifier(
            which, actor=official, presented=f"4980-0000-001{guess}-7777", **D
        )

    # The recording step, after the count: each waits there until the other has counted.
    results = at_once(review, "case_transition", compare(case, 1), compare(again, 2))
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert [r.code for r in refusals] == ["comparisons_exhausted"], results
    assert sum(isinstance(r, TimelineEntry) for r in results) == 1, results
    assert (
        TimelineEntry.objects.filter(
            case__legacy_link=case.legacy_link, kind=EntryKind.COMPARISON, comparison="different"
        ).count()
        == 5
    )
