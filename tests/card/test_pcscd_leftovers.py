"""What an earlier, killed test run left of the shared pcscd (its state file, its pcscd) never
breaks the next run, and a pid it recorded that now belongs to another process is never
signalled. pcscd itself is not started here (only one can run on a machine): the harness's
start is replaced by a stub."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from madoguchi.card import pcscd as pcscd_module
from madoguchi.card.pcscd import PcscdHarness, harness_pcscds, is_harness_pcscd, shared_pcscd


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "120"])
    yield process
    process.kill()
    process.wait(10)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace the harness's start: record it, start nothing."""
    calls: list[int] = []

    def start(self: PcscdHarness, timeout: float = 15.0) -> None:
        calls.append(self.base_port)

    monkeypatch.setattr(PcscdHarness, "start", start)
    return calls


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait(10)
    return process.pid


def test_a_recorded_pid_now_held_by_another_process_is_left_alone(
    tmp_path: Path, sleeper: subprocess.Popen[bytes], started: list[int]
) -> None:
    (tmp_path / "state.json").write_text(
        json.dumps({"pid": sleeper.pid, "base_port": 29990, "users": [_dead_pid()]})
    )
    with shared_pcscd(root=tmp_path, base_port=29990):
        pass
    assert started == [29990]
    assert sleeper.poll() is None, "the earlier run's pid, now another process, was signalled"
    assert not is_harness_pcscd(sleeper.pid, tmp_path / "pcscd" / "reader.conf.d")


def test_a_pcscd_left_by_a_killed_run_is_stopped_before_the_next_starts(
    tmp_path: Path,
    sleeper: subprocess.Popen[bytes],
    started: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The killed run's pcscd (here a stand-in with its command line) is not in the state file:
    the run was killed before it wrote it, or the file was removed."""
    config_dir = tmp_path / "pcscd" / "reader.conf.d"
    real = pcscd_module._cmdline
    monkeypatch.setattr(
        pcscd_module,
        "_cmdline",
        lambda pid: ["pcscd", "-f", "-c", str(config_dir)] if pid == sleeper.pid else real(pid),
    )
    assert harness_pcscds(config_dir) == [sleeper.pid]
    assert harness_pcscds(tmp_path / "elsewhere") == []
    with shared_pcscd(root=tmp_path, base_port=29990):
        assert sleeper.wait(15) is not None
    assert started == [29990]
    assert not (tmp_path / "state.json").exists()
