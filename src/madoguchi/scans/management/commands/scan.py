"""`madoguchi scan`: the forensic scan (docs/scan.md).

madoguchi scan generate --links N --seed S DIR     synthetic data with truth.parquet
madoguchi scan run DIR --out OUT [--engine spark --master local[2]] [--explain]
madoguchi scan evaluate DIR --findings OUT/findings.parquet
madoguchi scan export DIR                            madoguchi's own records as scan input
madoguchi scan open-cases OUT --min-score X --as USER
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.scan.schema import InputError


class Command(BaseCommand):
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
        r.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb")
        r.add_argument("--master", default="local[2]", help="Spark master URL")
        r.add_argument("--no-pdf", action="store_true", help="HTML report only")
        r.add_argument("--timeline-limit", type=int, default=200)
        r.add_argument("--explain", action="store_true", help="print each rule's plan, run nothing")
        e = sub.add_parser("evaluate", help="precision and recall per cause")
        e.add_argument("directory", help="the generated input (its truth.parquet)")
        e.add_argument("--findings", required=True)
        e.add_argument("--truth", help="default: DIRECTORY/truth.parquet")

    def handle(self, *args: object, **opts: Any) -> None:
        try:
            getattr(self, "_" + opts["action"].replace("-", "_"))(opts)
        except InputError as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

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
            tables = schema.load(opts["directory"])
            with engines.connect(opts["engine"], master=opts["master"]) as eng:
                for name, plan in eng.explain(eng.register(tables)):
                    self.stdout.write(f"== {name}\n{plan}\n")
            return
        from madoguchi.scan.run import run

        result = run(
            opts["directory"],
            opts["out"],
            engine=opts["engine"],
            master=opts["master"],
            pdf=not opts["no_pdf"],
            timeline_limit=opts["timeline_limit"],
            progress=sys.stderr,
        )
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        self.stdout.write(
            f"{result.findings.num_rows:,} findings ({counts}) in {result.seconds:.1f} s; "
            f"wrote {Path(result.out) / 'findings.parquet'} and the report"
        )

    def _evaluate(self, opts: dict[str, Any]) -> None:
        from madoguchi.scan.evaluate import evaluate_files

        truth = Path(opts["truth"] or Path(opts["directory"]) / "truth.parquet")
        for line in evaluate_files(Path(opts["findings"]), truth).lines():
            self.stdout.write(line)
