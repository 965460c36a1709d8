"""Probe E: acceptance of issue 4's sentences that the settings can break."""

import os
import subprocess
import sys


def test_a_card_challenge_cannot_be_configured_to_live_longer_than_five_minutes():
    """Issue 4: "Nonces: 256 bits, single use, at most 5 minutes". NONCE_LIFETIME_SECONDS has a
    minimum but no maximum: 3600 is taken, and every desk challenge then lives an hour (a
    signed token for it replayable that long). It should be refused where it is read."""
    env = {**os.environ, "NONCE_LIFETIME_SECONDS": "3600", "DJANGO_SETTINGS_MODULE": "madoguchi.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import madoguchi.settings as s; print(s.NONCE_LIFETIME_SECONDS)"],
        env=env, capture_output=True, text=True, check=False,
    )
    assert done.returncode != 0, done.stdout
    assert "NONCE_LIFETIME_SECONDS" in done.stderr
