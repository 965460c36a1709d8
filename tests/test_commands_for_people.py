"""Commands for people run with no configuration; a configuration error is one line.

Each runs the installed `madoguchi` script in a subprocess with an empty environment (only
PATH and a scratch HOME), as a newcomer following the README would.
"""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

MADOGUCHI = str(Path(sys.executable).with_name("madoguchi"))


def run(tmp_path, *args, **env):
    # PYTHONPATH passes on, for a checkout tried with another checkout's virtual environment.
    paths = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **paths, **env}
    return subprocess.run(
        [MADOGUCHI, *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_namecheck_runs_with_no_configuration(tmp_path):
    done = run(tmp_path, "namecheck", "ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("match")
    assert not (tmp_path / "var").exists()  # nothing written: no key file, no database


@pytest.mark.parametrize(
    "args",
    [
        ("vcard", "--help"),
        ("card", "--help"),
        ("sim", "accounts"),
        ("agent", "--help"),
        ("bench", "--help"),
    ],
)
def test_commands_for_people_need_no_configuration(tmp_path, args):
    done = run(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "SECRET_KEY" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("help",),
        ("--help",),
        ("help", "audit"),
        ("audit", "--help"),
        ("scan", "open-cases", "-h"),
    ],
)
def test_help_needs_no_configuration(tmp_path, args):
    """The README's `madoguchi --help` (and any command's help) as a newcomer types it."""
    done = run(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "SECRET_KEY" not in done.stderr
    assert "usage: madoguchi" in done.stdout or "Available subcommands" in done.stdout
    assert not (tmp_path / "var").exists()  # nothing written: no key file, no database


def test_a_missing_secret_is_one_line_saying_what_to_set(tmp_path):
    done = run(tmp_path, "check")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("madoguchi: configuration error: Set SECRET_KEY")
    assert "Traceback" not in done.stderr


def test_a_malformed_setting_is_one_line_naming_it(tmp_path):
    done = run(tmp_path, "check", SECRET_KEY="x" * 50, VISIT_ABSOLUTE_SECONDS="soon")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "VISIT_ABSOLUTE_SECONDS is not valid" in done.stderr


@pytest.mark.parametrize(
    "url", ["bogus://x", "postgres://x", "mysql://u@h/db", "nonsense", "pgsql"]
)
def test_a_malformed_database_url_is_one_line_naming_it(tmp_path, url):
    """It was Django's traceback from loading a database backend; with no scheme at all
    (`nonsense`, `pgsql`), KeyError's for 'ENGINE' after django-environ's warning."""
    done = run(tmp_path, "migrate", SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("madoguchi: configuration error: DATABASE_URL is not valid")


def test_a_database_nobody_answers_is_one_line_not_a_traceback(tmp_path):
    url = "postgres://postgres@127.0.0.1:1/madoguchi"  # port 1: nothing listens there
    done = run(tmp_path, "migrate", SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("madoguchi: database error: ")
    assert "DATABASE_URL" in done.stderr


@pytest.mark.parametrize("bench", ["completion", "audit"])
def test_a_bench_without_postgresql_is_one_line_saying_what_to_set(tmp_path, bench):
    """`madoguchi bench completion` / `bench audit` as a newcomer types them (no DATABASE_URL:
    SQLite) or pointing at a server nobody answers: one line, not a traceback or Django's
    warning about the maintenance database."""
    done = run(tmp_path, "bench", bench, "--desks", "1", "--seconds", "1")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"bench {bench} needs PostgreSQL (DATABASE_URL is sqlite)")
    assert "set DATABASE_URL=postgres://" in done.stderr
    url = "postgres://postgres@127.0.0.1:1/madoguchi"  # port 1: nothing listens there
    done = run(tmp_path, "bench", bench, "--desks", "1", DATABASE_URL=url)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("madoguchi: database error: ")


# A proof and the signed checkpoint of its tree, as `audit prove --seq 100` and `audit checkpoint`
# wrote them on a demo's log, and that log's verifier key (`audit pubkey`): what an auditor holds.
PROOF = """\
tree size 247, root 8239e4a66801bed4026f139020c8c8bb8c340feb71189fe3c69e51862f22bda8
signed checkpoint 2 for this size matches the root
inclusion of event #100: leaf index 99, leaf be3b0217ac4db42f87791f88e6aa99f6d573a05a4a35020cc958f33f1ea55b9b
proof (8 hashes, verified):
  cf675bb052fe23a4ff17e0ed23fcbf01cc8fbe16597290ca52c93084465befe3
  99d7a6237939f0850fe9cbad2fd12823a2710ec682cfc5fdf43f8571ee24dbdc
  c243d798750f6859fc9be4bbdb328de6f244df20843f95d23af82f2c453d2665
  dfe369942b48002f0617bbe1b42f34d379400fa81bd7ee2fff8f80dd25dbe809
  c971d9dcfd2689fafbd13c6ea4a10f2b1e088afa05b3bcbd372a7c317c40a3e1
  9ada6db9daa6085e0c5c3c2fd00bf604588fef69c096ae9abaf09fe985295c24
  8c43af6e7134ab5b4920d6f12c022385f852d7498958a8ef9c2c02760fb9132e
  4610d3a4f16f15b52503243ae309072890f408f305cbfade11d7fa18591cf5ee
"""
CHECKPOINT = """\
madoguchi.local/audit
247
gjnkpmgBvtQCbxOQIMjIu4w0D+txGJ/jxp5Rhi8ivag=

\u2014 madoguchi.local/audit /ekKGe43dXUXg6qSP8W+wcAo5ydcHSLBfzMYckEjmlFGClD5xyyionxtKlHnbVe4HW6XazXx37c730l7BjIDi1dlFQo=
"""
VERIFIER_KEY = "madoguchi.local/audit+fde90a19+AVli8UF/uIOlhC4PUKJfFVTYYmsixiLTVPNhlfYZa7KN"


def test_an_auditor_checks_a_proof_with_no_configuration(tmp_path):
    """`audit check-proof` is the auditor's side and needs no database (docs/audit.md), but the
    script asked the auditor's machine for SECRET_KEY before it read the proof: it now runs
    with no configuration, like the scan over files; the log's own commands still need it."""
    (tmp_path / "proof.txt").write_text(PROOF)
    (tmp_path / "checkpoint.txt").write_text(CHECKPOINT)
    check = (
        "audit",
        "check-proof",
        "--checkpoint",
        "checkpoint.txt",
        "--verifier-key",
        VERIFIER_KEY,
    )
    done = run(tmp_path, *check, "proof.txt")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Inclusion proof verified: event #100"), done.stdout
    assert not (tmp_path / "var").exists()  # nothing written: no key file, no database
    (tmp_path / "tampered.txt").write_text(PROOF.replace("cf675bb0", "cf675bb1"))
    done = run(tmp_path, *check, "tampered.txt")
    assert done.returncode == 1
    assert done.stderr.startswith("Proof refused:"), done.stderr
    done = run(tmp_path, "audit", "verify")
    assert done.returncode == 2
    assert done.stderr.startswith("madoguchi: configuration error: Set SECRET_KEY")


def test_the_scan_over_files_needs_no_configuration_and_prints_no_pdf_progress(tmp_path):
    """docs/scan.md's first commands, as a newcomer types them: generate, run (the PDF report
    included), evaluate. Only `--record` (which stores the run) needs the settings."""
    data, out = tmp_path / "data", tmp_path / "out"
    done = run(tmp_path, "scan", "generate", "--links", "300", "--seed", "3", str(data))
    assert done.returncode == 0, done.stderr
    done = run(tmp_path, "scan", "run", str(data), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert (out / "findings.parquet").exists()
    assert (out / "report.pdf").exists()
    assert "SECRET_KEY" not in done.stderr
    assert "Step " not in done.stderr  # WeasyPrint's progress lines stay out of the output
    done = run(tmp_path, "scan", "evaluate", str(data), "--findings", str(out / "findings.parquet"))
    assert done.returncode == 0, done.stderr
    done = run(tmp_path, "scan", "run", str(data), "--out", str(tmp_path / "o2"), "--record")
    assert done.returncode == 2
    assert done.stderr.startswith("madoguchi: configuration error: Set SECRET_KEY")


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (
            ("namecheck",),
            "Give two names (resident, account), or one name for an account without a name,"
            " or --csv FILE.",
        ),
        (
            ("namecheck", "--csv", "no-such-file.csv"),
            "Cannot read no-such-file.csv: no such CSV file.",
        ),
    ],
)
def test_a_refusal_is_the_sentence_alone_and_a_failing_exit(tmp_path, args, sentence):
    """Every command prints its refusal as the sentence a person reads, without Django's
    "CommandError:" in front of it, and exits non-zero."""
    done = run(tmp_path, *args)
    assert done.returncode == 1
    assert done.stderr.startswith(sentence), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.endswith(".\n")


def test_an_option_argparse_refuses_names_the_option_and_exits_2(tmp_path):
    """A benchmark option out of range, or an unknown benchmark, is refused by argparse through
    the option's own type or choices (usage, then the option and why; exit 2)."""
    done = run(tmp_path, "bench", "audit", "--events", "0")
    assert done.returncode == 2
    assert done.stderr.endswith(
        "madoguchi bench: error: argument --events: must be at least 1 (it was 0).\n"
    )
    done = run(tmp_path, "bench", "nosuch")
    assert done.returncode == 2
    assert "argument name: invalid choice: 'nosuch'" in done.stderr


def test_every_command_prints_its_refusals_plainly():
    """Each madoguchi command mixes in PlainErrors, so a new one cannot forget it."""
    from django.core.management import get_commands, load_command_class

    from madoguchi.cli import PlainErrors

    ours = {n: app for n, app in get_commands().items() if app.startswith("madoguchi.")}
    assert {"audit", "outside", "identity", "case", "bench", "scan"} <= set(ours)
    plain = {n for n, app in ours.items() if isinstance(load_command_class(app, n), PlainErrors)}
    assert plain == set(ours)


def test_the_scenario_against_no_server_is_one_line_not_a_traceback(tmp_path):
    """`madoguchi scenario sakai` when nothing answers (the demo not started, a wrong --server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    url = f"http://127.0.0.1:{port}"
    done = run(
        tmp_path,
        *("scenario", "sakai", "--server", url, "--agent", url),
        *("--username", "u"),
        MADOGUCHI_TERMINAL_CREDENTIAL="x",
        MADOGUCHI_SCENARIO_PASSWORD="p",
        SECRET_KEY="x" * 50,
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"Could not reach {url}/"), done.stderr
    assert "make demo" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_the_scenarios_secrets_on_the_command_line_warn(tmp_path):
    """`scenario --password` and `--terminal-credential` put secrets in `ps` and the shell's
    history: they still work, with a warning naming the variable to set instead."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    done = run(
        tmp_path,
        *("scenario", "sakai", "--server", url, "--agent", url),
        *("--terminal-credential", "x", "--username", "u", "--password", "p"),
        SECRET_KEY="x" * 50,
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "Warning: --terminal-credential shows in the process list and the shell's history; "
        "set MADOGUCHI_TERMINAL_CREDENTIAL instead."
    )
    assert lines[1] == (
        "Warning: --password shows in the process list and the shell's history; "
        "set MADOGUCHI_SCENARIO_PASSWORD instead."
    )
    assert lines[2].startswith(f"Could not reach {url}/")


@pytest.mark.parametrize("action", ["generate", "run", "evaluate", "open-cases", "export"])
def test_each_scan_action_explains_every_argument_and_shows_an_example(tmp_path, action):
    """A newcomer reading `madoguchi scan ACTION --help` learns what each argument is (the
    input directory, --out, --engine, --findings ...) and sees a command to copy."""
    done = run(tmp_path, "scan", action, "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"example:\n  madoguchi scan {action} " in text
    arguments = text.split("example:", 1)[0].splitlines()
    for i, line in enumerate(arguments):
        if not re.match(r"^  [^ {]", line):  # an argument's line, not a wrapped description
            continue
        name, _, words = line.strip().partition("  ")
        following = arguments[i + 1] if i + 1 < len(arguments) else ""
        assert words.strip() or following.startswith("        "), f"{action}: {name} unexplained"


def test_scan_help_lists_the_commands_to_type(tmp_path):
    done = run(tmp_path, "scan", "--help")
    assert done.returncode == 0, done.stderr
    for line in (
        "madoguchi scan generate --links 20000 --seed 3 data/",
        "madoguchi scan run data/ --out out/",
        "madoguchi scan evaluate data/ --findings out/findings.parquet",
        "madoguchi scan open-cases --min-score 0.8 --as USERNAME",
    ):
        assert line in done.stdout
    assert "--record" in done.stdout  # open-cases reads a recorded run


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "open-cases", "--min-score", "0.8", "--as", "tanaka"),
        ("scan", "export", "exported"),
        ("scan", "run", "data", "--out", "out", "--record"),
    ],
)
def test_scan_commands_on_a_database_not_yet_migrated_say_to_migrate(tmp_path, args):
    """open-cases and export read the database as run --record does: before `madoguchi
    migrate` each is one sentence saying so, not a traceback of a missing table."""
    if "run" in args:
        assert run(tmp_path, "scan", "generate", "--links", "300", "data").returncode == 0
    done = run(
        tmp_path,
        *args,
        SECRET_KEY="test-only-not-a-secret",
        SECURE_COOKIES="0",
        DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3",
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("The database has no scan tables yet: run `madoguchi migrate`")
    assert done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "exported").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("--links", "50"), "--links 50 is too few: give at least 100 (fewer links leave"),
        (("--links", "1000", "--rate", "5"), "--rate 5 / --family-rate 0.002: --rate must be"),
    ],
)
def test_scan_generate_refuses_numbers_it_cannot_use_saying_which_and_why(tmp_path, args, sentence):
    done = run(tmp_path, "scan", "generate", *args, "data")
    assert done.returncode == 1
    assert done.stderr.startswith(sentence), done.stderr
    assert done.stderr.endswith("Nothing was written.\n")
    assert not (tmp_path / "data").exists()


def test_scan_run_with_a_spark_master_but_no_spark_engine_says_so(tmp_path):
    """`--master local[2]` without `--engine spark` would silently run DuckDB."""
    assert run(tmp_path, "scan", "generate", "--links", "300", "data").returncode == 0
    done = run(tmp_path, "scan", "run", "data", "--out", "out", "--master", "local[2]")
    assert done.returncode == 1
    assert done.stderr.startswith("--master local[2] is Spark's: add --engine spark"), done.stderr
    assert not (tmp_path / "out").exists()


def test_scan_run_with_a_master_spark_cannot_use_says_so_before_starting_java(tmp_path):
    """A master URL Spark refuses ended in a Java exception and a Python traceback ("Java
    gateway process exited before sending its port number")."""
    assert run(tmp_path, "scan", "generate", "--links", "300", "data").returncode == 0
    args = ("--out", "out", "--engine", "spark", "--master", "nonsense://x")
    done = run(tmp_path, "scan", "run", "data", *args)
    assert done.returncode == 1
    assert done.stderr == (
        "--master 'nonsense://x' is not a Spark master URL: give local[N] (N threads on this "
        "machine), spark://HOST:PORT, yarn or k8s://HOST:PORT (nothing was run or written).\n"
    )
    assert not (tmp_path / "out").exists()


def test_scan_evaluate_without_a_truth_file_says_where_one_comes_from(tmp_path):
    assert run(tmp_path, "scan", "generate", "--links", "300", "data").returncode == 0
    assert run(tmp_path, "scan", "run", "data", "--out", "out", "--no-pdf").returncode == 0
    (tmp_path / "data" / "truth.parquet").unlink()
    done = run(tmp_path, "scan", "evaluate", "data", "--findings", "out/findings.parquet")
    assert done.returncode == 1
    assert "truth.parquet: missing: evaluate compares findings with the ground truth that " in (
        done.stderr
    )
    assert "give --truth FILE" in done.stderr


def test_scan_evaluate_without_the_findings_or_with_another_file_says_what_it_reads(tmp_path):
    """It said "out/findings.parquet: missing" and "column 'cause': missing column" alone."""
    assert run(tmp_path, "scan", "generate", "--links", "300", "data").returncode == 0
    done = run(tmp_path, "scan", "evaluate", "data", "--findings", "out/findings.parquet")
    assert done.returncode == 1
    assert done.stderr == (
        "out/findings.parquet: missing: give --findings a run's findings (OUT/findings.parquet, "
        "or the OUT directory itself, of `madoguchi scan run DIR --out OUT`)\n"
    )
    done = run(tmp_path, "scan", "evaluate", "data", "--findings", "data/links.parquet")
    assert done.returncode == 1
    assert done.stderr == (
        "data/links.parquet, column 'cause': missing column: a run's findings.parquet and scan "
        "generate's truth.parquet have link_id and cause; is this one of them?\n"
    )


def test_an_operators_line_counts_one_or_many_without_brackets():
    from madoguchi.cli import counted

    assert counted(1, "procedure") == "1 procedure"
    assert counted(0, "disagreement") == "0 disagreements"
    assert counted(3, "attempt") == "3 attempts"


def test_a_reader_that_stops_early_ends_the_command_without_a_traceback(tmp_path):
    """`madoguchi audit prove … | head -3` (docs/audit.md's output, cut short) printed a
    BrokenPipeError traceback after the lines it was asked for."""
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("resident,account\n" + "ヤマダ タロウ,ﾔﾏﾀﾞ ﾀﾛｳ\n" * 20_000)
    reader = subprocess.Popen(
        [MADOGUCHI, "namecheck", "--csv", str(pairs)],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None
    assert reader.stdout.readline().startswith(b"resident,account")
    reader.stdout.close()  # as `head -1` does once it has its line
    _, err = reader.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode()
    assert b"BrokenPipeError" not in err
    assert reader.returncode == 141


def test_the_simulators_own_entry_point_stops_quietly_too(tmp_path):
    """docs/outside.md's `python -m madoguchi.outside.sim …` (no Django): its accounts table
    into a reader already gone ended in a BrokenPipeError traceback."""
    done = subprocess.Popen(
        [sys.executable, "-m", "madoguchi.outside.sim", "accounts"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert done.stdout is not None
    done.stdout.close()  # gone before the first line
    _, err = done.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode()
    assert done.returncode == 141
    assert b"BrokenPipeError" not in err  # nor Python's "Exception ignored" at exit


def test_a_short_output_into_a_reader_already_gone_stops_quietly(tmp_path):
    """`madoguchi sim accounts | head -1`: a few lines wait in the buffer until the exit,
    whose flush failed with "Exception ignored … BrokenPipeError" and status 120."""
    done = subprocess.Popen(
        [MADOGUCHI, "sim", "accounts", "insurer"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert done.stdout is not None
    done.stdout.close()
    _, err = done.communicate(timeout=120)
    assert b"BrokenPipeError" not in err, err.decode()
    assert done.returncode == 141


def test_a_command_run_beside_the_demo_without_its_setting_says_to_set_it(tmp_path):
    """`madoguchi audit verify` typed in the demo's folder without MADOGUCHI_DEMO=1 said only
    to set SECRET_KEY, which would not reach the demo's data: it names the demo's setting."""
    (tmp_path / "var" / "demo").mkdir(parents=True)
    done = run(tmp_path, "audit", "verify")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "MADOGUCHI_DEMO=1" in done.stderr
    assert "MADOGUCHI_DEMO" not in run(tmp_path / "var", "audit", "verify").stderr


def test_a_mistyped_command_is_called_unknown_not_a_missing_secret(tmp_path):
    done = run(tmp_path, "audti", "verify")
    assert done.returncode == 1, done.stderr
    assert "Unknown command: 'audti'" in done.stderr
    assert "SECRET_KEY" not in done.stderr
    assert not (tmp_path / "var").exists()
