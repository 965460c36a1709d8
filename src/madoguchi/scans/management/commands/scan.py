"""`madoguchi scan`: the forensic scan (docs/scan.md).

madoguchi scan generate --links N --seed S DIR     synthetic data with truth.parquet
madoguchi scan run DIR --out OUT [--record] [--engine spark --master local[2]] [--explain]
madoguchi scan evaluate DIR --findings OUT/findings.parquet
madoguchi scan export DIR                            madoguchi's own records as scan input
madoguchi scan open-cases --min-score X --as USER [--run N]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.cli import PlainErrors
from madoguchi.scan.schema import InputError


def _require_tables() -> None:
    """Refuse before anything runs or is written when the database has no scan tables yet."""
    from django.db import connection
    from django.db.utils import DatabaseError

    from madoguchi.scans.models import ScanRun

    try:
        tables = connection.introspection.table_names()
    except DatabaseError as exc:
        raise CommandError(f"The database cannot be read ({exc}).") from exc
    if ScanRun._meta.db_table not in tables:
        raise CommandError(
            "The database has no scan tables yet: run `madoguchi migrate` first "
            "(nothing was run or written)."
        )


class Command(PlainErrors, BaseCommand):
    requires_system_checks: list[str] = []  # generate, run and evaluate need no database
    help = "The forensic scan: generate, run, evaluate, export, open-cases (docs/scan.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        g = sub.add_parser("generate", help="write synthetic input with ground truth")
        g.add_argument("directory")
        g.add_argument("--links", type=int, required=True)
        g.add_argument("--seed", type=int, default=1)
        g.add_argument("--rate", type=float, default=0.001, help="share of links mis-linked")
        g.add_argument("--family-rate", type=float, default=0.002)
        r = sub.add_parser("run", help="run the rules, write findings.parquet and the report")
        r.add_argument("directory")
        r.add_argument("--out", required=True)
        r.add_argument(
            "--replace",
            action="store_true",
            help="replace the files an earlier run left in OUT (else OUT must be new or empty)",
        )
        r.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        r.add_argument("--master", default="local[2]", help="Spark master URL")
        r.add_argument("--no-pdf", action="store_true", help="HTML report only")
        r.add_argument("--timeline-limit", type=int, default=200)
        r.add_argument(
            "--memory-limit",
            default=None,
            help="DuckDB's own memory; above it sorts and joins spill to disk (default: 5GB)",
        )
        r.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: cores)")
        r.add_argument("--explain", action="store_true", help="print each rule's plan, run nothing")
        r.add_argument(
            "--record", action="store_true", help="store the run and its findings for the pages"
        )
        e = sub.add_parser("evaluate", help="precision and recall per cause")
        e.add_argument("directory", help="the generated input (its truth.parquet)")
        e.add_argument("--findings", required=True)
        e.add_argument("--truth", help="default: DIRECTORY/truth.parquet")

        o = sub.add_parser("open-cases", help="open remediation cases from a recorded run")
        o.add_argument(
            "--min-score", type=float, required=True, help="0 to 1: the lowest score given a case"
        )
        o.add_argument("--run", type=int, help="a recorded run's number (default: the latest)")
        o.add_argument("--as", dest="username", required=True, help="the city official opening")
        x = sub.add_parser("export", help="madoguchi's own records as scan input")
        x.add_argument("directory")

    def handle(self, *args: object, **opts: Any) -> None:
        try:
            getattr(self, "_" + opts["action"].replace("-", "_"))(opts)
        except InputError as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
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
        from madoguchi.scan.generate import generate

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
        from madoguchi.scan import engine as engines
        from madoguchi.scan import schema

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
        self.stdout.write(
            f"{result.findings.num_rows:,} findings ({counts}) in {result.seconds:.1f} s; "
            f"wrote {Path(result.out) / 'findings.parquet'} and the report"
        )
        if opts["record"]:
            from madoguchi.scans import services

            scan_run = services.record_run(result)
            self.stdout.write(f"recorded as scan run {scan_run.pk}")

    def _evaluate(self, opts: dict[str, Any]) -> None:
        from madoguchi.scan.evaluate import evaluate_files

        truth = Path(opts["truth"] or Path(opts["directory"]) / "truth.parquet")
        for line in evaluate_files(Path(opts["findings"]), truth).lines():
            self.stdout.write(line)

    def _open_cases(self, opts: dict[str, Any]) -> None:
        import pyarrow.parquet as pq

        from madoguchi.accounts.models import User
        from madoguchi.refusals import Refusal
        from madoguchi.scans import services
        from madoguchi.scans.models import ScanRun

        if not 0 <= opts["min_score"] <= 1:
            raise CommandError(
                f"--min-score {opts['min_score']:g} is outside the scores' range: give a score "
                "from 0 to 1 (no case was opened)."
            )
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
            opened, existing = services.open_cases(
                run, actor=actor, min_score=opts["min_score"], accounts=accounts
            )
        except Refusal as exc:
            raise CommandError(f"{exc.message_en} (no case was opened)") from exc
        self.stdout.write(
            f"scan run {run.pk}: opened {opened} cases, {existing} already had one "
            f"(findings scoring at least {opts['min_score']}; family accounts get none)"
        )

    def _export(self, opts: dict[str, Any]) -> None:
        from madoguchi.scans import export

        result = export.export(Path(opts["directory"]))
        self.stdout.write(
            f"exported {result.links:,} links, {result.residents:,} residents, "
            f"{result.events:,} desk events to {opts['directory']} "
            f"({result.verified:,} completion signatures verified)"
        )
