"""A health-insurance case suspends the wrong registration at the insurer, end to end: the
case's suspension step queues the insurer's cancellation in the outbox (never calling it in
the step's transaction), the worker sends it over HTTP to the simulated insurer with the
call's idempotency key, the case page and the resident's page say where it stands in plain
sentences, a refusal is an incident, and the resident can then be registered again at a desk.
Before, the page said madoguchi could not suspend it and the step changed nothing."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.constants import LinkStatus
from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.benefits.services import BenefitsRefused, health_insurance_suspend_via_case, outbox
from madoguchi.benefits.services.reconcile import reconcile
from madoguchi.cases import services as cases
from madoguchi.cases.constants import CaseStatus, EntryKind, Programme
from madoguchi.incidents.models import Incident
from madoguchi.residents.models import Notice
from madoguchi.residents.selectors import records
from tests import factories
from tests.benefits.conftest import commit, drain, prepare, refused, start_visit
from tests.benefits.test_case_comparison import _case as case_for
from tests.benefits.test_registrations import HI

pytestmark = pytest.mark.usefixtures("providers", "systems")
D = {"event_date": date(2026, 12, 1), "date_precision": "day"}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _registered(trusted, desk):
    """Card C's resident registered at the insurer (the registration a case finds wrong)."""
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    drain()
    reg = HealthInsuranceRegistration.objects.get()
    assert (reg.state, reg.status) == ("registered", LinkStatus.EFFECTIVE)
    return c, reg


def _case(reg):
    official = factories.staff(Role.CITY_OFFICIAL)
    case = case_for(official, reg.holder, Programme.HEALTH_INSURANCE)
    cases.case_investigate(case, actor=official)
    return official, case


def _page(client, case, lang="ja"):
    url = reverse("cases:detail", args=[case.pk]) + f"?reason=case_work&lang={lang}"
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def _post_suspend(client, case, summary):
    """The case page's suspension form, sent."""
    return client.post(
        reverse("cases:step", args=[case.pk, "suspend"]),
        {
            "suspend-summary": summary,
            "suspend-event_date": "2026-12-01",
            "suspend-date_precision": "day",
        },
    )


def _held(systems):
    return {r.registration_ref for r in systems.insurer.registrations()}


def _requests(sims):
    return sims.insurer.control.stats()["requests"]


def test_the_case_suspends_the_registration_at_the_insurer_and_the_resident_registers_again(
    client, trusted, desk, sims, systems
):
    c, reg = _registered(trusted, desk)
    # The desk refuses a second registration while the wrong one is effective.
    start_visit(desk, c)
    refused("health_insurance_exists", prepare, desk, kind="health_insurance_use", **HI)

    official, case = _case(reg)
    client.force_login(official)
    page = _page(client, case)
    assert "保険者に誤った登録の利用停止を依頼する" in page
    assert 'data-testid="insurance-suspension-note"' in page
    before = _requests(sims)
    r = _post_suspend(client, case, "誤った登録の利用停止")
    assert r.status_code == 302
    assert _requests(sims) == before  # nothing called inside the step's transaction
    entry = case.timeline.order_by("-seq").first()
    assert (entry.kind, entry.status) == (EntryKind.SUSPENSION, CaseStatus.SUSPENDED)
    call = OutsideCall.objects.get(kind=outbox.CANCEL_REGISTRATION)
    assert entry.detail == {"health_insurance_registration": reg.pk, "outside_call": call.key}
    assert "保険者へ、誤った健康保険証の利用登録の利用停止（取消）を依頼しました。" in entry.summary
    assert call.key.startswith("madoguchi-hs:")
    assert call.payload["registration_ref"] == reg.registration_ref
    reg.refresh_from_db()
    assert (reg.suspension, reg.status) == ("suspending", LinkStatus.EFFECTIVE)
    assert reg.status_reason == f"{case.reference}: 誤った登録の利用停止"
    page = _page(client, case)
    assert 'data-state="suspending"' in page
    assert "利用停止の手続き中です。" in page
    assert records(reg.holder).registrations[0]["state"].startswith("利用停止の手続き中")
    # Until the insurer answered, the desk still refuses, saying why.
    start_visit(desk, c)
    exc = refused("health_insurance_suspending", prepare, desk, kind="health_insurance_use", **HI)
    assert "保険者で利用停止の手続き中です" in exc.message_ja
    assert "being suspended at the insurer" in exc.message_en
    # The resident's letter says what was asked of the insurer, not that it was stopped.
    letter = " ".join(Notice.objects.get(entry=entry).body)
    assert "保険者へ利用停止を依頼しました。" in letter
    assert "利用を停止しました" not in letter

    assert [o.outcome for o in drain().outcomes] == ["cancelled"]
    call.refresh_from_db()
    reg.refresh_from_db()
    assert (call.state, call.attempts) == ("done", 1)
    assert (reg.suspension, reg.status) == ("suspended", LinkStatus.SUSPENDED)
    assert reg.status_changed_at is not None
    assert reg.registration_ref not in _held(systems)
    page = _page(client, case)
    assert 'data-state="suspended"' in page
    assert "保険者で利用停止されました（令和" in page
    english = _page(client, case, "en")
    assert "Suspended at the insurer (" in english
    mine = records(reg.holder)
    assert mine.registrations[0]["state"].startswith("利用停止済み（誤りを正すため、保険者で")
    assert records(reg.holder, "en").registrations[0]["state"].startswith("Suspended (")
    assert not JAPANESE.search(records(reg.holder, "en").registrations[0]["state"])
    names = set(AuditEvent.objects.values_list("event_name", flat=True))
    assert {
        "benefits.health_insurance_suspension_requested",
        "benefits.health_insurance_suspended",
        "cases.step",
    } <= names
    event = AuditEvent.objects.get(event_name="benefits.health_insurance_suspended")
    assert case.reference in event.event_type.render(event.payload, "ja")

    # The suspended registration no longer counts: the resident registers again, correctly.
    visit = start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    assert [o.outcome for o in drain().outcomes] == ["registered"]
    right = HealthInsuranceRegistration.objects.get(status=LinkStatus.EFFECTIVE)
    assert right.holder == visit.holder
    assert right.pk != reg.pk
    assert right.state == "registered"
    assert right.registration_ref in _held(systems)
    # Reconcile agrees with the insurer on both registrations.
    assert reconcile().disagreements == []


def test_the_insurer_refusing_is_an_incident_and_the_page_says_why(
    client, trusted, desk, sims, systems
):
    c, reg = _registered(trusted, desk)
    # The insurer holds no registration under the reference madoguchi keeps.
    HealthInsuranceRegistration.objects.filter(pk=reg.pk).update(registration_ref="ins-reg-999999")
    official, case = _case(reg)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    assert [o.outcome for o in drain().outcomes] == ["refused"]
    reg.refresh_from_db()
    assert (reg.suspension, reg.status) == ("refused", LinkStatus.EFFECTIVE)
    call = OutsideCall.objects.get(kind=outbox.CANCEL_REGISTRATION)
    assert (call.state, call.result) == ("refused", {"code": "registration_not_found"})
    incident = Incident.objects.get(reason_code="insurer_refused_suspension")
    assert (incident.kind, incident.severity) == ("outside_refused", "high")
    assert incident.detail["case"] == case.reference
    assert incident.detail["key"] == call.key
    assert AuditEvent.objects.filter(
        event_name="benefits.health_insurance_suspension_refused"
    ).exists()
    client.force_login(official)
    page = _page(client, case)
    assert 'data-state="refused"' in page
    assert (
        "保険者が利用停止を受け付けませんでした：医療保険者に、この利用登録の記録がありません。"
        in page
    )
    assert "registration_not_found" not in page
    english = _page(client, case, "en")
    assert "The insurer refused the suspension: The health insurer holds no such registration." in (
        english
    )
    assert records(reg.holder).registrations[0]["state"].startswith("登録済み（市が保険者へ")
    # Still effective: the desk still refuses a second registration.
    start_visit(desk, c)
    refused("health_insurance_exists", prepare, desk, kind="health_insurance_use", **HI)


def test_the_insurer_down_then_back_loses_nothing_and_cancels_once(
    client, trusted, desk, sims, systems, monkeypatch
):
    _, reg = _registered(trusted, desk)
    official, case = _case(reg)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    sims.insurer.control.set(fail_next=2)  # the insurer is down: both attempts 503
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    call = OutsideCall.objects.get(kind=outbox.CANCEL_REGISTRATION)
    assert (call.state, call.last_error) == ("pending", "outside_unavailable")
    client.force_login(official)
    page = _page(client, case)
    assert "これまで保険者に接続できませんでした（1 回試行）" in page
    assert reg.registration_ref in _held(systems)

    # Back, but the worker dies between the insurer's answer and our update.
    sims.insurer.control.set(reset_faults=True)
    sims.insurer.control.set(reset_stats=True)

    def killed(call, answer, now=None):
        raise SystemExit("worker killed after the insurer answered")

    monkeypatch.setattr(outbox, "record", killed)
    with pytest.raises(SystemExit):
        drain(timezone.now() + timedelta(seconds=400))
    monkeypatch.undo()
    assert reg.registration_ref not in _held(systems)  # the insurer cancelled it
    reg.refresh_from_db()
    assert reg.suspension == "suspending"  # we did not record it

    # The lease runs out; the same key is sent again and the insurer replays its answer.
    assert [o.outcome for o in drain(timezone.now() + timedelta(seconds=900)).outcomes] == [
        "cancelled"
    ]
    stats = sims.insurer.control.stats()
    assert stats["replayed"] == 1
    call.refresh_from_db()
    reg.refresh_from_db()
    assert (call.state, call.attempts) == ("done", 3)
    assert (reg.suspension, reg.status) == ("suspended", LinkStatus.SUSPENDED)
    assert call.result["status"] == "cancelled"  # the first answer, not already_cancelled
    assert OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).count() == 1


def test_an_official_of_another_city_cannot_suspend_it(client, trusted, desk, sims, systems):
    from tests.cases.test_case_page import _other_city_official

    _, reg = _registered(trusted, desk)
    _, case = _case(reg)
    client.force_login(_other_city_official())
    before = _requests(sims)
    r = _post_suspend(client, case, "x")
    assert r.status_code == 404
    assert case.timeline.count() == 2  # opened, investigated
    assert not OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).exists()
    drain()
    assert _requests(sims) == before
    reg.refresh_from_db()
    assert (reg.suspension, reg.status) == ("", LinkStatus.EFFECTIVE)


def test_only_a_registration_held_at_the_insurer_is_asked_and_refusals_say_why_in_english(
    trusted, desk, sims, systems
):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    commit(desk, c)
    reg = HealthInsuranceRegistration.objects.get()  # still registering: not drained
    with pytest.raises(BenefitsRefused) as exc:
        health_insurance_suspend_via_case(reg, actor=None, case_ref="CASE-1", reason="x")
    assert exc.value.code == "registration_not_at_insurer"
    assert exc.value.message_en.startswith(
        "This health-insurance registration is not registered at the insurer"
    )
    assert "保険者に登録されていません" in exc.value.message_ja
    # A case on it records the step, says nothing was asked, and queues nothing.
    official, case = _case(reg)
    entry = cases.case_suspend(case, actor=official, summary="利用停止", **D)
    assert entry.detail == {"health_insurance_registration": None}
    assert "保険者へ利用停止を依頼していません" in entry.summary
    assert not OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).exists()
    drain()
    reg.refresh_from_db()
    health_insurance_suspend_via_case(reg, actor=None, case_ref="CASE-1", reason="x")
    with pytest.raises(BenefitsRefused) as exc:
        health_insurance_suspend_via_case(reg, actor=None, case_ref="CASE-1", reason="x")
    assert exc.value.code == "suspension_requested"
    assert exc.value.message_en.startswith("The insurer has already been asked")


def test_reconcile_repairs_a_suspension_the_insurer_does_not_hold_and_the_reverse(
    trusted, desk, sims, systems, monkeypatch
):
    _, reg = _registered(trusted, desk)
    official, case = _case(reg)
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    # Our row says suspended, but the insurer never cancelled it (an answer not its own).
    monkeypatch.setattr(
        outbox, "_send_cancel", lambda call: outbox.Answer("cancelled", ref="x", status="x")
    )
    drain()
    monkeypatch.undo()
    reg.refresh_from_db()
    assert reg.suspension == "suspended"
    assert reg.registration_ref in _held(systems)
    report = reconcile()
    assert [f.finding for f in report.disagreements] == ["suspended_but_registered"]
    assert reg.registration_ref not in _held(systems)  # asked again, under a new key
    assert OutsideCall.objects.filter(kind=outbox.CANCEL_REGISTRATION).count() == 2
    assert Incident.objects.filter(reason_code="reconcile_suspended_but_registered").count() == 1
    assert reconcile().disagreements == []  # repaired: nothing more to do


def test_reconcile_follows_the_insurer_that_cancelled_after_refusing(
    trusted, desk, sims, systems, monkeypatch
):
    """The reverse: the insurer refused our request, then cancelled the registration when the
    official phoned; our row (still effective) follows the insurer."""
    _, reg = _registered(trusted, desk)
    official, case = _case(reg)
    monkeypatch.setattr(
        outbox,
        "_send_cancel",
        lambda call: outbox.Answer("refused", code="registration_not_found"),
    )
    cases.case_suspend(case, actor=official, summary="利用停止", **D)
    drain()
    monkeypatch.undo()
    reg.refresh_from_db()
    assert (reg.suspension, reg.status) == ("refused", LinkStatus.EFFECTIVE)
    systems.insurer.cancel_registration(reg.registration_ref)  # what the insurer did
    report = reconcile()
    assert [f.finding for f in report.disagreements] == ["cancelled_but_not_suspended"]
    reg.refresh_from_db()
    assert (reg.suspension, reg.status) == ("suspended", LinkStatus.SUSPENDED)
    assert AuditEvent.objects.filter(event_name="benefits.outside_reconciled").exists()
    assert reconcile().disagreements == []


def test_the_insurers_suspension_letter_of_a_step_whose_day_is_unknown_leaves_the_day_out(
    trusted, desk, sims, systems
):
    """Round 22: 「日付は不明、あなたに関する…保険者へ利用停止を依頼しました。」 told the resident the
    city did not know when it asked; the letter leaves the unknown day out."""
    _, reg = _registered(trusted, desk)
    official, case = _case(reg)
    entry = cases.case_suspend(case, actor=official, summary="利用停止", date_precision="unknown")
    first = Notice.objects.get(entry=entry).body[0]
    assert first.startswith("あなたに関するマイナンバーカードの健康保険証としての利用登録"), first
    assert "日付は不明" not in first
    assert "保険者へ利用停止を依頼しました。" in first
