"""``scan run``'s progress: per step of the engine, the name checks done in it and their rate
(the name checks run on the links earlier steps kept, so no total of links is claimed for
them), then one line for the whole scan whose name checks are the steps' sum."""

import io
import itertools
import json
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from madoguchi.era import format_era_time
from madoguchi.scan import namematch
from madoguchi.scan import run as scan_run


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    directory = tmp_path_factory.mktemp("progress") / "in"
    call_command("scan", "generate", "--links", "3000", str(directory), stdout=io.StringIO())
    return directory


# "step 3: …", or "steps 4-6: …" for steps that started and ended between two looks.
STEP = re.compile(r"scan \(duckdb\) steps? (\d+)(?:-(\d+))?: ([\d,]+) name checks in [\d.]+ s")


@pytest.mark.parametrize("stream", [io.StringIO, Terminal])
def test_each_step_says_its_name_checks_and_the_total_is_their_sum(tmp_path, data, stream):
    lines = stream()
    scan_run.run(data, tmp_path / "out", pdf=False, progress=lines, threads=2)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", lines.getvalue())  # a terminal's colours
    steps = [(int(a), int(b or a), int(c.replace(",", ""))) for a, b, c in STEP.findall(text)]
    assert len(steps) >= 2, text
    # Every step said once, in order, from the first to the last the engine ran.
    assert steps[0][0] == 1, text
    assert all(later[0] == earlier[1] + 1 for earlier, later in itertools.pairwise(steps)), text
    total = re.search(r"scan \(duckdb\): 3,000 links, ([\d,]+) name checks in", text)
    assert total, text
    assert sum(c for _, _, c in steps) == int(total.group(1).replace(",", "")), text
    assert "/ 3,000 rows" not in text  # the links are not the name checks' total


def test_writing_the_pdf_is_said_before_and_after_so_the_run_does_not_look_stuck(tmp_path, data):
    """The PDF is written after the scan's last line and can take longer than the scan."""
    lines = io.StringIO()
    scan_run.run(data, tmp_path / "out", pdf=True, progress=lines, threads=2, timeline_limit=3)
    text = lines.getvalue()
    before = text.index("writing report.pdf (3 findings with their timelines)")
    assert text.index("scan (duckdb): 3,000 links") < before
    assert re.search(r"report\.pdf written in [\d.]+ s", text[before:]), text
    assert (tmp_path / "out" / "report.pdf").exists()
    quiet = io.StringIO()
    scan_run.run(data, tmp_path / "again", pdf=False, progress=quiet, threads=2)
    assert "report.pdf" not in quiet.getvalue()


@pytest.mark.parametrize(("tick", "rated"), [(0.01, False), (0.5, True)])
def test_no_rate_is_said_when_the_time_is_too_short_to_give_one(monkeypatch, tick, rated):
    """A tiny input's step and scan end within a few hundredths of a second: no rate (it
    said "0 links/s", "(0 checks/s)"); over a longer time the rate is said."""
    clock = itertools.count(step=tick)
    monkeypatch.setattr(scan_run.time, "perf_counter", lambda: next(clock))
    lines = io.StringIO()
    ran = threading.Event()  # the thread outlives the first look, as a step does
    scan_run._with_progress("scan (duckdb)", 3, lambda: ran.wait(0.05), lines, steps=lambda: 1)
    text = lines.getvalue()
    assert re.search(r"scan \(duckdb\) step 1: 0 name checks in [\d.]+ s", text), text
    assert re.search(r"scan \(duckdb\): 3 links, 0 name checks in [\d.]+ s", text), text
    assert ("links/s" in text) == rated, text
    assert "checks/s" not in text, text  # no name was checked: no rate of them, however long


@pytest.mark.parametrize("checked", [0, 5000])
def test_a_step_gives_a_rate_of_name_checks_only_when_it_checked_some(monkeypatch, checked):
    """A step of joins and sorts took 17.8 s at 100M and said "0 name checks in 17.8 s
    (0 checks/s)"; a step that checked names says how fast."""
    clock = itertools.count(step=0.5)
    monkeypatch.setattr(scan_run.time, "perf_counter", lambda: next(clock))

    def step() -> None:
        namematch.COUNTER.add(checked)
        time.sleep(0.05)  # the thread outlives the first look, as a step does

    lines = io.StringIO()
    scan_run._with_progress("scan (duckdb)", 3, step, lines, steps=lambda: 1)
    text = lines.getvalue()
    assert re.search(rf"step 1: {checked:,} name checks in [\d.]+ s", text), text
    assert ("checks/s" in text) == bool(checked), text


def test_summary_json_says_when_the_run_started_in_japan_time_with_its_zone(tmp_path, data):
    before = datetime.now(UTC).replace(microsecond=0)
    result = scan_run.run(data, tmp_path / "out", pdf=False, progress=None, threads=2)
    after = datetime.now(UTC)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    started = datetime.fromisoformat(summary["started"])
    assert started.utcoffset() == timedelta(hours=9), summary["started"]
    assert before <= started <= after
    assert result.summary.started.replace(microsecond=0) == started  # the recorded run's
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    # In the era, as the officials' pages and the letters date a day (2026年12月02日 before).
    assert f"<th>実行日時</th><td>{format_era_time(started)}</td>" in html
    assert "令和" in html.split("<h2>3 各件の根拠</h2>")[1]  # each finding's link date too
    assert not re.search(r"\d{4}年\d{2}月", html)
