"""Probe R2 (regression of side doors round 22): `terminal register` now trims its name
('kita-01 ', a pasted line, is registered as 'kita-01'), but the commands that take that name
next (`terminal credential NAME`, `terminal unbind NAME`) look it up exactly as typed. A setup
script passing the same "$TERMINAL" to both worked before round 22 (the name was stored with
its space); now the register succeeds and the credential is refused "No terminal named
'kita-01 '", with the terminal just registered under that very name."""

import io

import pytest
from django.core.management import call_command

from madoguchi.accounts.models import Organisation
from madoguchi.terminals.models import TerminalCredential

pytestmark = pytest.mark.django_db


@pytest.fixture
def contractor():
    call_command("organisation", "add", "Kita City", "--kind", "city", stdout=io.StringIO())
    call_command(
        "organisation", "add", "Desk Co", "--kind", "contractor", "--city", "Kita City",
        stdout=io.StringIO(),
    )  # fmt: skip
    return Organisation.objects.get(name="Desk Co")


def test_the_name_register_trimmed_is_found_by_credential_as_typed(contractor):
    name = "kita-01 "  # as a script's variable holds it, from a pasted line
    call_command(
        "terminal", "register", name, "--location", "1F", "--contractor", "Desk Co",
        stdout=io.StringIO(),
    )  # fmt: skip
    out = io.StringIO()
    call_command("terminal", "credential", name, stdout=out)
    assert out.getvalue().startswith("mdt_")
    assert TerminalCredential.objects.filter(terminal__name="kita-01").count() == 1


def test_the_name_register_trimmed_is_found_by_unbind_as_typed(contractor):
    name = " kita-01"
    call_command(
        "terminal", "register", name, "--location", "1F", "--contractor", "Desk Co",
        stdout=io.StringIO(),
    )  # fmt: skip
    call_command("terminal", "unbind", name, stdout=io.StringIO())  # nothing bound: no error
