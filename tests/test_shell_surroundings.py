"""The shell's commands in odd surroundings, each one line and no traceback: a database not yet
migrated (a ProgrammingError traceback on PostgreSQL, on SQLite a line sending the operator to
check the server), a file that is not a database, an argument that is not UTF-8 text (a
Shift_JIS terminal), Ctrl-C at a prompt or mid-way, two `madoguchi migrate` at once.

Each runs `python -m madoguchi` in a subprocess, as an operator's shell would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

ENV = {"SECRET_KEY": "test-only-not-a-secret", "SECURE_COOKIES": "0", "PYTHONUNBUFFERED": "1"}
PASSWORD = "a-brand-new-passphrase-9"


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {**os.environ, **ENV, "DATABASE_URL": url, "MADOGUCHI_DATA_DIR": str(tmp_path / "data")}


def madoguchi(
    tmp_path: Path, url: str, *args: str | bytes, stdin: str = "", timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "madoguchi", *args],
        env=_env(tmp_path, url),
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _default_sigint() -> None:
    # A test runner started in the background may ignore SIGINT, and its children with it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def started(tmp_path: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    """The command running, in a session of its own (no terminal: getpass reads standard
    input, a pipe held open), ready for its Ctrl-C."""
    return subprocess.Popen(
        [sys.executable, "-m", "madoguchi", *args],
        env=_env(tmp_path, url),
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def _read_until(stream, words: bytes, proc: subprocess.Popen[bytes]) -> bytes:
    """What `stream` said up to `words` (bounded: the command ending first fails)."""
    seen = b""
    deadline = time.monotonic() + 120
    while words not in seen:
        assert time.monotonic() < deadline, seen
        chunk = os.read(stream.fileno(), 4096)
        assert chunk, (seen, proc.wait(), proc.stderr.read())
        seen += chunk
    return seen


def _interrupted(proc: subprocess.Popen[bytes], said: bytes = b"") -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    return proc.returncode, (said + err).decode()


def _sqlite(tmp_path: Path, name: str = "db.sqlite3") -> str:
    return f"sqlite:///{tmp_path / name}"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A SQLite database migrated once for the module, with a city and its operator."""
    where = tmp_path_factory.mktemp("migrated")
    url = _sqlite(where)
    for args, stdin in (
        (("migrate", "-v0"), ""),
        (("organisation", "add", "City", "--kind", "city"), ""),
        (
            (
                "staff",
                "add",
                "op1",
                "--role",
                "operator",
                "--organisation",
                "City",
                "--password-stdin",
            ),
            PASSWORD + "\n",
        ),
    ):
        done = madoguchi(where, url, *args, stdin=stdin)
        assert done.returncode == 0, done.stderr
    return where / "db.sqlite3"


@pytest.fixture
def migrated_copy(migrated: Path, tmp_path: Path) -> str:
    shutil.copy(migrated, tmp_path / "db.sqlite3")
    return _sqlite(tmp_path)


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A database made on the test run's PostgreSQL server and never migrated."""
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("PostgreSQL's error (SQLite's is tested beside)")
    server = {
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "user": db["USER"] or None,
        "password": db["PASSWORD"] or None,
    }
    name = (
        f"test_cli_{uuid.uuid4().hex[:8]}_{os.getpid()}"  # tests/leftovers.py drops a killed run's
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    yield f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


NOT_MIGRATED = (
    "the database is not migrated: run `madoguchi migrate` (it creates madoguchi's tables, or "
    "adds what this release needs)"
)
NOT_MIGRATED_LINE = f"madoguchi: {NOT_MIGRATED}.\n"


@pytest.mark.parametrize(
    "args", [("staff", "list"), ("audit", "verify"), ("checklist", "install-default")]
)
def test_a_database_not_yet_migrated_is_one_line_naming_migrate(tmp_path, empty_postgres, args):
    """It was a ProgrammingError traceback ("relation accounts_user does not exist")."""
    done = madoguchi(tmp_path, empty_postgres, *args)
    assert "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.returncode == 1
    assert done.stderr == NOT_MIGRATED_LINE
    assert "run `madoguchi migrate`" in done.stderr


@pytest.mark.parametrize(
    "args", [("staff", "list"), ("organisation", "list"), ("terminal", "list"), ("audit", "verify")]
)
def test_on_sqlite_a_database_not_yet_migrated_is_named_so_and_a_list_prints_no_header(
    tmp_path, args
):
    """On SQLite it was "database error: no such table: accounts_user (check that the database
    in DATABASE_URL is running and reachable)", the wrong thing to check; and a list printed its
    header before failing."""
    done = madoguchi(tmp_path, _sqlite(tmp_path), *args)
    assert done.returncode == 1
    assert done.stderr == NOT_MIGRATED_LINE
    assert done.stdout == ""


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    (tmp_path / "notes.sqlite3").write_text("not a database, some notes\n" * 100)
    done = madoguchi(tmp_path, _sqlite(tmp_path, "notes.sqlite3"), "staff", "list")
    assert "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.returncode == 1
    assert done.stderr == (
        "madoguchi: database error: file is not a database (check that DATABASE_URL names "
        "madoguchi's database)\n"
    )


def test_serve_refuses_to_start_on_a_database_not_migrated(tmp_path):
    """It started: every page a server error, the sweeper's database error every minute."""
    bind = f"unix:{tmp_path / 'serve.sock'}"
    done = madoguchi(tmp_path, _sqlite(tmp_path), "serve", "--bind", bind, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("The database is not migrated: run `madoguchi migrate` first")
    assert done.stderr.endswith("The server was not started.\n")


def test_the_sweepers_line_says_the_database_is_not_migrated(tmp_path):
    """Its line a try said "database error: no such table: terminals_…"."""
    proc = started(tmp_path, _sqlite(tmp_path), "sweep", "--every", "1")
    try:
        said = _read_until(proc.stderr, b"retrying in", proc)
    finally:
        code, err = _interrupted(proc)
    assert said.decode().startswith(f"sweep: {NOT_MIGRATED}; retrying in 1 s"), said
    assert "Traceback" not in err, err
    assert code == 0  # SIGINT stops the loop on purpose


SJIS = "あい".encode("shift_jis")  # a name typed in a Shift_JIS terminal


@pytest.mark.parametrize(
    "args",
    [
        ("organisation", "add", SJIS, "--kind", "city"),
        ("staff", "add", SJIS, "--role", "desk_staff", "--organisation", "City"),
        ("terminal", "register", SJIS, "--location", "1F", "--contractor", "City"),
    ],
    ids=["organisation", "staff", "terminal"],
)
def test_an_argument_that_is_not_utf8_is_one_line(tmp_path, migrated_copy, args):
    """It was a UnicodeEncodeError traceback from the first write of the name."""
    done = madoguchi(tmp_path, migrated_copy, *args)
    assert "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.returncode == 2
    assert done.stderr == (
        "madoguchi: argument 3 is not UTF-8 text (its bytes: \\x82\\xa0\\x82\\xa2; the first "
        "not UTF-8 is byte 1): set the terminal to UTF-8 (LANG=ja_JP.UTF-8, say) and type it "
        "again. Nothing was run.\n"
    )


def test_a_long_argument_that_is_not_utf8_shows_the_bytes_that_are_not(tmp_path, migrated_copy):
    """The bytes were shown cut at 40 characters: in a long name the wrong ones were cut off."""
    name = "/tmp/まだない/フォルダ/".encode() + SJIS + b"/ca.pem"
    done = madoguchi(tmp_path, migrated_copy, "identity", "add-anchor", name, "--name", "X")
    assert done.returncode == 2
    assert done.stderr.startswith("madoguchi: argument 3 is not UTF-8 text (its bytes: …"), (
        done.stderr
    )
    assert "\\x82\\xa0\\x82\\xa2/ca.pem; the first not UTF-8 is byte 32)" in done.stderr


def test_a_file_name_that_is_not_utf8_is_read(pki, tmp_path, migrated_copy):
    """A file's name from a Windows share may be Shift_JIS: Linux opens it by its bytes, and
    `identity add-anchor` read it before every argument not UTF-8 was refused ("set the
    terminal to UTF-8", which cannot rename the file)."""
    name = os.fsencode(tmp_path) + b"/" + "テスト.pem".encode("shift_jis")
    with open(name, "wb") as out:
        out.write(pki.ca.certificates_pem())
    done = madoguchi(tmp_path, migrated_copy, "identity", "add-anchor", name, "--name", "Test")
    assert "not UTF-8 text" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("args", "outcome"),
    [
        (
            ("staff", "add", "r2", "--role", "desk_staff", "--organisation", "City"),
            "nobody was added",
        ),
        (("staff", "password", "op1", "--by", "op1"), "nothing was changed"),
    ],
    ids=["add", "password"],
)
def test_ctrl_c_at_the_password_prompt_is_one_line_saying_nothing_changed(
    tmp_path, migrated_copy, args, outcome
):
    proc = started(tmp_path, migrated_copy, *args)
    said = _read_until(proc.stderr, b"Password: ", proc)
    code, err = _interrupted(proc, said)
    assert "Traceback" not in err, err
    assert code == 130
    assert err.endswith(f"madoguchi: interrupted: {outcome}.\n"), err
    listed = madoguchi(tmp_path, migrated_copy, "staff", "list")
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["username", "op1"]


def test_ctrl_c_during_migrate_is_one_line_saying_what_stays(tmp_path):
    proc = started(tmp_path, _sqlite(tmp_path), "migrate")
    _read_until(proc.stdout, b"Applying ", proc)
    code, err = _interrupted(proc)
    assert "Traceback" not in err, err
    assert code == 130
    assert err == (
        "madoguchi: interrupted: the migrations applied before it stay applied; `madoguchi "
        "migrate --plan` shows what is left.\n"
    )
    done = madoguchi(tmp_path, _sqlite(tmp_path), "migrate", "-v0")  # goes on from there
    assert (done.returncode, done.stderr) == (0, "")


def test_ctrl_c_during_scan_generate_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "data"
    proc = started(tmp_path, _sqlite(tmp_path), "scan", "generate", "--links", "5000000", str(out))
    deadline = time.monotonic() + 120
    while not (out.is_dir() and any(out.iterdir())):  # the first block is being written
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    code, err = _interrupted(proc)
    assert "Traceback" not in err, err
    assert code == 130
    assert err == "madoguchi: interrupted.\n"
    assert not out.exists()  # the partial files removed, and the directory it made


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_two_migrates_at_once_take_turns(tmp_path, request, vendor):
    """The second ended in a traceback: MigrationSchemaMissing or an IntegrityError on
    PostgreSQL, "table axes_accessattempt already exists" on SQLite."""
    url = _sqlite(tmp_path) if vendor == "sqlite" else request.getfixturevalue("empty_postgres")
    results: list[subprocess.CompletedProcess[str]] = []
    both = [
        threading.Thread(target=lambda: results.append(madoguchi(tmp_path, url, "migrate", "-v0")))
        for _ in range(2)
    ]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-800:] for r in results]
    said = "".join(r.stderr for r in results)
    assert "Traceback" not in said
    assert said in (
        "",  # the first was done before the second began
        "Another `madoguchi migrate` is running on this database: waiting for it to finish, "
        "then doing what is left.\n",
    )
