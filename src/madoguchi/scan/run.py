"""``madoguchi scan run``: validate, run the rules, write findings.parquet and the report.

Nothing is written until the input is valid and the rules have run; the output files are
written under temporary names and renamed into place, so a failed run leaves no half-written
report behind.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar
from zoneinfo import ZoneInfo

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from madoguchi.scan import engine as engines
from madoguchi.scan import labels, namematch, report, schema

__all__ = ["RunResult", "run"]

T = TypeVar("T")


@dataclass(frozen=True)
class RunResult:
    out: Path
    findings: pa.Table
    seconds: float
    counts: dict[str, int]
    summary: report.Summary
    timelines: dict[str, list[dict[str, Any]]]
    # From the start to the files written: the scan (``seconds``) plus the reports and the PDF,
    # which can take longer than the scan; `scan run` prints this one.
    total_seconds: float = 0.0


RATE_SECONDS = 0.1
"""Below this many seconds no rate is said: a tiny input's step or scan ends between two
clock readings, and a rate from them says nothing (it came out as "0 links/s")."""


def per_second(n: int, seconds: float, unit: str) -> str:
    """``n`` over ``seconds`` as "1,234 UNIT/s"; empty when the time is too short to say."""
    return f"{n / seconds:,.0f} {unit}/s" if seconds >= RATE_SECONDS else ""


def _with_progress(
    label: str,
    total_rows: int,
    fn: Callable[[], T],
    stream: TextIO | None,
    *,
    counted: bool = True,
    steps: Callable[[], int] = lambda: 0,
) -> T:
    """Run ``fn`` in a thread while showing its progress: the step running (``steps``: how
    many of the engine's steps have started), the name checks done in it and their rate, and
    a line per finished step. The name checks run on the links the earlier steps kept, not on
    every link, so no total is claimed: the bar pulses until the scan ends.
    ``counted`` False: the name checks run in other processes (Spark's Python workers), which
    this process cannot count; the bar and the lines say so instead of showing 0."""
    if stream is None:
        return fn()
    # rich only for a run shown in a terminal.
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    tty = stream.isatty()
    start_rows = namematch.COUNTER.rows
    thread = threading.Thread(target=target, daemon=True)
    started = time.perf_counter()
    console = Console(file=stream, force_terminal=tty)
    where = "" if counted else " (name checks in the engine's workers)"

    def checks(n: int) -> str:
        return f"{n:,} name checks" if counted else "name checks in the engine's workers"

    def rate(n: int, seconds: float) -> str:
        # A step that checked no name (a join, a sort) says its time only, not "0 checks/s".
        return per_second(n, seconds, "checks") if counted and n else ""

    step, step_rows, step_started = 0, start_rows, started

    def step_line(now: float, last: int) -> str:
        done = namematch.COUNTER.rows - step_rows
        took = now - step_started
        said = rate(done, took)
        which = f"step {step}" if last == step else f"steps {step}-{last}"  # fast ones, together
        return f"{label} {which}: {checks(done)} in {took:.1f} s" + (f" ({said})" if said else "")

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[checks]}"),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not tty,
    ) as progress:
        task = progress.add_task(label + where, total=None, checks="", rate="")

        def say(line: str) -> None:
            if tty:
                progress.console.print(line, highlight=False)
            else:
                stream.write(line + "\n")

        def finish_step(now: float, last: int) -> None:
            if step:
                say(step_line(now, last))

        thread.start()
        while thread.is_alive():
            thread.join(0.2)
            now = time.perf_counter()
            current = steps()
            if current and not step:
                step = 1  # steps that started before the first look count from the start
            if current != step:
                finish_step(now, current - 1)
                step, step_rows, step_started = current, namematch.COUNTER.rows, now
            done = namematch.COUNTER.rows - step_rows
            progress.update(
                task,
                description=f"{label}{where} · step {step}" if step else label + where,
                checks=checks(done),
                rate=rate(done, now - step_started),
            )
        finish_step(time.perf_counter(), steps())
        progress.update(task, total=1, completed=1)
        elapsed = time.perf_counter() - started
        done = namematch.COUNTER.rows - start_rows
        said = per_second(total_rows, elapsed, "links")
        say(
            f"{label}: {total_rows:,} links, {checks(done)} in {elapsed:.1f} s"
            + (f" ({said})" if said else "")
        )
    if "error" in result:
        raise result["error"]
    value: T = result["value"]
    return value


def _timeline_events(eng: engines.Engine, events: ir.Table, keys: pa.Table) -> pa.Table:
    """The desk events within the windows of ``keys`` (``report.timeline_keys``), read by the
    engine (a join on the terminal and the time), so only those events leave it."""
    if keys.num_rows == 0:
        return eng.to_arrow(events.limit(0))
    found = eng.desk_windows(keys.select(["terminal_id", "lo", "hi"]))
    if found is not None:
        return found
    k = eng.register({"timeline_keys": keys})["timeline_keys"]
    joined = events.join(
        k, [events.terminal_id == k.terminal_id, events.at >= k.lo, events.at <= k.hi]
    )
    return eng.to_arrow(joined.select(*(events[c] for c in events.columns)).distinct())


def _file_of(directory: Path | str, table: str) -> str:
    """The file of ``table`` as an error names it (under a URI, the table's name)."""
    where = schema.files(directory) if isinstance(directory, Path) else {}
    return str(where.get(table, f"{directory}/{table}"))


def _no_link_has_its_resident(
    eng: engines.Engine, tables: dict[str, ir.Table], directory: Path | str
) -> schema.InputError:
    """The refusal of an input none of whose links names a resident of its residents table: the
    two tables do not write the IDs the same way (one stored as numbers, a prefix or zeros
    lost in a spreadsheet, or another register's residents). Scanned, it checked no name and
    reported nothing, with exit status 0; refused, nothing is written."""

    def first(table: ir.Table) -> str:
        got = eng.to_arrow(table.select("resident_id").limit(1)).column("resident_id")
        return str(got[0].as_py()) if len(got) else ""

    links, residents = _file_of(directory, "links"), Path(_file_of(directory, "residents")).name
    return schema.InputError(
        links,
        "resident_id",
        f"no link's resident_id is in {residents} (links have e.g. "
        f"{first(tables['links'])!r}, residents e.g. {first(tables['residents'])!r}): the two "
        "tables must write each resident's ID the same way (a column stored as numbers, or "
        "a prefix or leading zeros lost in a spreadsheet, would differ); nothing was written",
    )


COMMIT_SAMPLE = 20
"""The commits whose link IDs are first looked up in links (``_no_commit_names_a_link``)."""


def _no_commit_names_a_link(
    eng: engines.Engine, tables: dict[str, ir.Table], directory: Path | str
) -> schema.InputError | None:
    """The refusal of an input whose desk log has commits and desk links but no commit naming
    a link of links: the two tables do not write the link IDs the same way (another system's
    numbering, a prefix or zeros lost), and every desk rule would see no desk evidence at
    all. Some commits naming links that links does not hold are accepted (a link corrected
    since, deleted from the registry, leaves its commit in the log). The first
    ``COMMIT_SAMPLE`` commits are looked up first (a filter over the link IDs); only when none
    of them names a link, all of them (a semi-join)."""
    events, links = tables["desk_events"], tables["links"]
    commits = events.filter(events.event == "commit").select("link_id")
    sample = eng.to_arrow(commits.limit(COMMIT_SAMPLE)).column("link_id").to_pylist()
    if not sample:
        return None
    if not eng.to_arrow(links.filter(links.channel == "desk").select("link_id").limit(1)).num_rows:
        return None  # no desk link: the desk log is evidence of none
    ids = [i for i in dict.fromkeys(sample) if i is not None]
    if eng.to_arrow(links.filter(links.link_id.isin(ids)).select("link_id").limit(1)).num_rows:
        return None
    named = commits.semi_join(links, commits.link_id == links.link_id)
    if eng.to_arrow(named.limit(1)).num_rows:
        return None
    first = eng.to_arrow(links.select("link_id").limit(1)).column("link_id")[0].as_py()
    log, named_links = _file_of(directory, "desk_events"), Path(_file_of(directory, "links")).name
    return schema.InputError(
        log,
        "link_id",
        f"no commit's link_id is in {named_links} (commits have e.g. {sample[0]!r}, links e.g. "
        f"{first!r}): the desk log must name each link by the same ID as links (another "
        "system's numbering, or a prefix or leading zeros lost in a spreadsheet, would "
        "differ), else no desk evidence is found for any link; nothing was written",
    )


# How far a desk link's `linked_at` may be from its commit in the desk log: the report's
# timeline runs from 20 minutes before the link to 10 after, so a commit further off is not in
# it (a log written in UTC beside links in Japan's time is 9 hours off).
LINKED_AT_SLACK_S = 300


def _t(value: object) -> object:
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else value


def _links_against_commits(
    eng: engines.Engine, tables: dict[str, ir.Table], directory: Path | str
) -> schema.InputError | None:
    """The refusal of an input whose links and desk log disagree about a commit; None when
    they agree. The rules read a link's desk evidence (session, card reads, neighbours, the
    staff member) at its commit, while the finding's sentence and terminal, the report's
    timeline and an opened case's desk and session records are the link's: such a finding would
    be argued from one record and shown with another's. In order:

    - a link committed more than once (a log exported over overlapping dates, a row pasted
      again): it became a finding once for each commit (several rows for one link in
      findings.parquet; `--record` then failed on the database's one finding a link);
    - a desk link whose commit is at another terminal;
    - a desk link whose commit is under another staff member (a lent-terminal finding said
      "committed in the name of S1 while S1 was signed in");
    - a desk link whose `linked_at` is more than `LINKED_AT_SLACK_S` from its commit (the
      timeline showed another session's residents and no commit; a log in UTC is 9 hours off).

    One join of the links with the commits naming them, run by the engine (DuckDB and Spark
    alike), once when they agree; a self link (a kiosk's terminal) is checked for repeated
    commits only, a desk link with no commit in the log not at all."""
    events, links = tables["desk_events"], tables["links"]
    commits = events.filter(events.event == "commit").select(
        c_link=events.link_id, c_term=events.terminal_id, c_staff=events.staff_id, c_at=events.at
    )
    linked = links.select("link_id", "channel", "terminal_id", "staff_id", "linked_at")
    j = linked.inner_join(commits, linked.link_id == commits.c_link)
    desk = j.channel == "desk"
    j = j.mutate(
        term_differs=desk & (j.terminal_id != j.c_term),
        staff_differs=desk & (j.staff_id != j.c_staff),
        apart=(j.linked_at.epoch_seconds() - j.c_at.epoch_seconds()).abs(),
    )
    j = j.mutate(time_differs=desk & (j.apart > LINKED_AT_SLACK_S))
    flags = ("term_differs", "staff_differs", "time_differs")
    # One pass when they agree: as many joined rows as links joined, and no flag set.
    seen = eng.to_arrow(
        j.aggregate(
            rows=j.count(),
            links=j.link_id.nunique(),
            **{f: j[f].cast("int64").sum() for f in flags},
        )
    ).to_pylist()[0]
    if seen["rows"] == seen["links"] and not any(seen[f] for f in flags):
        return None
    if seen["rows"] != seen["links"]:
        counted = j.group_by("link_id").aggregate(commits=j.count(), c_at=j.c_at.min())
        which = counted.filter(counted.commits > 1)
        first = eng.to_arrow(which.order_by("link_id").limit(1)).to_pylist()[0]
        count = eng.to_arrow(which.aggregate(n=which.count())).column("n")[0].as_py()
        return _disagreement("commits", first, count, directory)
    for kind in flags:
        which = j.filter(j[kind])
        first = eng.to_arrow(which.order_by(["link_id", "c_at"]).limit(1)).to_pylist()
        if first:
            count = eng.to_arrow(which.aggregate(n=which.link_id.nunique())).column("n")
            return _disagreement(kind, first[0], count[0].as_py(), directory)
    return None  # not reached: the aggregate counted a row of one of the kinds


def _disagreement(
    kind: str, hit: dict[str, Any], count: int, directory: Path | str
) -> schema.InputError:
    """`_links_against_commits`'s refusal of one kind, naming the first link (its row where
    the file is read here) and how many links disagree so. No ID is shown (``schema.too_long``):
    the link by its row, the commit by its time."""
    log = _file_of(directory, "desk_events")
    if kind == "commits":
        more = (
            f" ({count:,} links are committed more than once; the one with the lowest link_id is named)"
            if count > 1
            else ""
        )
        return schema.InputError(
            log,
            "link_id",
            f"a link has {hit['commits']} commit rows (the first at "
            f"{_t(hit['c_at'])}){more}: a link is committed once, so the log holds a row twice "
            "(exported over overlapping dates, or pasted again?); remove the repeated rows; "
            "nothing was written",
        )
    file = _file_of(directory, "links")
    row = (
        schema.row_of(Path(file), "links", "link_id", hit["link_id"])
        if isinstance(directory, Path)
        else None
    )
    where = f"row {row}" if row else f"a link (its link_id of {len(hit['link_id'])} characters)"
    log = Path(log).name
    if kind == "term_differs":
        more = (
            f" ({count:,} desk links do so; the one with the lowest link_id is named)"
            if count > 1
            else ""
        )
        return schema.InputError(
            file,
            "terminal_id",
            f"{where} has a terminal_id other than the one {log} records its commit at "
            f"({_t(hit['c_at'])}){more}: a desk link's terminal is "
            "the one its commit was made at; the rules read the desk evidence at the commit's "
            "terminal and the report's timeline and a case's desk at the link's, so a finding "
            "would show another terminal's log; export both from the same record; nothing was "
            "written",
        )
    more = (
        f" ({count:,} desk links disagree so; the one with the lowest link_id is named)"
        if count > 1
        else ""
    )
    if kind == "staff_differs":
        return schema.InputError(
            file,
            "staff_id",
            f"{where} has a staff_id other than the one {log} records its commit under "
            f"({_t(hit['c_at'])}){more}: a desk link's staff member is the "
            "one its commit was made under; the rules read the commit's and the finding's "
            "sentence the link's, so a finding would contradict itself; export both from the "
            "same record; nothing was written",
        )
    hours = hit["apart"] / 3600
    zone = (
        f" ({hours:.0f} hours apart: is one of them in another time zone, UTC say? both are "
        "written in Japan's time, without a zone)"
        if hit["apart"] >= 3600 and abs(hours - round(hours)) < 0.02
        else ""
    )
    return schema.InputError(
        file,
        "linked_at",
        f"{where} has linked_at {_t(hit['linked_at'])}, but {log} records its commit at "
        f"{_t(hit['c_at'])}{zone}{more}: a desk link is made when it is committed (within "
        f"{LINKED_AT_SLACK_S // 60} minutes); the rules read the commit's time and the "
        "report's timeline and a case's session records the link's, so they would show another "
        "visit; export both from the same record; nothing was written",
    )


def _replace(files: dict[str, bytes | pa.Table], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp: list[tuple[Path, Path]] = []
    try:
        for name, content in files.items():
            part = out / f".{name}.part-{os.getpid()}"
            if isinstance(content, pa.Table):
                pq.write_table(content, part)
            else:
                part.write_bytes(content)
            tmp.append((part, out / name))
    except BaseException:
        for part, _ in tmp:
            part.unlink(missing_ok=True)
        raise
    for part, final in tmp:
        os.replace(part, final)
    # An earlier run's own output this run did not write (its report.pdf, under --no-pdf) would
    # be read beside this run's findings as theirs: removed once this run's are in place.
    for name in OUTPUTS:
        if name not in files:
            (out / name).unlink(missing_ok=True)


OUTPUTS = ("findings.parquet", "report.html", "report.pdf", "summary.json")


def _part_file(name: str) -> bool:
    return any(name.startswith(f".{o}.part-") for o in OUTPUTS)


def _check_out(out: Path, *, replace: bool) -> None:
    """Refuse, before anything runs, an output that is not a directory, or a directory
    already holding files (an earlier run's findings, or anything else) unless ``replace``:
    then only the run's own files are replaced, and only when it succeeds."""
    if out.exists() and not out.is_dir():
        raise schema.InputError(
            str(out), None, "exists and is not a directory: give a new directory for --out"
        )
    if not out.is_dir():
        return
    # A run that was killed may leave its hidden part files (".findings.parquet.part-PID").
    held = sorted(p.name for p in out.iterdir() if not _part_file(p.name))
    if not held:
        return
    if replace and set(held) <= set(OUTPUTS):
        return
    shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
    if replace:
        raise schema.InputError(
            str(out),
            None,
            f"holds files no scan wrote ({shown}): give a new or empty directory for --out",
        )
    raise schema.InputError(
        str(out),
        None,
        f"already holds {shown}: give a new or empty directory for --out, or --replace to "
        "replace an earlier run's files",
    )


def run(
    directory: Path | str,
    out: Path | str,
    *,
    engine: str = "duckdb",
    master: str = "local[2]",
    pdf: bool = True,
    timeline_limit: int = 200,
    progress: TextIO | None = sys.stderr,
    memory_limit: str = engines.DUCKDB_MEMORY_LIMIT,
    threads: int | None = None,
    replace: bool = False,
    every_mislink: bool = False,
) -> RunResult:
    """``every_mislink``: give every mis-link at a terminal its timeline (``--record``: the
    officials' pages and the cases' session records), not only the ``timeline_limit``
    highest-scored findings the report shows."""
    # A URI (s3a://…) stays a string: Spark reads it; DuckDB refuses it (schema.files).
    directory = str(directory) if schema.is_uri(str(directory)) else Path(directory)
    out = Path(out)
    _check_out(out, replace=replace)
    started_at = datetime.now(ZoneInfo(schema.JAPAN))  # written with its +09:00
    t0 = time.perf_counter()
    # Validated before anything runs, then the engine reads the files itself. DuckDB checks
    # each Parquet file in one query over its own read (``Engine.validate``); a local
    # directory for Spark is validated batch by batch (bounded memory) before Spark starts; a
    # URI by Spark, which can read it.
    early = engine != "duckdb" and not (engine == "spark" and isinstance(directory, str))
    rows = schema.validate(directory) if early else {}
    with engines.connect(engine, master=master, memory_limit=memory_limit, threads=threads) as eng:
        if not early:
            rows = eng.validate(directory)
        registered = eng.register_files(directory)
        unmatched = _no_commit_names_a_link(eng, registered, directory)
        if unmatched is not None:
            raise unmatched
        disagrees = _links_against_commits(eng, registered, directory)
        if disagrees is not None:
            raise disagrees
        findings = _with_progress(
            f"scan ({engine})",
            rows["links"],
            lambda: eng.to_arrow(eng.findings(registered)),
            progress,
            counted=eng.backend == "duckdb",
            steps=lambda: eng.steps_started,
        )
        unscanned, unscanned_ids = eng.unscanned(registered, rows["links"])
        if unscanned and unscanned == rows["links"]:
            raise _no_link_has_its_resident(eng, registered, directory)
        keys = report.timeline_keys(findings, timeline_limit, every_mislink=every_mislink)
        events = _timeline_events(eng, registered["desk_events"], keys)
    findings = findings.sort_by("link_id")
    # A finding whose holder could not be checked (its resident is not in residents: only the
    # desk rule flags it) has no check from the rules; the file says 3, unavailable, as the
    # output's columns list it and a recorded run keeps it (`labels.recorded_check`).
    checks = findings.schema.get_field_index("holder_check")
    if checks >= 0 and findings.column(checks).null_count:
        column = findings.column(checks)
        findings = findings.set_column(
            checks,
            findings.schema.field(checks),
            pc.fill_null(column, pa.scalar(labels.recorded_check(None), column.type)),
        )
    made_from = schema.dataset(directory)
    if made_from:  # a generated input: scan evaluate checks its truth is this input's
        findings = findings.replace_schema_metadata(
            {**(findings.schema.metadata or {}), schema.DATASET_KEY: made_from}
        )
    seconds = time.perf_counter() - t0
    counts = {c: 0 for c in report.CAUSE_JA}
    for c in findings.column("cause").to_pylist():
        counts[c] += 1
    summary = report.Summary(
        engine=engine,
        input_dir=str(directory),
        rows=rows,
        started=started_at,
        seconds=seconds,
        findings=findings.num_rows,
        timeline_limit=timeline_limit,
        unscanned=unscanned,
        unscanned_examples=unscanned_ids,
    )
    tl = report.timelines(keys, events)
    html = report.to_html(findings, summary, tl)
    files: dict[str, bytes | pa.Table] = {
        "findings.parquet": findings,
        "report.html": html.encode("utf-8"),
        "summary.json": json.dumps(
            {
                "engine": engine,
                "input": str(directory),
                "rows": rows,
                "started": started_at.isoformat(timespec="seconds"),
                "seconds": round(seconds, 2),
                "findings": counts,
                # Links whose resident is not in residents: not scanned (docs/scan.md).
                "unscanned_links": {"count": unscanned, "examples": unscanned_ids},
                "format_version": schema.FORMAT_VERSION,
            },
            ensure_ascii=False,
            indent=2,
        ).encode("utf-8"),
    }
    if pdf:
        # The PDF can take longer than the scan itself (WeasyPrint lays out every timeline:
        # 147 findings, 59 pages, 14 s of CPU at 50,000 links): say so before, and how long after,
        # so the run does not look stuck after its last step.
        shown = min(findings.num_rows, timeline_limit)
        if progress is not None:
            progress.write(f"writing report.pdf ({shown:,} findings with their timelines) …\n")
            progress.flush()
        pdf_started = time.perf_counter()
        files["report.pdf"] = report.to_pdf(html)
        if progress is not None:
            progress.write(f"report.pdf written in {time.perf_counter() - pdf_started:.1f} s\n")
    _replace(files, out)
    return RunResult(
        out=out,
        findings=findings,
        seconds=seconds,
        counts=counts,
        summary=summary,
        timelines=tl,
        total_seconds=time.perf_counter() - t0,
    )
