"""scripts/bootstrap.sh on a machine without uv, whose Python refuses pip installs outside a
virtual environment, as Debian's does (PEP 668). Stub commands stand in for dpkg, Python and
uv; the script itself runs as written, in a copy of the project's layout."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Debian's python3.11: `-m pip install` outside a virtual environment is refused; `-m venv DIR`
# makes an environment whose python may install (here: a stub uv, logging what it is asked).
PYTHON = """#!/bin/sh
echo "python $*" >> "$LOG"
if [ "$1" = -m ] && [ "$2" = pip ]; then
  echo "error: externally-managed-environment" >&2; exit 1
fi
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin"
  cat > "$3/bin/python" <<'PY'
#!/bin/sh
echo "venv-python $*" >> "$LOG"
dir=$(dirname "$0")
printf '#!/bin/sh\\necho "uv $*" >> "$LOG"\\n[ "$1" = venv ] && mkdir -p .venv/bin && ln -sf "$(command -v true)" .venv/bin/python\\nexit 0\\n' > "$dir/uv"
chmod +x "$dir/uv"
PY
  chmod +x "$3/bin/python"
  exit 0
fi
exit 0
"""
DPKG_QUERY = """#!/bin/sh
printf 'install ok installed'
"""


def _stub(directory: Path, name: str, text: str) -> None:
    path = directory / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def test_bootstrap_installs_uv_into_a_virtual_environment_of_its_own(tmp_path):
    """On a fresh Debian machine the bootstrap ran `python3.11 -m pip install uv`, which Debian's
    Python refuses (externally managed), so `make demo` stopped before it had installed
    anything: only machines with uv already on the PATH got past it."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", project / "scripts" / "bootstrap.sh")
    (project / "requirements").mkdir()
    (project / "requirements" / "dev.txt").write_text("")
    (project / "pyproject.toml").write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _stub(bin_dir, "python3.11", PYTHON)
    _stub(bin_dir, "dpkg-query", DPKG_QUERY)
    for tool in (
        "sh",
        "bash",
        "grep",
        "mkdir",
        "cat",
        "chmod",
        "dirname",
        "ln",
        "touch",
        "true",
        "id",
    ):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    log = tmp_path / "log"
    env = {"PATH": str(bin_dir), "LOG": str(log), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", "scripts/bootstrap.sh"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    assert result.returncode == 0, (result.stdout, result.stderr, calls)
    assert "python -m venv .uv" in calls
    assert "venv-python -m pip install -q uv" in calls
    # uv, from .uv, made the project's environment and synced it.
    assert any(c.startswith("uv venv -q .venv") for c in calls), calls
    assert any(c.startswith("uv pip sync") for c in calls), calls
    # A second run finds .uv's uv and installs nothing again.
    log.unlink()
    again = subprocess.run(
        ["bash", "scripts/bootstrap.sh"], cwd=project, env=env, capture_output=True, timeout=60
    )
    assert again.returncode == 0
    assert not any("venv" in c.split()[0] for c in log.read_text().splitlines() if c)
    assert os.access(project / ".uv" / "bin" / "uv", os.X_OK)


def test_the_tests_server_is_not_one_that_asks_a_password(tmp_path):
    """scripts/postgres.sh took any server answering on 127.0.0.1:5432 for the tests' own. On a
    fresh Debian machine that is the cluster the postgresql package starts, which asks a
    password over TCP: every database test failed to connect. It now starts its throwaway
    server instead, saying why."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "postgres.sh", project / "scripts" / "postgres.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    # A server answers on 5432 but refuses user postgres without a password; nothing answers
    # on the throwaway port until pg_ctl has started it.
    _stub(bin_dir, "pg_isready", '#!/bin/sh\ncase "$*" in *"-p 5432"*) exit 0;; esac\nexit 2\n')
    _stub(bin_dir, "psql", '#!/bin/sh\necho "psql $*" >> "$LOG"\nexit 2\n')
    _stub(bin_dir, "initdb", '#!/bin/sh\necho "initdb $*" >> "$LOG"\n')
    _stub(bin_dir, "pg_ctl", '#!/bin/sh\necho "pg_ctl $*" >> "$LOG"\n')
    _stub(bin_dir, "id", "#!/bin/sh\necho 1000\n")
    for tool in ("bash", "dirname", "mkdir", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    result = subprocess.run(
        ["bash", "scripts/postgres.sh"],
        cwd=project,
        env={"PATH": str(bin_dir), "LOG": str(log), "PG_BINDIR": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "postgres://postgres@127.0.0.1:25432/madoguchi"
    assert "asks user postgres for a password" in result.stderr
    assert any(line.startswith("pg_ctl ") for line in log.read_text().splitlines())
