"""The outbox worker's lease outlasts what one claim can take (side doors, round 22).

Nothing compared OUTSIDE_LEASE_SECONDS with the outside client's timeouts: OUTSIDE_READ_TIMEOUT=60
started, a claim could wait for the insurer longer than its 120 s lease, and a second worker
sent the same call under the same key while the first still waited. Now the settings refuse it
at start, in one line naming the variables, as every other bound is refused."""

import os
import subprocess
import sys

import pytest

from madoguchi.outside import ClientConfig
from madoguchi.settings import OUTSIDE_REQUESTS_PER_CLAIM, outside_claim_seconds
from tests.test_commands_for_people import run


def _settings(**given):
    code = (
        "import madoguchi.settings as s; "
        "print(s.OUTSIDE_WORKER['lease_seconds'], s.BENEFITS_OUTSIDE['read_timeout'])"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "madoguchi.settings", **given}
    for name in ("OUTSIDE_LEASE_SECONDS", "OUTSIDE_READ_TIMEOUT", "OUTSIDE_CONNECT_TIMEOUT"):
        if name not in given:
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True
    )


def test_a_read_timeout_the_lease_cannot_cover_is_refused_in_one_line(tmp_path):
    done = run(tmp_path, "check", SECRET_KEY="x" * 50, OUTSIDE_READ_TIMEOUT="60")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(
        "madoguchi: configuration error: The environment variable OUTSIDE_LEASE_SECONDS is not "
        "valid (120.0: give more than 559.8 seconds, the longest the outbox worker can hold one "
        "call with OUTSIDE_CONNECT_TIMEOUT 2, OUTSIDE_READ_TIMEOUT 60 and OUTSIDE_ATTEMPTS 3"
    ), done.stderr


def test_a_lease_too_short_for_the_defaults_is_refused_and_a_long_enough_one_taken():
    short = _settings(OUTSIDE_LEASE_SECONDS="60")
    assert short.returncode != 0
    assert "OUTSIDE_LEASE_SECONDS is not valid ('60': give more than 64.8 seconds" in short.stderr
    longer = _settings(OUTSIDE_READ_TIMEOUT="60", OUTSIDE_LEASE_SECONDS="600")
    assert longer.returncode == 0, longer.stderr
    assert longer.stdout.split() == ["600.0", "60.0"]
    # A shorter connect timeout leaves room: 3 x (2 x (0.5 + 1) + 0.2) = 9.6 s.
    quick = _settings(
        OUTSIDE_CONNECT_TIMEOUT="0.5",
        OUTSIDE_READ_TIMEOUT="1",
        OUTSIDE_ATTEMPTS="2",
        OUTSIDE_LEASE_SECONDS="10",
    )
    assert quick.returncode == 0, quick.stderr


@pytest.mark.parametrize("connect", [0.5, 2.0, 3.25])
@pytest.mark.parametrize("read", [1.0, 5.0, 60.0])
@pytest.mark.parametrize("attempts", [1, 2, 3, 4, 7])
def test_the_settings_sum_is_the_clients_own(connect, read, attempts):
    """The settings add the client's budget without importing it (httpx in every command)."""
    config = ClientConfig(connect_timeout=connect, read_timeout=read, attempts=attempts)
    assert outside_claim_seconds(connect, read, attempts) == pytest.approx(
        OUTSIDE_REQUESTS_PER_CLAIM * config.call_seconds()
    )
