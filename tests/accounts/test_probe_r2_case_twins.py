"""Probe R2 (regression of side doors round 22): `organisation add` and `terminal register`
refuse a name "differing only in capitals" with Django's `iexact`, which SQLite reads as
`LIKE` (case-insensitive for ASCII letters only). Full-width Latin letters, as a Japanese IME
types them, have capitals too ('ＫＩＴＡ' / 'ｋｉｔａ'): the twin is refused on a PostgreSQL
database whose ctype knows them and added on SQLite, so the same setup script makes two
organisations (two terminals) read alike on one database and not on the other."""

import io

import pytest
from django.core.management import CommandError, call_command

from madoguchi.accounts.models import Organisation
from madoguchi.terminals.models import Terminal

pytestmark = pytest.mark.django_db


def test_an_organisation_differing_only_in_full_width_capitals_is_refused():
    call_command("organisation", "add", "ＫＩＴＡ City", "--kind", "city", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("organisation", "add", "ｋｉｔａ city", "--kind", "city", stdout=io.StringIO())
    assert Organisation.objects.count() == 1


def test_a_terminal_differing_only_in_full_width_capitals_is_refused():
    call_command("organisation", "add", "Kita City", "--kind", "city", stdout=io.StringIO())
    call_command(
        "organisation", "add", "Desk Co", "--kind", "contractor", "--city", "Kita City",
        stdout=io.StringIO(),
    )  # fmt: skip
    call_command(
        "terminal", "register", "ＫＩＴＡ-01", "--location", "1F", "--contractor", "Desk Co",
        stdout=io.StringIO(),
    )  # fmt: skip
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "terminal", "register", "ｋｉｔａ-01", "--location", "1F", "--contractor", "Desk Co",
            stdout=io.StringIO(),
        )  # fmt: skip
    assert Terminal.objects.count() == 1
