"""Fix for probe R2 (side doors round 22, forty-fourth session): names are compared as a
reader tells them apart (NFKC, case-folded) in Python, on both databases; `terminal
credential` and `terminal unbind` find the terminal register registered."""

import io

import pytest
from django.core.management import CommandError, call_command

from madoguchi.cli import name_key
from madoguchi.terminals.models import TerminalCredential

pytestmark = pytest.mark.django_db


def test_name_key_reads_width_and_capitals_alike():
    assert name_key("ＫＩＴＡ City") == name_key("ｋｉｔａ city") == name_key("kita CITY")
    assert name_key("ﾔﾏﾀﾞ") == name_key("ヤマダ")
    assert name_key("kita-01") != name_key("kita-02")


def test_the_refusal_names_the_width_when_only_the_width_differs():
    call_command("organisation", "add", "Kita City", "--kind", "city", stdout=io.StringIO())
    with pytest.raises(CommandError) as exc:
        call_command(
            "organisation", "add", "Ｋｉｔａ Ｃｉｔｙ", "--kind", "city", stdout=io.StringIO()
        )
    assert str(exc.value) == (
        "An organisation named 'Kita City' already exists "
        "(full-width and half-width characters are one name)."
    )


def test_credential_finds_the_terminal_by_its_name_in_other_capitals():
    call_command("organisation", "add", "Kita City", "--kind", "city", stdout=io.StringIO())
    call_command(
        "organisation", "add", "Desk Co", "--kind", "contractor", "--city", "Kita City",
        stdout=io.StringIO(),
    )  # fmt: skip
    call_command(
        "terminal", "register", "kita-01", "--location", "1F", "--contractor", "Desk Co",
        stdout=io.StringIO(),
    )  # fmt: skip
    out = io.StringIO()
    call_command("terminal", "credential", " ＫＩＴＡ-01", stdout=out)
    assert out.getvalue().startswith("mdt_")
    assert TerminalCredential.objects.filter(terminal__name="kita-01").count() == 1
    with pytest.raises(CommandError, match="No terminal named 'kita-02'"):
        call_command("terminal", "unbind", "kita-02 ", stdout=io.StringIO())
