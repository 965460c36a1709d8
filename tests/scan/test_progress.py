"""``scan run``'s progress: per step of the engine, the name checks done in it and their rate
(the name checks run on the links earlier steps kept, so no total of links is claimed for
them), then one line for the whole scan whose name checks are the steps' sum."""

import io
import itertools
import re

import pytest
from django.core.management import call_command

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
