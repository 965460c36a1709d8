"""The card agent's log holds no long number a request carried (docs/security.md, round 8)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import httpx

from .conftest import CREDENTIAL

_RUN = re.compile(r"\d(?:[\s\-‐－ー−]?\d){11,}")
_FULL_WIDTH = "１２３４５６７８９０１２"


def test_the_agent_logs_no_long_number_over_http(card_files: dict[str, Path], tmp_path: Path):
    """`madoguchi agent` as its own process, its server unreachable: requests carrying a
    12-digit value in the path, query, Referer, User-Agent and body leave none in its log."""
    log = tmp_path / "agent.log"
    env = {**os.environ, "MADOGUCHI_TERMINAL_CREDENTIAL": CREDENTIAL}
    argv = [sys.executable, "-m", "madoguchi", "agent", "--server", "http://127.0.0.1:9"]
    argv += ["--listen", "127.0.0.1:0", "--virtual", str(card_files["alice"])]
    with log.open("wb") as err:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        base = line.split("listening on ")[1].split()[0]
        headers = {
            "Referer": "http://127.0.0.1:8000/cases/123456789012/?reason=x",
            "User-Agent": f"probe ({_FULL_WIDTH})".encode(),
            "Origin": "http://127.0.0.1:8000",
        }
        with httpx.Client(timeout=30) as client:
            statuses = [
                client.get(f"{base}/status", params={"n": "123456789012"}, headers=headers),
                client.get(f"{base}/requests/123456789012", headers=headers),
                client.post(f"{base}/requests", json={"pin": "123456789012"}, headers=headers),
                client.post(f"{base}/tray/insert", json={"card": "alice"}),  # logged
            ]
        assert all(r.status_code < 500 for r in statuses)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text("utf-8")
    assert "card inserted" in text  # the log was written
    read = text.encode("ascii", "backslashreplace").decode("unicode_escape")
    assert not _RUN.findall(unicodedata.normalize("NFKC", text))
    assert not _RUN.findall(unicodedata.normalize("NFKC", read))
