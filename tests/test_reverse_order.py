"""`pytest --reverse` (tests/conftest.py) runs the suite backwards, as Django's `test --reverse`
does: each of pytest-django's groups (database tests, transactional ones, the rest) in reverse,
the groups in their order, so a test that passes only after another is found."""

import os
import subprocess
import sys

# A file of database tests and one of none: collected in this order, run database tests first.
DATABASE_FILE = "tests/reports/test_name_check_reason.py"
PLAIN_FILE = "tests/test_str_times.py"


def _collected(*options: str) -> list[str]:
    pytest = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only")
    done = subprocess.run(
        [*pytest, *options, PLAIN_FILE, DATABASE_FILE],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=300,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_reverse_runs_each_group_backwards_and_keeps_the_groups_order():
    forward = _collected()
    database = [test for test in forward if test.startswith(DATABASE_FILE)]
    plain = [test for test in forward if test.startswith(PLAIN_FILE)]
    assert len(database) > 1
    assert plain
    assert forward == database + plain
    assert _collected("--reverse") == database[::-1] + plain[::-1]
