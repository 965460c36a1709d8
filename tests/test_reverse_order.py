"""`pytest --reverse` (tests/conftest.py) runs the suite backwards, as Django's `test --reverse`
does: each of pytest-django's groups (database tests, transactional ones, the rest) in reverse,
the groups in their order, so a test that passes only after another is found. `pytest --shuffle
SEED` runs them in an order drawn from SEED: the same seed, the same order, so an order that made a
test fail can be run again; another seed, another order; the groups keep their order (database
tests first) and a module's tests stay together."""

import os
import subprocess
import sys

# A file of database tests and two of none: collected in this order, run database tests first.
DATABASE_FILE = "tests/reports/test_name_check_reason.py"
PLAIN_FILE = "tests/test_str_times.py"
OTHER_PLAIN_FILE = "tests/test_zone_words.py"


def _collected(*options: str) -> list[str]:
    pytest = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only")
    done = subprocess.run(
        [*pytest, *options, PLAIN_FILE, OTHER_PLAIN_FILE, DATABASE_FILE],
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
    plain = [test for test in forward if not test.startswith(DATABASE_FILE)]
    assert len(database) > 1
    assert plain
    assert forward == database + plain
    assert _collected("--reverse") == database[::-1] + plain[::-1]


def _modules_in_turn(tests: list[str]) -> list[str]:
    turns: list[str] = []
    for test in tests:
        module = test.split("::", 1)[0]
        if not turns or turns[-1] != module:
            turns.append(module)
    return turns


def test_a_seed_draws_one_order_of_the_same_tests_in_the_groups_order():
    forward = _collected()
    database = [test for test in forward if test.startswith(DATABASE_FILE)]
    assert len(database) > 1
    orders = {seed: _collected("--shuffle", str(seed)) for seed in (1, 2)}
    assert _collected("--shuffle", "1") == orders[1]
    for order in orders.values():
        assert sorted(order) == sorted(forward)
        assert sorted(order[: len(database)]) == sorted(database)
        assert sorted(_modules_in_turn(order)) == sorted(_modules_in_turn(forward))
    assert len({tuple(order) for order in orders.values()} | {tuple(forward)}) > 1


def test_reverse_and_shuffle_together_are_refused_naming_both():
    """Both were taken without a word: the shuffle drew its order from the reversed one."""
    pytest = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--collect-only")
    done = subprocess.run(
        [*pytest, "--reverse", "--shuffle", "3", PLAIN_FILE],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=300,
        check=False,
    )
    assert done.returncode == 4  # pytest's usage error
    assert "--reverse and --shuffle are two orders of the tests: give one of them." in done.stderr
    assert "::" not in done.stdout  # nothing collected
