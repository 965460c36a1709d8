"""A setting's value is checked where it is read: a wrong one is refused, naming the variable.

django-environ read any word but its few "true" words as off, so SECURE_COOKIES=maybe turned the
secure cookies off, and IDENTITY_REJECT_UNKNOWN_REVOCATION=ture took cards no fresh CRL could
answer for; a negative time limit, an origin without its scheme (which refused every card, its
tokens being signed over the browser's origin) or a log level that is no level started anyway,
or stopped with a traceback.
"""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from madoguchi.settings import _Env
from tests.test_commands_for_people import run


@pytest.fixture
def env(monkeypatch):
    reader = _Env()

    def set_(name, value):
        monkeypatch.setenv(name, value)
        return reader

    return set_


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("on", True),
        ("TRUE", True),
        (" yes ", True),
        ("0", False),
        ("Off", False),
        ("false", False),
        ("no", False),
        ("", False),
    ],
)
def test_a_switch_reads_the_documented_words(env, value, expected):
    assert env("SECURE_COOKIES", value).bool("SECURE_COOKIES", default=not expected) is expected


@pytest.mark.parametrize("value", ["maybe", "ture", "enabled", "2", "-1"])
def test_a_switch_that_is_neither_on_nor_off_is_refused(env, value):
    with pytest.raises(ImproperlyConfigured) as refused:
        env("IDENTITY_REJECT_UNKNOWN_REVOCATION", value).bool(
            "IDENTITY_REJECT_UNKNOWN_REVOCATION", default=True
        )
    assert str(refused.value) == (
        f"The environment variable IDENTITY_REJECT_UNKNOWN_REVOCATION is not valid ({value!r}: "
        "give 1 or 0, on or off, true or false, yes or no); see the README's configuration table."
    )


def test_an_unset_switch_keeps_its_default(env, monkeypatch):
    monkeypatch.delenv("SECURE_COOKIES", raising=False)
    assert _Env().bool("SECURE_COOKIES", default=True) is True


@pytest.mark.parametrize(
    ("value", "minimum", "maximum", "said"),
    [
        ("-5", 1, None, "of at least 1"),
        ("0", 1, None, "of at least 1"),
        ("-1", 0, None, "of at least 0"),
        ("70000", 1, 65535, "from 1 to 65535"),
    ],
)
def test_a_number_out_of_its_range_is_refused(env, value, minimum, maximum, said):
    with pytest.raises(ImproperlyConfigured, match=f"give a whole number {said}"):
        env("VISIT_INACTIVITY_SECONDS", value).int(
            "VISIT_INACTIVITY_SECONDS", default=300, minimum=minimum, maximum=maximum
        )


def test_a_number_in_its_range_is_read(env):
    assert env("EMAIL_PORT", "587").int("EMAIL_PORT", default=25, minimum=1, maximum=65535) == 587
    assert env("CONN_MAX_AGE", "0").int("CONN_MAX_AGE", default=300, minimum=0) == 0


@pytest.mark.parametrize("value", ["0", "-2.5"])
def test_a_time_that_must_pass_is_more_than_nothing(env, value):
    with pytest.raises(ImproperlyConfigured, match="give a number above 0"):
        env("OUTSIDE_READ_TIMEOUT", value).float("OUTSIDE_READ_TIMEOUT", default=5.0, above=0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://madoguchi.example.jp", "https://madoguchi.example.jp"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("HTTPS://Desk.Example.JP:8443", "https://desk.example.jp:8443"),
        ("", ""),
    ],
)
def test_an_origin_is_read_as_a_browser_writes_it(env, value, expected):
    assert env("MADOGUCHI_ORIGIN", value).origin("MADOGUCHI_ORIGIN", default="x") == expected


@pytest.mark.parametrize(
    "value",
    [
        "127.0.0.1:8000",
        "madoguchi.example.jp",
        "https://x.example.jp/desk",
        "ftp://x.example.jp",
        "http://h:port",
        "https://user@x.example.jp",
        "https://x.example.jp/?a=1",
        "https://",
    ],
)
def test_a_value_that_is_no_origin_is_refused(env, value):
    with pytest.raises(ImproperlyConfigured) as refused:
        env("RESIDENT_ORIGIN", value).origin("RESIDENT_ORIGIN", default="")
    assert str(refused.value).startswith(
        f"The environment variable RESIDENT_ORIGIN is not valid ({value!r}: give an origin"
    )


def test_the_agents_of_several_terminals_are_name_origin_pairs(env):
    reader = env(
        "CARD_AGENT_ORIGINS", "desk-01=http://127.0.0.1:47110, desk-02=http://127.0.0.1:47111/"
    )
    assert reader.origins_by_name("CARD_AGENT_ORIGINS") == {
        "desk-01": "http://127.0.0.1:47110",
        "desk-02": "http://127.0.0.1:47111",
    }
    for wrong, said in [("desk-01", "give NAME=ORIGIN pairs"), ("desk-01=47110", "give an origin")]:
        with pytest.raises(ImproperlyConfigured, match=said):
            env("CARD_AGENT_ORIGINS", wrong).origins_by_name("CARD_AGENT_ORIGINS")


def test_a_log_level_is_a_level(env):
    assert env("LOG_LEVEL", "warning").log_level("LOG_LEVEL", default="INFO") == "WARNING"
    with pytest.raises(ImproperlyConfigured, match="give DEBUG, INFO, WARNING, ERROR or CRITICAL"):
        env("LOG_LEVEL", "LOUD").log_level("LOG_LEVEL", default="INFO")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_COOKIES", "maybe"),
        ("MADOGUCHI_ORIGIN", "127.0.0.1:8000"),
        ("LOG_LEVEL", "LOUD"),
        ("VISIT_INACTIVITY_SECONDS", "-5"),
    ],
)
def test_the_command_refuses_it_in_one_line(tmp_path, name, value):
    """As the README's configuration section says: one line saying what to set, no traceback."""
    done = run(tmp_path, "check", SECRET_KEY="x" * 50, **{name: value})
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        f"madoguchi: configuration error: The environment variable {name} is not valid"
    )


@pytest.mark.parametrize(
    ("name", "value", "bound"),
    [
        # Issue 4: "Nonces: 256 bits, single use, at most 5 minutes". 3600 was taken, and
        # every desk challenge lived an hour (a signed token for it replayable that long).
        ("NONCE_LIFETIME_SECONDS", "3600", "from 1 to 300"),
        ("NONCE_LIFETIME_SECONDS", "301", "from 1 to 300"),
        # A card's absence is noticed within a few seconds: an hour's window was taken.
        ("VISIT_PRESENCE_TIMEOUT_SECONDS", "61", "from 1 to 60"),
        ("VISIT_HANDOVER_SECONDS", "601", "from 1 to 600"),
    ],
)
def test_a_limit_the_issue_bounds_is_refused_above_it(name, value, bound):
    """Read where the settings are read, as the server reads them: refused, naming the
    variable and its bounds; the bound itself is taken."""

    def read(given):
        code = f"import madoguchi.settings as s; print(s.{name})"
        environment = {**os.environ, name: given, "DJANGO_SETTINGS_MODULE": "madoguchi.settings"}
        return subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True
        )

    done = read(value)
    assert done.returncode != 0, done.stdout
    assert (
        f"The environment variable {name} is not valid ({value!r}: give a whole number {bound})"
        in done.stderr
    )
    highest = bound.rsplit(" ", 1)[1]
    taken = read(highest)
    assert taken.returncode == 0, taken.stderr
    assert taken.stdout.strip() == highest
