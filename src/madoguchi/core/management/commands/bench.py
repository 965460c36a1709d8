"""`madoguchi bench NAME|all`: throughput benchmarks, each against a baseline in the same run.

Benchmarks register in ``BENCHES``: a name, and a function taking the parsed options and
returning the lines to print. ``all`` runs every registered one.
"""

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.cli import PlainErrors
from madoguchi.scan import MAX_LINKS, SEED_MOST

Bench = Callable[[dict[str, Any]], list[str]]
BENCHES: dict[str, Bench] = {}


def register(name: str) -> Callable[[Bench], Bench]:
    def add(fn: Bench) -> Bench:
        BENCHES[name] = fn
        return fn

    return add


@register("namecheck")
def namecheck(opts: dict[str, Any]) -> list[str]:
    # Each bench's module only when it runs (the scan's loads pyarrow and ibis).
    from madoguchi.namecheck import bench

    result = bench.run(n=opts["pairs"], repeat=opts["repeat"] or 5)
    verdict = "target met" if result.target_met else "target not met"
    load = ", ".join(f"{x:.2f}" for x in result.load_before)
    load_after = ", ".join(f"{x:.2f}" for x in result.load_after)
    return [
        f"name check, batch mode, {result.pairs:,} generated pairs "
        f"({result.distinct_pairs:,} distinct pairs, {result.distinct_names:,} distinct names), "
        f"median of {result.repeat} wall-clock runs",
        f"  machine:              {result.machine}",
        f"  load average:         {load} before, {load_after} after (1, 5, 15 min)",
        f"  check_batch:          {result.batch_pairs_per_s:>12,.0f} pairs/s "
        "(codes; caches cold, fresh strings)",
        f"  check_many:           {result.many_pairs_per_s:>12,.0f} pairs/s "
        "(a result object per pair; for information)",
        f"  bare fuzz.ratio:      {result.rapidfuzz_pairs_per_s:>12,.0f} pairs/s "
        "(Python loop over the normalised strings: the baseline)",
        f"  cpdist (workers=-1):  {result.cpdist_pairs_per_s:>12,.0f} pairs/s "
        "(C++ over the normalised strings; for information)",
        f"  bare / check_batch:   {result.slowdown:.2f}x",
        f"  on CPU time:          check_batch {result.batch_cpu_pairs_per_s:,.0f} pairs/s, "
        f"bare fuzz.ratio {result.rapidfuzz_cpu_pairs_per_s:,.0f} pairs/s, "
        f"{result.rapidfuzz_cpu_pairs_per_s / result.batch_cpu_pairs_per_s:.2f}x "
        "(for information: less disturbed by other work on the machine)",
        f"  {verdict}: check_batch >= {bench.TARGET_PAIRS_PER_S:,} pairs/s and "
        f"bare fuzz.ratio / check_batch <= {bench.TARGET_SLOWDOWN:g}x",
    ]


@register("completion")
def completion(opts: dict[str, Any]) -> list[str]:
    # Each bench's module only when it runs (the scan's loads pyarrow and ibis).
    from madoguchi.core.bench import completion as bench

    result = bench.run(
        desks=opts["desks"],
        seconds=opts["seconds"],
        floor_seconds=opts["floor_seconds"],
        keep=opts["keep"],
        polls=opts["polls"],
        client_processes=opts["client_processes"],
    )
    return bench.report(result)


@register("audit")
def audit_bench(opts: dict[str, Any]) -> list[str]:
    # Each bench's module only when it runs (the scan's loads pyarrow and ibis).
    from madoguchi.core.bench import audit as bench

    return bench.report(
        bench.run(events=opts["events"], clients=opts["desks"], verify_events=opts["verify_events"])
    )


@register("scan")
def scan(opts: dict[str, Any]) -> list[str]:
    # Each bench's module only when it runs (the scan's loads pyarrow and ibis).
    from madoguchi.scan import bench as scan_bench

    data = opts["data"]
    result = scan_bench.run(
        links=opts["links"],
        seed=opts["seed"],
        spark_links=opts["spark_links"],
        pandas_links=opts["pandas_links"],
        skip_sql=opts["skip_sql"],
        storage=opts["storage"],
        directory=Path(data) if data else None,
        spark_timeout=opts["spark_timeout"],
        repeat=opts["repeat"] or 1,
    )
    return scan_bench.lines(result)


# The largest whole number an option takes: a number past 64 bits reached numpy or the
# generator as an OverflowError traceback (`--pairs`, `--links`).
MOST = 1_000_000_000


def at_least(least: int, most: int = MOST) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `least` (said as "must be at least N") and at
    most `most` ("must be at most N")."""

    def whole(text: str) -> int:
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least} (it was {value}).")
        if value > most:
            raise argparse.ArgumentTypeError(f"must be at most {most:,} (it was {value}).")
        return value

    whole.__name__ = "whole number"  # argparse names the type in its own refusal
    return whole


def more_than_zero(text: str) -> float:
    """An argparse type: a number of seconds above 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 (it was {value:g}).")
    return value


more_than_zero.__name__ = "number"


# The signals that stopped the bench (`_stopped`): what the bench raises after one is the stop's.
_signalled: list[int] = []


def _stopped(signum: int, frame: object) -> None:
    _signalled.append(signum)
    sys.stderr.write("bench: stopped by SIGTERM; cleaning up\n")
    raise SystemExit(128 + signum)


class Command(PlainErrors, BaseCommand):
    requires_system_checks: list[str] = []  # pure computation: no database, no URLs
    help = (
        "Run throughput benchmarks: madoguchi bench namecheck [--pairs N], madoguchi bench scan "
        "[--links N], madoguchi bench completion [--desks N --seconds S], "
        "madoguchi bench audit [--events N --verify-events N], or madoguchi bench all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "name",
            choices=[*sorted(BENCHES), "all"],
            help=f"one of: {', '.join(sorted(BENCHES))}, all",
        )
        parser.add_argument(
            "--pairs", type=at_least(1), default=1_000_000, help="pairs to generate (name check)"
        )
        parser.add_argument(
            "--repeat",
            type=at_least(1),
            default=None,
            help="runs of each side; the median is reported (namecheck: 5 unless given; "
            "scan: 1, else the ibis and hand-written SQL sides this many times each, in turn)",
        )
        parser.add_argument(
            "--desks",
            type=at_least(1),
            default=32,
            help="concurrent desks / clients (completion, audit)",
        )
        parser.add_argument(
            "--seconds",
            type=more_than_zero,
            default=30.0,
            help="length of the visits run (completion)",
        )
        parser.add_argument(
            "--floor-seconds", type=more_than_zero, default=10.0, help="length of each floor run"
        )
        parser.add_argument(
            "--polls",
            type=at_least(0),
            default=20,
            help="desk page polls per desk, each way (completion; 0: skip)",
        )
        parser.add_argument(
            "--client-processes",
            type=at_least(1),
            default=4,
            help="processes the desks and floor clients are dealt over (completion; 1: all "
            "in this process, under one GIL, as before the fourteenth round)",
        )
        parser.add_argument(
            "--events", type=at_least(1), default=5000, help="events to append (audit)"
        )
        parser.add_argument(
            "--verify-events",
            type=at_least(0),
            default=200_000,
            help="events the log is extended to for the second verify figure (audit; 0: skip)",
        )
        parser.add_argument(
            "--keep",
            action="store_true",
            help="keep the benchmark database and files, and print where (completion)",
        )
        parser.add_argument(
            "--links",
            type=at_least(100, MAX_LINKS),
            default=10_000_000,
            help="links to generate (scan)",
        )
        parser.add_argument(
            "--spark-links",
            type=at_least(0),
            default=200_000,
            help="links for the Spark local[2] figure: the first generated blocks of about "
            "this many, beside DuckDB on the same (scan; 0: skip Spark)",
        )
        parser.add_argument(
            "--spark-timeout",
            type=more_than_zero,
            default=1800.0,
            help="seconds the Spark side may take before it is stopped and reported so (scan)",
        )
        parser.add_argument(
            "--pandas-links",
            type=at_least(0),
            default=2_000_000,
            help="links for the pandas baseline: the first generated blocks of about this "
            "many, beside DuckDB on the same (scan; 0: skip pandas)",
        )
        parser.add_argument(
            "--skip-sql",
            action="store_true",
            help="skip the hand-written DuckDB SQL (scan; by default it runs on every link)",
        )
        parser.add_argument(
            "--storage",
            choices=["auto", "memory", "file"],
            default="auto",
            help="where DuckDB holds the tables (scan; auto: in memory up to 20M links, "
            "else a database file in its own temporary directory with a 6 GB memory limit)",
        )
        parser.add_argument(
            "--seed", type=at_least(0, SEED_MOST), default=1, help="generator seed (scan)"
        )
        parser.add_argument(
            "--data",
            help="generated data to use (or write) instead of a temporary directory (scan)",
        )

    def handle(self, *args: object, **opts: Any) -> None:
        name = opts["name"]
        selected = sorted(BENCHES) if name == "all" else [name]
        # The completion bench's module only once a bench runs.
        from madoguchi.core.bench.completion import BenchError, drop_undropped

        main = threading.current_thread() is threading.main_thread()
        if main:
            # Stopped by SIGTERM (`timeout`, a CI job cancelled): leave as Ctrl-C does, through
            # each bench's cleanup (its server stopped, its database dropped), not at once.
            signal.signal(signal.SIGTERM, _stopped)
        try:
            for bench_name in selected:
                try:
                    lines = BENCHES[bench_name](opts)
                except BenchError as exc:  # no PostgreSQL, a server that did not start
                    raise CommandError(str(exc)) from exc
                for line in lines:
                    self.stdout.write(line)
        except Exception as exc:
            # The stop can arrive inside the database driver's commit: what the transaction
            # raises on its way out (it could not end: "can't change 'autocommit' now") is the
            # stop's, and the bench leaves with its code, as from anywhere else.
            if _signalled:
                raise SystemExit(128 + _signalled[-1]) from exc
            raise
        finally:
            # A database a bench made but never reached its own cleanup for (stopped just
            # after CREATE DATABASE) is dropped on the way out; a second SIGTERM waits for it.
            if main:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
            try:
                drop_undropped()
            finally:
                if main:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
