"""A form's one-time key kept before once 0002 (target "") still counts after the upgrade."""

from madoguchi.cases.models import Case
from madoguchi.once import services as once
from madoguchi.once.models import SentForm
from tests.cases.conftest import open_case


def test_a_form_sent_before_the_upgrade_and_again_after_it_is_recorded_once(official):
    """A key recorded before migration once 0002 keeps target "" (the migration's default).
    The same form sent again after the upgrade (the back button and the button once more, a
    client retrying across a restart) looks the key up with its form's target only, finds
    nothing, and records the step a second time: on a populated database every key kept before
    the upgrade stopped counting."""
    case = open_case(official)
    key = "k" * 43
    SentForm.objects.create(model="cases.case", key=key, target="", object_id=case.pk)
    written = []

    def write():
        written.append(1)
        return case

    _row, now = once.record_once(key, Case, write, target=f"case {case.pk} step investigate")
    assert not written, "recorded a second time"
    assert not now


def test_a_key_kept_before_the_upgrade_is_sent_before_for_its_model(official):
    """`sent_before` (the completion's email form, the legacy-link form) reads it so too."""
    case = open_case(official)
    SentForm.objects.create(model="cases.case", key="e" * 43, target="", object_id=case.pk)
    assert once.sent_before("e" * 43, Case, target=f"case {case.pk} step investigate")
    assert not once.sent_before("f" * 43, Case, target=f"case {case.pk} step investigate")
