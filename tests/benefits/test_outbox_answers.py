"""What the outbox makes of the insurer's answers, and what the resident then reads (outside
probe, round 20): a registration whose answer was lost is never told as "not registered"
while the insurer holds it; an answer naming the insured person otherwise than signed is
registered and flagged for an official; a reference we could not keep is retried, not a crash;
the English refusal says why, as the Japanese does."""

import dataclasses
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from madoguchi.benefits import outside, states
from madoguchi.benefits.models import Grant, HealthInsuranceRegistration, OutsideCall
from madoguchi.benefits.services import outbox
from madoguchi.benefits.services.reconcile import EXIT_NEW_INCIDENTS, reconcile
from madoguchi.desk import procedures as desk_procedures
from madoguchi.incidents.models import Incident
from madoguchi.outside import OutsideTimeout
from madoguchi.outside.errors import System
from madoguchi.residents.selectors import records
from tests.benefits.conftest import FAST, apply_fields, commit, drain, prepare, start_visit
from tests.benefits.test_outbox import ANOTHER_CARDS, _hi_completion
from tests.benefits.test_registrations import HI

pytestmark = pytest.mark.usefixtures("providers", "systems")
NOT_REGISTERED_JA = "保険者に登録されていません"
NOT_REGISTERED_EN = "not registered at the insurer"


def _correct_the_kana(sims, kana="ﾔﾏﾀﾞ ﾀﾛｵ"):
    """The insurer corrects the kana of card C's insured person (was ﾔﾏﾀﾞ ﾀﾛｳ)."""
    for record in sims.insurer.server.app.records.values():
        if record.get("insured_number") == HI["insured_number"]:
            record["insured_name_kana"] = kana


def _state(reg, lang="ja"):
    return records(reg.holder, lang).registrations[0]["state"]


def _later():
    return timezone.now() + timedelta(hours=1)


def test_a_registration_whose_answer_was_lost_is_registered_on_the_retry(
    trusted, desk, sims, systems, monkeypatch
):
    """The insurer registers our call, its answer is lost, and meanwhile it corrects the
    person's kana. The retry's look-up no longer matched what was signed: the call was marked
    refused and the resident read 保険者に登録されていません, though the insurer held the
    registration under our key. Now the retry asks the insurer whether it holds our key and,
    as it does, the insurer replays its first answer (made when the person matched)."""
    _hi_completion(trusted, desk)
    real = systems.insurer.register_use

    def answer_lost(*args, **kwargs):
        real(*args, **kwargs)  # processed at the insurer
        raise OutsideTimeout(system=System.INSURER, attempts=2)

    monkeypatch.setattr(systems.insurer, "register_use", answer_lost)
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    monkeypatch.undo()
    call = OutsideCall.objects.get()
    _correct_the_kana(sims)
    assert [(o.outcome, o.code) for o in drain(_later()).outcomes] == [("registered", "")]
    reg = HealthInsuranceRegistration.objects.get()
    assert (reg.state, reg.insured_name_kana) == ("registered", "ﾔﾏﾀﾞ ﾀﾛｳ")
    held = [r for r in systems.insurer.registrations() if r.request_ref == call.key]
    assert [r.registration_ref for r in held] == [reg.registration_ref]  # once, not twice
    assert _state(reg) == "登録済み"
    assert not Incident.objects.filter(reason_code="insurer_refused_after_signature").exists()


def test_a_retry_the_insurer_never_registered_is_still_refused_when_the_person_changed(
    trusted, desk, sims, systems, monkeypatch
):
    """The other side of it: the lost attempt never reached the insurer, so nothing is held
    under our key, and the changed person is refused as before: then 'not registered' is
    true."""
    _hi_completion(trusted, desk)

    def never_arrived(*args, **kwargs):
        raise OutsideTimeout(system=System.INSURER, attempts=2)

    monkeypatch.setattr(systems.insurer, "register_use", never_arrived)
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    monkeypatch.undo()
    _correct_the_kana(sims)
    assert [o.code for o in drain(_later()).outcomes] == ["insured_person_changed"]
    reg = HealthInsuranceRegistration.objects.get()
    assert reg.state == "refused"
    assert not [r for r in systems.insurer.registrations() if r.request_ref]
    assert NOT_REGISTERED_JA in _state(reg)


def test_an_answer_naming_the_person_otherwise_is_registered_and_flagged_for_an_official(
    trusted, desk, systems, monkeypatch
):
    """The insurer registered it, but its answer gives another kana than the resident signed
    (it corrected the record between our look-up and the registration). The call was marked
    refused, and the resident told 保険者に登録されていません, of a registration the insurer
    holds. Now it is registered (a case can ask for its suspension), with a HIGH incident for an
    official to check it, and the resident reads that the city is checking it."""
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    prepare(desk, kind="health_insurance_use", **HI)
    completion = commit(desk, c)
    real = systems.insurer.register_use

    def corrected(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), insured_name_kana="ﾔﾏﾀﾞ ﾀﾛｵ")

    monkeypatch.setattr(systems.insurer, "register_use", corrected)
    outcomes = drain().outcomes
    assert [(o.outcome, o.code) for o in outcomes] == [("registered", "registered_person_differs")]
    assert "differs from what the resident signed" in outcomes[0].message
    reg = HealthInsuranceRegistration.objects.get()
    assert (reg.state, reg.insured_name_kana) == ("registered", "ﾔﾏﾀﾞ ﾀﾛｵ")
    assert reg.registration_ref
    incident = Incident.objects.get(reason_code="insurer_registered_person_differs")
    assert (incident.severity, incident.visit_id) == ("high", visit.pk)
    assert incident.detail["registration_ref"] == reg.registration_ref
    ja, en = _state(reg), _state(reg, "en")
    assert ja.startswith("登録済み（")
    assert "市の担当職員が保険者と確認" in ja
    assert en.startswith("Registered (")
    assert "checking it with the insurer" in en
    assert NOT_REGISTERED_JA not in ja
    assert NOT_REGISTERED_EN not in en
    desk_en = " ".join(desk_procedures.status_lines(completion, "en"))
    assert "checking it with the insurer" in desk_en
    # The insurer holds it: registered, as far as the programme's grant goes too.
    assert Grant.objects.filter(holder=visit.holder, category="health_insurance").exists()


def test_reconcile_follows_a_held_registration_naming_the_person_otherwise(
    trusted, desk, sims, monkeypatch
):
    """A worker died between the insurer's answer and our update; the insurer corrected the
    kana since. Reconcile marked the call refused (the resident told "not registered") and its
    next run found `refused_but_registered`. Now it marks it registered, flagged, exit 3."""
    _hi_completion(trusted, desk)
    monkeypatch.setattr(outbox, "record", lambda *a, **k: (_ for _ in ()).throw(SystemExit()))
    with pytest.raises(SystemExit):
        drain()
    monkeypatch.undo()
    _correct_the_kana(sims)
    report = reconcile()
    assert [(f.finding, f.action) for f in report.findings] == [
        ("answered_not_recorded", "marked registered registered_person_differs")
    ]
    assert report.exit_code == EXIT_NEW_INCIDENTS
    reg = HealthInsuranceRegistration.objects.get()
    assert reg.state == "registered"
    assert Incident.objects.filter(reason_code="insurer_registered_person_differs").count() == 1
    assert NOT_REGISTERED_JA not in _state(reg)
    assert reconcile().findings == []  # in agreement: no refused_but_registered


def test_a_reference_too_long_to_keep_is_retried_not_a_crash(trusted, desk, sims):
    """The insurer answers 200 with a reference longer than the column (101+ characters): the
    HTTP client accepted it (it checked the type only) and the worker crashed on the database
    (DataError), the call left claimed. Now it is an answer not understood: retried, with
    last_error set, the registration still being registered."""
    _hi_completion(trusted, desk)
    app = sims.insurer.server.app
    stamp = app._stamp

    def long_reference(record, fingerprint, request_ref=""):
        stamp(record, fingerprint, request_ref)
        record["registration_ref"] += "x" * 120

    app._stamp = long_reference
    try:
        result = drain()
    finally:
        del app._stamp
    assert [(o.outcome, o.code) for o in result.outcomes] == [("retry", "outside_protocol_error")]
    call = OutsideCall.objects.get()
    assert (call.state, call.last_error) == ("pending", "outside_protocol_error")
    assert HealthInsuranceRegistration.objects.get().state == "registering"


@pytest.mark.parametrize("ref", ["x" * 101, "ins-reg\x00-1"], ids=["long", "nul"])
def test_an_adapter_answering_a_reference_we_cannot_keep_is_retried(
    trusted, desk, systems, monkeypatch, ref
):
    """The same from an adapter of another insurer (not the HTTP client's field checks)."""
    _hi_completion(trusted, desk)
    real = systems.insurer.register_use
    monkeypatch.setattr(
        systems.insurer,
        "register_use",
        lambda *a, **k: dataclasses.replace(real(*a, **k), registration_ref=ref),
    )
    assert [(o.outcome, o.code) for o in drain().outcomes] == [("retry", "outside_protocol_error")]
    assert OutsideCall.objects.get().last_error == "outside_protocol_error"


def test_the_english_refusal_says_why_as_the_japanese_does(trusted, desk):
    """The English page said only "the insurer refused it"; the Japanese gives the reason."""
    completion = _hi_completion(trusted, desk, ANOTHER_CARDS)
    drain()
    reg = HealthInsuranceRegistration.objects.get()
    assert "別のマイナンバーカード" in _state(reg)
    en = _state(reg, "en")
    desk_en = " ".join(desk_procedures.status_lines(completion, "en"))
    for text in (en, desk_en):
        assert "already registered with another My Number card" in text, text
        assert NOT_REGISTERED_EN in text, text
    assert set(states.REFUSAL_REASONS_EN) == set(states.REFUSAL_REASONS_JA)


def test_an_insurer_refusing_our_credentials_is_said_so(trusted, desk, sims):
    """A 401/403 from the insurer was "the insurer's answer was not understood", retried for
    ever under that name: nothing told the operator to look at the key or certificate. (The
    simulator answers 403 to a request carrying an Origin header, as it would a browser's.)"""
    _hi_completion(trusted, desk)
    denied = sims.outside(dataclasses.replace(FAST, headers={"Origin": "http://elsewhere.test"}))
    out = StringIO()
    try:
        with outside.use(denied):
            call_command("outside", "worker", "--once", stdout=out)
    finally:
        denied.close()
    assert "the insurer refused our credentials or permission (HTTP 401/403)" in out.getvalue()
    assert "[outside_access_denied]" in out.getvalue()
    call = OutsideCall.objects.get()
    assert (call.state, call.last_error) == ("pending", "outside_access_denied")  # retried
    out = StringIO()
    call_command("outside", "status", stdout=out)
    assert "the latest error: the insurer refused our credentials or permission" in out.getvalue()
