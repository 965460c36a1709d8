"""tests/hang_bound.py: a test that runs past the bound ends the run with every thread's stack."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SLEEPER = textwrap.dedent(
    """
    import threading
    import time


    def test_waits_for_what_never_comes():
        threading.Thread(target=time.sleep, args=(60,), name="helper", daemon=True).start()
        time.sleep(60)
    """
)


def _run(tmp_path: Path, ini_seconds: str, env_seconds: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "pytest.ini").write_text(f"[pytest]\ntest_hang_timeout = {ini_seconds}\n")
    (tmp_path / "test_sleeper.py").write_text(SLEEPER)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    if env_seconds is not None:
        env["TEST_HANG_TIMEOUT"] = env_seconds
    plugins = [
        "-p",
        "tests.hang_bound",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:django",
        "-p",
        "no:xdist",
    ]
    ini = str(tmp_path / "pytest.ini")
    return subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-c", ini, str(tmp_path / "test_sleeper.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
    )


def _assert_dumped_and_failed(run: subprocess.CompletedProcess) -> None:
    assert run.returncode != 0, run.stdout
    assert "passed" not in run.stdout
    # Every thread's stack: the test's own and the thread it started.
    assert "Timeout (0:00:01)!" in run.stderr, run.stderr
    assert "in test_waits_for_what_never_comes" in run.stderr, run.stderr
    assert run.stderr.count("Thread 0x") >= 2, run.stderr


def test_a_test_past_the_ini_bound_ends_with_every_threads_stack(tmp_path):
    _assert_dumped_and_failed(_run(tmp_path, ini_seconds="1", env_seconds=None))


def test_the_environment_bound_wins_over_the_ini_option(tmp_path):
    _assert_dumped_and_failed(_run(tmp_path, ini_seconds="600", env_seconds="1"))
