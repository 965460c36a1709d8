"""`madoguchi check` (run by `serve` before it starts) names a certified-reading adapter that
cannot be imported: it was imported first at a desk's name check, a server error there."""

import pytest
from django.core import checks
from django.test import override_settings

from tests.test_commands_for_people import run


def _errors():
    return [m for m in checks.run_checks() if m.id == "madoguchi.E103"]


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("nosuch.module:factory", "cannot be imported"),
        ("madoguchi.benefits.readings:NoSuchFactory", "cannot be imported"),
        ("madoguchi.benefits.readings:__doc__", "is not a factory"),
    ],
)
def test_an_adapter_that_cannot_be_made_is_an_error(path, said):
    with override_settings(BENEFITS_CERTIFIED_READING=path):
        errors = _errors()
    assert len(errors) == 1
    assert errors[0].msg.startswith(f"BENEFITS_CERTIFIED_READING is {path!r}, which")
    assert said in errors[0].msg


@pytest.mark.parametrize("path", ["", "madoguchi.benefits.readings:SimulatedCertifiedReadings"])
def test_no_adapter_or_one_that_imports_is_fine(path):
    with override_settings(BENEFITS_CERTIFIED_READING=path):
        assert _errors() == []


def test_the_command_stops_on_it(tmp_path):
    done = run(
        tmp_path, "check", SECRET_KEY="x" * 50, BENEFITS_CERTIFIED_READING="nosuch.module:factory"
    )
    assert done.returncode == 1, done.stderr
    assert "(madoguchi.E103) BENEFITS_CERTIFIED_READING is 'nosuch.module:factory'" in done.stderr
    assert "Traceback" not in done.stderr
