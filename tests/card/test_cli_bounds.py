"""Out-of-range arguments of the card commands and the demo, refused in one line naming the
option before anything runs. Before: `vcard issue --name <25,000 characters>` was an
OverflowError's traceback, an empty address, a line break in a name, a negative latency and a
birth date in 2099 made cards; `vcard plug --port 99999` tried for ten seconds and then said
"connection refused"; `demo --port 99999` blamed MADOGUCHI_ORIGIN, and MADOGUCHI_PORT=abc was
int()'s traceback."""

from __future__ import annotations

import argparse
import io
from contextlib import redirect_stderr
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from madoguchi import argtypes
from madoguchi.card import cli, inputsupport, pcscd

ISSUE = ["issue", "--sex", "1", "--pin", "1234", "--out", "x.card"]


def refusal(argv: list[str], add=cli.add_vcard_arguments) -> str:
    """What argparse says of `argv` (it exits 2 and writes to stderr)."""
    parser = argparse.ArgumentParser(prog="madoguchi vcard")
    add(parser)
    err = io.StringIO()
    with redirect_stderr(err), pytest.raises(SystemExit) as exited:
        parser.parse_args(argv)
    assert exited.value.code == 2
    return err.getvalue().strip().splitlines()[-1]


def issue(**fields: str) -> list[str]:
    given = {"name": "鈴木\u3000一郎", "birth": "1975-12-31", "address": "大阪市北区", **fields}
    return [*ISSUE, *(x for k, v in given.items() for x in (f"--{k}", v))]


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"name": "山" * 101}, "argument --name: the card's name is 101 characters; at most 100"),
        ({"name": "山" * 25000}, "the card's name is 25000 characters; at most 100"),
        ({"address": "東" * 201}, "argument --address: the card's address is 201 characters"),
        ({"address": " "}, "argument --address: the card's address must not be empty"),
        ({"name": "鈴木\n一郎"}, "argument --name: the card's name holds a control or format"),
        ({"name": "鈴木\u202e一郎"}, "the card's name holds a control or format character"),
        ({"latency": "-1"}, "argument --latency: must be a number of seconds at least 0, not '-1'"),
        ({"latency": "inf"}, "argument --latency: must be a number of seconds at least 0"),
        ({"birth": "2099-01-01"}, "the birth date 2099-01-01 is after today: no card is issued"),
    ],
)
def test_vcard_issue_refuses_what_no_card_holds(fields, said):
    assert said in refusal(issue(**fields))


def test_vcard_issue_takes_the_longest_and_today(tmp_path: Path):
    parser = argparse.ArgumentParser()
    cli.add_vcard_arguments(parser)
    japan = datetime.now(ZoneInfo("Asia/Tokyo")).date()
    today = japan.isoformat()
    args = parser.parse_args(issue(name="山" * 100, address="東" * 200, birth=today))
    assert (len(args.name), len(args.address), args.birth) == (100, 200, japan)
    err = io.StringIO()
    options = {**vars(args), "ca_dir": tmp_path / "ca", "out": tmp_path / "x.card"}
    assert cli.run_vcard(options, io.StringIO(), err) == 0, err.getvalue()
    tomorrow = (japan + timedelta(days=1)).isoformat()
    assert "is after today" in refusal(issue(birth=tomorrow))


def test_the_basic_four_too_long_for_the_card_is_a_value_error_not_an_overflow():
    with pytest.raises(ValueError, match="EF0002 holds"):
        inputsupport.build_basic_four("山" * 25000, "東京", date(1980, 1, 1), "1")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["plug", "c.card", "--port", "99999"], "argument --port: a port is a whole number from 1 to 65535, not '99999'"),
        (["plug", "c.card", "--port", "0"], "a port is a whole number from 1 to 65535, not '0'"),
        (["plug", "c.card", "--port", "x"], "a port is a whole number from 1 to 65535, not 'x'"),
        (["plug", "c.card", "--remove-after", "-1"], "argument --remove-after: must be a number of seconds more than 0"),
        (["plug", "c.card", "--remove-after", "0"], "must be a number of seconds more than 0, not '0'"),
    ],
)  # fmt: skip
def test_vcard_plug_refuses_a_port_or_a_time_out_of_range(argv, said):
    assert said in refusal(argv)


@pytest.mark.parametrize("action", ["show", "auth"])
@pytest.mark.parametrize("wait", ["-3", "nan", "inf"])
def test_card_wait_is_a_number_of_seconds(action, wait):
    said = refusal([action, "--wait", wait], add=cli.add_card_arguments)
    assert f"argument --wait: must be a number of seconds at least 0, not '{wait}'" in said


def test_the_private_pcscd_refuses_a_port_out_of_range(capsys):
    with pytest.raises(SystemExit):
        pcscd.main(["--port", "70000"])
    assert "argument --port: a port is a whole number from 1 to 65535" in capsys.readouterr().err


def test_the_argument_types_take_what_is_in_range():
    assert (argtypes.port("1"), argtypes.port("65535")) == (1, 65535)
    assert argtypes.seconds(zero=True)("0") == 0.0
    assert argtypes.seconds(zero=False)("0.5") == 0.5


def test_demo_refuses_a_port_out_of_range_before_anything_runs(settings, monkeypatch, tmp_path):
    settings.DEMO = True
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError, match="argument --port: a port is a whole number from 1"):
        call_command("demo", "--port", "99999")
    monkeypatch.setenv("MADOGUCHI_PORT", "abc")
    with pytest.raises(CommandError, match=r"^MADOGUCHI_PORT: a port is a whole number from 1 to"):
        call_command("demo")
    assert list(tmp_path.iterdir()) == []  # nothing seeded, nothing written


@pytest.mark.parametrize("zone", ["Etc/GMT+12", "Etc/GMT-14"])
def test_vcard_issue_reads_today_on_japans_calendar(monkeypatch, zone):
    """On a machine whose clock is in UTC-12 or UTC+14, Japan's today is accepted and Japan's
    tomorrow refused: at every hour one of the two zones is on another day than Japan (before,
    the machine's date decided: a card for a child born today in Japan was refused on one,
    tomorrow's accepted on the other)."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        today = datetime.now(ZoneInfo("Asia/Tokyo")).date()
        parser = argparse.ArgumentParser()
        cli.add_vcard_arguments(parser)
        assert parser.parse_args(issue(birth=today.isoformat())).birth == today
        tomorrow = (today + timedelta(days=1)).isoformat()
        assert "is after today" in refusal(issue(birth=tomorrow))
    finally:
        monkeypatch.undo()
        time.tzset()
