"""`madoguchi scan`: the forensic scan (docs/scan.md).

madoguchi scan generate --links N --seed S DIR     synthetic data with truth.parquet
madoguchi scan run DIR --out OUT [--record] [--engine spark --master local[2]] [--explain]
madoguchi scan evaluate DIR --findings OUT/findings.parquet
madoguchi scan export DIR                            madoguchi's own records as scan input
madoguchi scan open-cases --min-score X --as USER [--run N]
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.utils import DatabaseError

from madoguchi.accounts.models import User
from madoguchi.cli import PlainErrors
from madoguchi.refusals import Refusal
from madoguchi.scan import MAX_LINKS, schema
from madoguchi.scan.schema import InputError
from madoguchi.scans import services
from madoguchi.scans.models import ScanRun


def _require_tables() -> None:
    """Refuse before anything runs or is written when the database has no scan tables yet."""
    try:
        tables = connection.introspection.table_names()
    except DatabaseError as exc:
        raise CommandError(f"The database cannot be read ({exc}).") from exc
    if ScanRun._meta.db_table not in tables:
        raise CommandError(
            "The database has no scan tables yet: run `madoguchi migrate` first "
            "(nothing was run or written)."
        )


OUTPUT_SUFFIXES = (".parquet", ".csv", ".html", ".pdf", ".json")


THREADS_MOST = 1024  # DuckDB's threads: far above any machine's cores


def _check_run_options(opts: dict[str, Any]) -> None:
    """Refuse, before anything is read or written, options no run can use: an --out named
    like a file (``--out out/findings.parquet`` made a directory of that name, and inside the
    input directory one the next run refused as a stray table), a --memory-limit DuckDB
    cannot read (it ended in DuckDB's traceback), a --threads or --timeline-limit below 1 and 0 or
    past what a run takes."""
    out = Path(opts["out"])
    if out.suffix.lower() in OUTPUT_SUFFIXES and not out.is_dir():
        raise CommandError(
            f"--out {opts['out']}: --out names the directory the run writes findings.parquet, "
            "report.html, report.pdf and summary.json into, not a file: give a directory "
            "such as out/ (nothing was run or written)."
        )
    # The run writes at its end: a directory it cannot create or write would fail only after
    # the whole scan (minutes at national scale), so its nearest existing parent is checked now.
    parent = out.absolute()
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise CommandError(
            f"--out {opts['out']}: cannot be written ({parent} is "
            f"{'not a directory' if not parent.is_dir() else 'not writable'}): give a "
            "directory you can write to (nothing was run or written)."
        )
    # Permission bits are not the whole answer (under /proc, on a read-only mount, past a
    # quota, root's access() says yes): a directory made and removed at once is.
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".scan-out-check-", dir=parent))
    except OSError as exc:
        raise CommandError(
            f"--out {opts['out']}: cannot be written ({parent}: {exc.strerror or exc}): give a "
            "directory you can write to (nothing was run or written)."
        ) from exc
    limit = opts.get("memory_limit")
    if limit is not None:
        # duckdb (a large native library) only for a check of the local engine's options.
        import duckdb

        try:
            duckdb.connect(config={"memory_limit": limit}).close()
        except duckdb.Error:
            raise CommandError(
                f"--memory-limit {limit!r} is not an amount of memory: give a number and a "
                "unit, such as 4GB or 500MB (nothing was run or written)."
            ) from None
    if opts.get("threads") is not None and opts["threads"] < 1:
        raise CommandError(
            f"--threads {opts['threads']}: give 1 or more (leave it out to use every core; "
            "nothing was run or written)."
        )
    if opts["timeline_limit"] < 0:
        raise CommandError(
            f"--timeline-limit {opts['timeline_limit']}: give 0 or more findings to show with "
            "their desk timeline (nothing was run or written)."
        )
    # Past 64 bits these reached DuckDB or Arrow and ended in their tracebacks.
    if opts.get("threads") is not None and opts["threads"] > THREADS_MOST:
        raise CommandError(
            f"--threads {opts['threads']}: give at most {THREADS_MOST:,} (leave it out to use "
            "every core; nothing was run or written)."
        )
    if opts["timeline_limit"] > MAX_LINKS:
        raise CommandError(
            f"--timeline-limit {opts['timeline_limit']}: give at most {MAX_LINKS:,} findings "
            "to show with their desk timeline (nothing was run or written)."
        )


GENERATED = frozenset(
    {"residents.parquet", "links.parquet", "desk_events.parquet", "truth.parquet"}
)


def _check_generate_directory(directory: Path) -> None:
    """Refuse a path that is a file, or a directory holding anything but what ``scan generate``
    writes (those it replaces, as its help says): generated tables beside someone's own
    ``residents.csv`` would make an input the scan refuses (a table given both ways), and a
    file there was overwritten without a word."""
    if directory.exists() and not directory.is_dir():
        raise CommandError(
            f"{directory}: exists and is not a directory: give a new directory to generate "
            "into (nothing was written)."
        )
    if not directory.is_dir():
        return
    held = sorted(
        p.name
        for p in directory.iterdir()
        if p.name not in GENERATED | {"format.json"} and not p.name.startswith(".")
    )
    if held:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise CommandError(
            f"{directory}: holds {shown}, which scan generate did not write: give a new or "
            "empty directory, or one an earlier scan generate wrote (its files are replaced); "
            "nothing was written."
        )


EXAMPLES = """examples:
  madoguchi scan generate --links 20000 --seed 3 data/    synthetic input and its truth
  madoguchi scan run data/ --out out/                     findings.parquet and the report
  madoguchi scan run data/ --out out/ --engine spark --master local[2]
  madoguchi scan evaluate data/ --findings out/findings.parquet
  madoguchi scan run data/ --out out2/ --record           store it for the pages
  madoguchi scan open-cases --min-score 0.8 --as USERNAME

Each action has its own help: madoguchi scan run --help"""


class Command(PlainErrors, BaseCommand):
    requires_system_checks: list[str] = []  # generate, run and evaluate need no database
    help = "The forensic scan: generate, run, evaluate, export, open-cases (docs/scan.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = EXAMPLES
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        def action(name: str, summary: str, example: str) -> argparse.ArgumentParser:
            return sub.add_parser(
                name,
                help=summary,
                description=summary[0].upper() + summary[1:] + " (docs/scan.md).",
                epilog="example:\n  " + example,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )

        g = action(
            "generate",
            "write synthetic input with ground truth",
            "madoguchi scan generate --links 20000 --seed 3 data/",
        )
        g.add_argument(
            "directory",
            help="a new or empty directory to write residents, links, desk_events and "
            "truth.parquet into (or one an earlier scan generate wrote: its files are replaced)",
        )
        g.add_argument("--links", type=int, required=True, help="how many links to generate")
        generated: list[tuple[str, type, float, str]] = [
            ("--seed", int, 1, "the same seed gives the same data"),
            ("--rate", float, 0.001, "share of links mis-linked"),
            ("--family-rate", float, 0.002, "share of links to an account in the household"),
        ]
        for flag, kind, default, words in generated:
            g.add_argument(flag, type=kind, default=default, help=f"{words} (default: {default})")
        r = action(
            "run",
            "run the rules, write findings.parquet and the report",
            "madoguchi scan run data/ --out out/",
        )
        r.add_argument(
            "directory",
            help="the input: residents, links and desk_events as .parquet or .csv "
            "(docs/scan.md, Input format)",
        )
        r.add_argument(
            "--out",
            required=True,
            help="a new or empty directory for findings.parquet, report.html and report.pdf",
        )
        r.add_argument(
            "--replace",
            action="store_true",
            help="replace the files an earlier run left in OUT (else OUT must be new or empty)",
        )
        r.add_argument(
            "--engine",
            choices=["duckdb", "spark"],
            default="duckdb",
            help="duckdb (embedded, the default) or spark (national scale; needs Java)",
        )
        r.add_argument(
            "--master",
            default=None,
            help="Spark master URL, with --engine spark (default: local[2])",
        )
        r.add_argument("--no-pdf", action="store_true", help="HTML report only")
        r.add_argument(
            "--timeline-limit",
            type=int,
            default=200,
            help="how many findings the report shows with their desk timeline, highest "
            "score first (default: 200)",
        )
        r.add_argument(
            "--memory-limit",
            default=None,
            help="DuckDB's own memory; above it sorts and joins spill to disk (default: 5GB)",
        )
        r.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: cores)")
        r.add_argument("--explain", action="store_true", help="print each rule's plan, run nothing")
        r.add_argument(
            "--record",
            action="store_true",
            help="also store the run and its findings in the database, for the officials' "
            "pages and open-cases",
        )
        e = action(
            "evaluate",
            "precision and recall per cause",
            "madoguchi scan evaluate data/ --findings out/findings.parquet",
        )
        e.add_argument("directory", help="the generated input (its truth.parquet)")
        e.add_argument("--findings", required=True, help="a run's OUT/findings.parquet")
        e.add_argument("--truth", help="default: DIRECTORY/truth.parquet")

        o = action(
            "open-cases",
            "open remediation cases from a recorded run (scan run --record)",
            "madoguchi scan open-cases --min-score 0.8 --as tanaka",
        )
        o.add_argument(
            "--min-score", type=float, required=True, help="0 to 1: the lowest score given a case"
        )
        o.add_argument("--run", type=int, help="a recorded run's number (default: the latest)")
        o.add_argument(
            "--as", dest="username", required=True, help="the username of the city official opening"
        )
        x = action(
            "export",
            "madoguchi's own records as scan input",
            "madoguchi scan export data/ && madoguchi scan run data/ --out out/",
        )
        x.add_argument(
            "directory",
            help="where to write residents, links and desk_events (files of those names there "
            "are replaced)",
        )

    def handle(self, *args: object, **opts: Any) -> None:
        try:
            getattr(self, "_" + opts["action"].replace("-", "_"))(opts)
        except InputError as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:  # a directory that cannot be created or written, a full disk
            # pyarrow's errors name no file, only the temporary one in their text: name the
            # directory the command was given.
            target = exc.filename or opts.get("out") or opts.get("directory")
            where = f"{target}: " if target else ""
            raise CommandError(
                f"{where}cannot be written or read ({exc.strerror or exc}); nothing was written."
            ) from exc
        except Exception as exc:
            if type(exc).__name__ != "OutOfMemoryException":  # duckdb's; imported lazily
                raise
            raise CommandError(
                "the scan ran out of memory: part of DuckDB's plan could not spill to disk "
                f"within its limit ({opts.get('memory_limit') or 'default 5GB'}). Nothing was "
                "written. Give it more with --memory-limit, use fewer threads (--threads 1), "
                "or run it on Spark (--engine spark)."
            ) from exc

    def _generate(self, opts: dict[str, Any]) -> None:
        # Each step's modules only when it runs (the engine loads ibis, the export the apps' models).
        from madoguchi.scan.generate import generate

        _check_generate_directory(Path(opts["directory"]))
        result = generate(
            opts["directory"],
            links=opts["links"],
            seed=opts["seed"],
            rate=opts["rate"],
            family_rate=opts["family_rate"],
        )
        truth = ", ".join(f"{k} {v}" for k, v in sorted(result.truth.items()))
        self.stdout.write(
            f"wrote {result.links:,} links, {result.residents:,} residents, "
            f"{result.events:,} desk events to {opts['directory']} (truth: {truth})"
        )

    def _run(self, opts: dict[str, Any]) -> None:
        # Each step's modules only when it runs (the engine loads ibis, the export the apps' models).
        from madoguchi.scan import engine as engines

        if opts["master"] is not None and opts["engine"] != "spark":
            raise CommandError(
                f"--master {opts['master']} is Spark's: add --engine spark to run on Spark, or "
                "leave --master out to run on DuckDB (nothing was run or written)."
            )
        opts["master"] = opts["master"] or "local[2]"
        master = opts["master"]
        if not (master == "yarn" or master.startswith(("local", "spark://", "k8s://"))):
            # Spark would say so only after starting Java, as a Java exception and a Python
            # traceback ("Java gateway process exited").
            raise CommandError(
                f"--master {master!r} is not a Spark master URL: give local[N] (N threads on "
                "this machine), spark://HOST:PORT, yarn or k8s://HOST:PORT (nothing was run "
                "or written)."
            )
        _check_run_options(opts)
        if opts["explain"]:
            # The plans as a run would make them: the engine reading the validated files
            # (a URI validated by Spark itself; DuckDB refuses one).
            directory = opts["directory"]
            by_spark = opts["engine"] == "spark" and schema.is_uri(directory)
            if not by_spark:
                schema.validate(directory)
            with engines.connect(opts["engine"], master=opts["master"]) as eng:
                if by_spark:
                    eng.validate(directory)
                for name, plan in eng.explain(eng.register_files(directory)):
                    self.stdout.write(f"== {name}\n{plan}\n")
            return
        # Each step's modules only when it runs (the engine loads ibis, the export the apps' models).
        from madoguchi.scan.run import run

        if opts["record"]:
            _require_tables()
        result = run(
            opts["directory"],
            opts["out"],
            engine=opts["engine"],
            master=opts["master"],
            pdf=not opts["no_pdf"],
            timeline_limit=opts["timeline_limit"],
            progress=sys.stderr,
            **({"memory_limit": opts["memory_limit"]} if opts["memory_limit"] else {}),
            threads=opts["threads"],
            replace=opts["replace"],
            every_mislink=opts["record"],
        )
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        # The whole run's time: the scan's alone left out the PDF, which can take longer.
        self.stdout.write(
            f"{result.findings.num_rows:,} findings ({counts}) in {result.total_seconds:.1f} s "
            f"(scan {result.seconds:.1f} s, reports {result.total_seconds - result.seconds:.1f} s); "
            f"wrote {Path(result.out) / 'findings.parquet'} and the report"
        )
        s = result.summary
        if s.unscanned:
            self.stdout.write(
                f"{s.unscanned:,} links NOT scanned: their resident_id is not in residents "
                f"(e.g. {', '.join(s.unscanned_examples)}); export residents who moved out "
                "or died too and run again (docs/scan.md)"
            )
        if opts["record"]:
            scan_run = services.record_run(result, os_user=getpass.getuser())
            self.stdout.write(f"recorded as scan run {scan_run.pk}")

    def _evaluate(self, opts: dict[str, Any]) -> None:
        # Each step's modules only when it runs (the engine loads ibis, the export the apps' models).
        from madoguchi.scan.evaluate import evaluate_files

        truth = Path(opts["truth"] or Path(opts["directory"]) / "truth.parquet")
        if not truth.exists():
            raise CommandError(
                f"{truth}: missing: evaluate compares findings with the ground truth that "
                "`madoguchi scan generate` writes beside its tables (give --truth FILE for "
                "another truth file keyed by link_id and cause)."
            )
        directory = Path(opts["directory"])
        for line in evaluate_files(Path(opts["findings"]), truth, directory).lines():
            self.stdout.write(line)

    def _open_cases(self, opts: dict[str, Any]) -> None:
        if not 0 <= opts["min_score"] <= 1:
            raise CommandError(
                f"--min-score {opts['min_score']:g} is outside the scores' range: give a score "
                "from 0 to 1 (no case was opened)."
            )
        _require_tables()
        try:
            actor = User.objects.get(username=opts["username"])
        except User.DoesNotExist:
            raise CommandError(f"No staff user {opts['username']!r}.") from None
        if opts["run"] is not None:
            run = ScanRun.objects.filter(pk=opts["run"]).first()
            if run is None:
                latest = ScanRun.objects.first()
                where = f"the latest is {latest.pk}" if latest else "none is recorded yet"
                raise CommandError(
                    f"No recorded scan run {opts['run']} ({where}; the officials' page "
                    "/scans/ lists them). No case was opened."
                )
        else:
            run = ScanRun.objects.first()
        if run is None:
            raise CommandError(
                "No recorded scan run: run `madoguchi scan run DIR --out OUT --record` first."
            )
        # Runs recorded before the findings kept their account read it from findings.parquet.
        accounts: dict[str, tuple[str, str]] = {}
        parquet = Path(run.out_dir) / "findings.parquet"
        if run.findings.filter(account_hash="").exists() and parquet.exists():
            t = pq.read_table(parquet, columns=["link_id", "account_hash", "account_last4"])
            for row in t.to_pylist():
                accounts[row["link_id"]] = (row["account_hash"] or "", row["account_last4"] or "")
        try:
            done = services.open_cases(
                run, actor=actor, min_score=opts["min_score"], accounts=accounts
            )
        except Refusal as exc:
            raise CommandError(f"{exc.message_en} (no case was opened)") from exc
        # A finding refused on its own (its link dated after today in the input) is set aside,
        # one line each saying why; the others' cases are opened, and the command fails after.
        for link_id, refusal in done.set_aside:
            self.stderr.write(f"link {link_id}: set aside, no case opened: {refusal.message_en}")
        aside = f", {len(done.set_aside)} set aside (above)" if done.set_aside else ""
        self.stdout.write(
            f"scan run {run.pk}: opened {done.opened} cases, {done.existing} already had one"
            f"{aside} (findings scoring at least {opts['min_score']}; family accounts get none)"
        )
        if done.set_aside:
            raise CommandError(
                f"{len(done.set_aside)} findings were set aside (each said above); the others' "
                "cases were opened."
            )

    def _export(self, opts: dict[str, Any]) -> None:
        # Each step's modules only when it runs (the engine loads ibis, the export the apps' models).
        from madoguchi.scans import export

        _require_tables()
        directory = Path(opts["directory"])
        if directory.exists() and not directory.is_dir():
            raise CommandError(
                f"{directory}: exists and is not a directory: give a directory to export the "
                "tables into (nothing was written)."
            )
        result = export.export(directory, os_user=getpass.getuser())
        self.stdout.write(
            f"exported {result.links:,} links, {result.residents:,} residents, "
            f"{result.events:,} desk events to {opts['directory']} "
            f"({result.verified:,} completion signatures verified)"
        )
