"""Project-wide test configuration."""

import os
import random

import pytest
from django.utils import translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests import cardkit, leftovers

# A hard bound on each test's time (tests/hang_bound.py): a hang ends the run with every thread's
# stack instead of running CI past its limit.
pytest_plugins = ["tests.hang_bound"]

# The marker `database` is put on every test that uses the database: it has the django_db mark,
# or needs (directly or through its fixtures) pytest-django's database helper or `live_server`.
# `make test-sqlite` runs only those (`-m database`): the SQLite pass proves the embedded database
# works, and a test that never touches a database would only repeat the PostgreSQL pass. A test
# cannot use the database without being marked: pytest-django refuses database access to a test
# that did not ask for it, and asking only at run time (`request.getfixturevalue("db")`) fails below.
_DATABASE_FIXTURES = frozenset({"_django_db_helper", "live_server"})


def _uses_database(item: pytest.Item) -> bool:
    if item.get_closest_marker("django_db") is not None:
        return True
    return bool(_DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ())))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reverse",
        action="store_true",
        help="run the tests in reverse order, to find a test that passes only after another",
    )
    parser.addoption(
        "--shuffle",
        type=int,
        metavar="SEED",
        help="run the tests in an order shuffled by SEED (the same seed, the same order), to find"
        " a test that passes only in the order the tests happen to run",
    )


@pytest.hookimpl(wrapper=True)  # before every other plugin's: `-m` selecting, pytest-django sorting
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """Marks the tests that use the database (`database`, which `-m database` then selects).

    `--reverse` runs the suite backwards, as Django's `test --reverse` does (Open Forms runs its
    suite a second time so): the items are reversed before pytest-django orders them, so its
    grouping (database tests, then transactional ones, then the rest) stays and each group runs
    in reverse. A test that passes only because of what ran before it (a language left active,
    a cache, a leftover row) then fails."""
    for item in items:
        if _uses_database(item):
            item.add_marker(pytest.mark.database)
    if config.getoption("reverse"):
        items.reverse()
    seed = config.getoption("shuffle")
    if seed is not None:
        items[:] = _shuffled(items, random.Random(seed))
    return (yield)


def _shuffled(items: list[pytest.Item], rng: random.Random) -> list[pytest.Item]:
    """The items in an order drawn from `rng`, as pytest-randomly shuffles: the modules in a new
    order, in each module its classes (and its own functions) in a new order, in each class its
    tests. A module's tests stay together, so a module-scoped fixture (a live server, pcscd) is
    still set up once a run; what one module leaves behind another then meets, and a test within
    a module meets what its neighbours leave. pytest-django groups the result afterwards
    (database tests, transactional ones, the rest), keeping this order within each group."""
    modules: dict[str, dict[str, list[pytest.Item]]] = {}
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        parent = item.parent.nodeid if item.parent is not None else module
        modules.setdefault(module, {}).setdefault(parent, []).append(item)
    order: list[pytest.Item] = []
    module_list = list(modules.values())
    rng.shuffle(module_list)
    for parents in module_list:
        groups = list(parents.values())
        rng.shuffle(groups)
        for tests in groups:
            rng.shuffle(tests)
            order.extend(tests)
    return order


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> None:
    item = request.node
    if (
        fixturedef.argname in _DATABASE_FIXTURES
        and isinstance(item, pytest.Item)
        and item.get_closest_marker("database") is None
    ):
        pytest.fail(
            f"{item.nodeid} asks for the database only at run time: mark it "
            "@pytest.mark.django_db so that the SQLite pass (-m database) keeps it",
            pytrace=False,
        )


def pytest_configure(config: pytest.Config) -> None:
    """The test databases are thrown away: a commit need not wait for the disk. SQLite's commit
    waited for an fsync of the database file (about 9 ms each on this machine), PostgreSQL's
    for its WAL flush on a server other runs share; a transactional test commits dozens of
    times. Nothing a test asserts depends on surviving a crash of the machine. Servers the tests
    start as processes (gunicorn, `madoguchi serve`) keep their normal settings."""
    if config.getoption("reverse") and config.getoption("shuffle") is not None:
        # Both were taken without a word, the shuffle undoing the reversal.
        raise pytest.UsageError(
            "--reverse and --shuffle are two orders of the tests: give one of them."
        )
    from django.conf import settings

    database = settings.DATABASES["default"]
    options = database.setdefault("OPTIONS", {})
    if database["ENGINE"].endswith("sqlite3"):
        before = options.get("init_command")
        options["init_command"] = (
            f"{before}; PRAGMA synchronous=OFF" if before else ("PRAGMA synchronous=OFF")
        )
    elif database["ENGINE"].endswith("postgresql"):
        options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()
        _flush_by_delete()
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # once a run, in its controlling process
        # Databases of killed runs (their process gone) stay on the server until dropped:
        # drop them now, never a live run's (tests/leftovers.py).
        config.stash[_LEFTOVERS] = leftovers.drop_leftovers(database)


_LEFTOVERS = pytest.StashKey[list[str]]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    seed = config.getoption("shuffle")
    if seed is not None:
        lines.append(f"shuffled with --shuffle {seed} (the same seed runs the same order)")
    dropped = config.stash.get(_LEFTOVERS, [])
    if dropped:
        lines.append(
            f"dropped {len(dropped)} leftover(s) of killed test runs: {', '.join(dropped)}"
        )
    return lines


def _flush_by_delete() -> None:
    """A transactional test ends with a flush of every table. On PostgreSQL Django's flush is
    one TRUNCATE of the ~60 tables, which makes new files for each table and its indexes: about
    1 s a test on this machine, more under load, for tables holding a few rows. The tests' flush
    (never one that resets sequences) deletes the rows instead, as a superuser with triggers and
    foreign-key checks off for that transaction (`session_replication_role = replica`: every
    table is emptied, and the append-only audit and ledger triggers would refuse a DELETE).
    Without superuser rights the TRUNCATE stays."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables or not _superuser(self.connection):
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return ["SET LOCAL session_replication_role = replica;"] + [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(t))};"
            for t in tables
        ]

    DatabaseOperations.sql_flush = sql_flush


def _superuser(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


# The properties are about values, not speed: on a loaded 2-core machine generating an example
# can take seconds, and neither Hypothesis's "generation too slow" check nor its 200 ms deadline
# is something these tests assert. Example counts stay as each test sets them.
hypothesis_settings.register_profile(
    "madoguchi", suppress_health_check=[HealthCheck.too_slow], deadline=None
)
hypothesis_settings.load_profile("madoguchi")


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A JPKI-TEST CA and residents A, B, C's virtual cards (made once per session)."""
    return cardkit.make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def desk_extra_cards() -> dict:
    """More virtual cards for the live desk's agent (`tests.desk.test_e2e.desk_env`): file name
    -> card state. None by default; a test module overrides this fixture to add some."""
    return {}


@pytest.fixture
def trusted(db, pki):
    """The test CA configured as trust anchor, with a fresh CRL imported."""
    from madoguchi.identity import services as identity

    identity.trust_anchor_add(pem=pki.ca.certificates_pem(), name="JPKI-TEST")
    identity.crl_import(data=pki.ca.crl_pem(), source="test")
    return pki


@pytest.fixture
def clock_held(monkeypatch):
    """For a test of a per-minute limit (the counters are per clock minute): Django's clock
    (`django.utils.timezone.now`, which the counters and the code that passes them `now` read)
    is held at the test's start, so all its requests fall in one minute however slow the
    machine. It used to wait up to 20 s for a minute with 20 s left, which a loaded machine
    could still overrun (a test that crossed a minute's end found its counter at zero)."""
    from django.utils import timezone

    held = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: held)
    return held


@pytest.fixture(autouse=True)
def _audit_files_apart(settings, tmp_path):
    """Checkpoints and their signing key go to the test's own folder, never to ./var: the demo
    keeps its own there (`make demo`), and a test's checkpoint of the test database, signed with
    the demo's key, made the demo's `audit verify` report its log as rewritten."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_KEY_FILE = tmp_path / "keys" / "checkpoint.pem"


@pytest.fixture(autouse=True)
def _language_of_a_fresh_thread():
    """Each test starts in the language a new thread has (settings.LANGUAGE_CODE, Japanese), as
    each request does (LocaleMiddleware activates its own): a test client request for an English
    page leaves English active in the thread, and a later test in the same process read its
    Japanese report or refusal in English (tests/test_language_between_tests.py)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _test_procedure(settings):
    settings.DESK_TEST_PROCEDURE = True
    settings.PASSWORD_HASHERS = ["tests.hashers.OneIterationPBKDF2PasswordHasher"]
