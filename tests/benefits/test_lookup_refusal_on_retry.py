"""A retry whose look-up is *refused* (not merely different) after an earlier attempt was
registered at the insurer under the call's key (its answer lost). Round 20 made the worker ask
the insurer whether it holds the key before saying `insured_person_changed`; a look-up that
raised (the person renumbered: `insured_person_not_found`; an odd kana:
`outside_value_unusable`) still refused the call at once, and the resident read
保険者に登録されていません while the insurer held the registration under our key. Now any
refused look-up on a retry asks the same question first."""

import pytest

from madoguchi.benefits.models import HealthInsuranceRegistration, OutsideCall
from madoguchi.outside import OutsideTimeout
from madoguchi.outside.errors import System
from madoguchi.residents.selectors import records
from tests.benefits.conftest import drain
from tests.benefits.test_outbox import _hi_completion
from tests.benefits.test_outbox_answers import _later
from tests.benefits.test_registrations import HI

pytestmark = pytest.mark.usefixtures("providers", "systems")


def _renumber(sims):
    """The insurer reissues the person's insurance card: the old numbers find nobody."""
    recs = sims.insurer.server.app.records
    for key, record in list(recs.items()):
        if record.get("insured_number") == HI["insured_number"]:
            del recs[key]
            record["branch"] = "09"
            recs[(key[0], key[1], key[2], "09")] = record


def _odd_kana(sims):
    for record in sims.insurer.server.app.records.values():
        if record.get("insured_number") == HI["insured_number"]:
            record["insured_name_kana"] = "ﾔﾏﾀﾞ\u0000ﾀﾛｳ"


# Renumbered: the insurer replays its first answer under the key. An odd kana is in the
# insurer's list of registrations too: an answer not understood, retried (the registration
# stays `registering`), as reconcile's reading of that list is.
@pytest.mark.parametrize(
    ("change", "then"),
    [(_renumber, ("registered", "")), (_odd_kana, ("retry", "outside_protocol_error"))],
    ids=["renumbered", "odd_kana"],
)
def test_a_registration_whose_answer_was_lost_is_not_refused_when_the_retrys_lookup_fails(
    trusted, desk, sims, systems, monkeypatch, change, then
):
    _hi_completion(trusted, desk)
    real = systems.insurer.register_use

    def answer_lost(*args, **kwargs):
        real(*args, **kwargs)  # processed at the insurer
        raise OutsideTimeout(system=System.INSURER, attempts=2)

    monkeypatch.setattr(systems.insurer, "register_use", answer_lost)
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    monkeypatch.undo()
    call = OutsideCall.objects.get()
    assert [r.request_ref for r in systems.insurer.registrations()].count(call.key) == 1
    change(sims)
    outcomes = [(o.outcome, o.code) for o in drain(_later()).outcomes]
    reg = HealthInsuranceRegistration.objects.get()
    # The insurer holds it under our key: never "refused", never told "not registered".
    assert reg.state != "refused", outcomes
    assert "保険者に登録されていません" not in records(reg.holder).registrations[0]["state"]
    assert outcomes == [then]
    assert reg.state == {"registered": "registered", "retry": "registering"}[then[0]]


def test_a_retrys_refused_lookup_still_refuses_what_the_insurer_does_not_hold(
    trusted, desk, sims, systems, monkeypatch
):
    """The first attempt never reached the insurer's registration (its look-up timed out): the
    renumbered person's refusal stands, truly "not registered"."""
    _hi_completion(trusted, desk)

    def lookup_timed_out(*args, **kwargs):
        raise OutsideTimeout(system=System.INSURER, attempts=2)

    monkeypatch.setattr(systems.insurer, "lookup_insured", lookup_timed_out)
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    monkeypatch.undo()
    _renumber(sims)
    outcomes = [(o.outcome, o.code) for o in drain(_later()).outcomes]
    assert outcomes == [("refused", "insured_person_not_found")]
    assert HealthInsuranceRegistration.objects.get().state == "refused"
    call = OutsideCall.objects.get()
    assert [r for r in systems.insurer.registrations() if r.request_ref == call.key] == []
