"""`madoguchi serve`'s gunicorn command line: idle connections outlive the clients' reuse."""

import re
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from madoguchi.core.bench import completion as bench
from madoguchi.core.management.commands import serve


class _Sweeper:
    """What `subprocess.Popen` gives `serve` for its sweeper, in tests that start none."""

    pid = 2**31 - 1  # no such process


def _argv(monkeypatch, *args):
    seen = {}
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: _Sweeper())  # the sweeper
    monkeypatch.setattr(serve.os, "execv", lambda exe, argv: seen.setdefault("argv", argv))
    call_command("serve", *args)
    return seen["argv"]


def _keep_alive(argv):
    return int(argv[argv.index("--keep-alive") + 1])


def test_idle_connections_stay_open_longer_than_proxies_and_the_bench_reuse_them(monkeypatch):
    monkeypatch.delenv("MADOGUCHI_KEEPALIVE_SECONDS", raising=False)
    keep_alive = _keep_alive(_argv(monkeypatch))
    # nginx's upstream keepalive_timeout and common load balancers' idle timeout: 60 s.
    assert keep_alive > 60
    assert keep_alive > bench.KEEPALIVE_EXPIRY


@pytest.mark.parametrize("args", [("--keep-alive", "5"), ()])
def test_keep_alive_can_be_set(monkeypatch, args):
    monkeypatch.setenv("MADOGUCHI_KEEPALIVE_SECONDS", "5")
    assert _keep_alive(_argv(monkeypatch, *args)) == 5


def test_workers_default_to_one_per_core_and_one_more_and_can_be_set(monkeypatch):
    """Threaded workers (8 requests each): cores + 1 processes, not gunicorn's 2 x cores + 1 for
    sync workers, which cost more server CPU per visit on 2 cores (issue 15, tenth round); the
    bench polls as many workers for its counts as the server starts."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 2)
    argv = _argv(monkeypatch)
    assert argv[argv.index("--workers") + 1] == "3"
    assert serve.default_workers() == 3
    monkeypatch.setattr(serve.os, "cpu_count", lambda: None)
    assert serve.default_workers() == 2
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    argv = _argv(monkeypatch)
    assert argv[argv.index("--workers") + 1] == "5"
    assert serve.default_workers() == 5


def test_threads_per_worker_default_to_eight_and_can_be_set(monkeypatch):
    monkeypatch.delenv("MADOGUCHI_THREADS", raising=False)
    argv = _argv(monkeypatch)
    assert argv[argv.index("--threads") + 1] == "8"
    monkeypatch.setenv("MADOGUCHI_THREADS", "2")
    argv = _argv(monkeypatch)
    assert argv[argv.index("--threads") + 1] == "2"


class _Response:
    def __init__(self, status, sent):
        self.status, self.sent = status, sent
        self.headers = [("Content-Type", "text/html"), ("X-Frame-Options", "DENY")]


class _Request:
    headers = [("HOST", "127.0.0.1"), ("ACCEPT", "*/*")]


_ENVIRONS = [
    {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/api/v1/visits/start?x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "http://127.0.0.1/desk/",
        "HTTP_USER_AGENT": 'agent "quoted"',
    },
    {  # no referer, no agent, basic authentication, nothing sent
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/healthz",
        "SERVER_PROTOCOL": "HTTP/1.0",
        "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz",
    },
]


def _masked(environ):
    from madoguchi import logsafe

    return {**environ, "RAW_URI": logsafe.safe_url(environ["RAW_URI"])}


@pytest.mark.parametrize("environ", _ENVIRONS)
@pytest.mark.parametrize("response", [_Response("200 OK", 1234), _Response(302, None)])
def test_the_access_log_writes_gunicorns_lines(environ, response):
    """`madoguchi serve` logs every request with its own logger class (issue 15: less CPU);
    the line is the one gunicorn's logger writes, and any other format is gunicorn's."""
    from datetime import timedelta

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from madoguchi.core.accesslog import AccessLogger

    def line(logger_class, fmt=None):
        cfg = Config()
        if fmt:
            cfg.set("access_log_format", fmt)
        logger = logger_class(cfg)
        # Ours masks the query's values (docs/security.md, round 8): gunicorn's line is the same
        # for the address so masked.
        seen = environ if logger_class is AccessLogger else _masked(environ)
        atoms = logger.atoms(response, _Request(), seen, timedelta(seconds=1, microseconds=5))
        return cfg.access_log_format % logger.atoms_wrapper_class(atoms)

    def same(fmt=None):
        for _ in range(3):  # the time atom: both read within one second (gunicorn's clock)
            second = time.localtime()
            ours, theirs = line(AccessLogger, fmt), line(Logger, fmt)
            if time.localtime() == second:
                return ours == theirs
        raise AssertionError("the clock moved on three times")

    assert same()
    assert "[" in line(AccessLogger)
    assert "]" in line(AccessLogger)
    assert '"POST /api/v1/visits/start?x=* HTTP/1.1"' in line(AccessLogger) or (
        environ["REQUEST_METHOD"] == "GET"
    )
    assert same('%(h)s %(m)s %(U)s %(q)s %(D)s %({host}i)s %({content-type}o)s "%(r)s" %(t)s')


def test_serve_logs_with_the_access_logger(monkeypatch):
    argv = _argv(monkeypatch)
    assert argv[argv.index("--logger-class") + 1] == "madoguchi.core.accesslog.AccessLogger"
    assert argv[argv.index("--access-logfile") + 1] == "-"


@pytest.mark.parametrize("environ", _ENVIRONS)
def test_the_access_log_line_reaches_its_file_as_through_logging(environ, tmp_path, monkeypatch):
    """The default access log is written to gunicorn's own handler without a LogRecord
    (issue 15, seventh round), the same line as logging writes; a filter on the access log (or
    anything else gunicorn did not set up) takes logging's path and sees every line."""
    import logging
    from datetime import timedelta

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    from madoguchi.core.accesslog import AccessLogger

    records = []
    handle = logging.Logger.handle

    def counting(self, record):
        records.append(record)
        return handle(self, record)

    monkeypatch.setattr(logging.Logger, "handle", counting)
    response = _Response("200 OK", 1234)

    def written(logger_class, name, log_filter=None):
        cfg = Config()
        cfg.set("accesslog", str(tmp_path / name))
        logger = logger_class(cfg)
        # gunicorn's handler alone (pytest's capture may have added its own).
        own = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
        monkeypatch.setattr(logger.access_log, "handlers", own)
        if log_filter is not None:
            logger.access_log.addFilter(log_filter)
        try:
            for _ in range(3):  # the time atom: both lines within one second
                second = time.localtime()
                seen = environ if logger_class is AccessLogger else _masked(environ)
                logger.access(response, _Request(), seen, timedelta(seconds=1))
                if time.localtime() == second:
                    break
        finally:
            for handler in list(logger.access_log.handlers):
                logger.access_log.removeHandler(handler)
                handler.close()
            if log_filter is not None:
                logger.access_log.removeFilter(log_filter)
        return (tmp_path / name).read_text().splitlines()[-1]

    for _ in range(3):
        second = time.localtime()
        records.clear()
        ours = written(AccessLogger, "ours.log")
        assert not [r for r in records if r.name == "gunicorn.access"]  # no LogRecord
        theirs = written(Logger, "theirs.log")
        assert [r for r in records if r.name == "gunicorn.access"]
        if time.localtime() == second:
            break
    assert ours == theirs
    assert ours.split('"')[1] in ("POST /api/v1/visits/start?x=* HTTP/1.1", "GET /healthz HTTP/1.0")

    seen = []
    records.clear()
    filtered = written(AccessLogger, "filtered.log", lambda record: seen.append(record) or True)
    assert len(seen) == 1
    assert filtered.split(" [")[0] == ours.split(" [")[0]


@pytest.mark.django_db
def test_the_sweeper_stops_soon_after_serve_is_gone_not_after_its_interval(monkeypatch):
    """Ctrl-C on `madoguchi serve` (or `make demo`) used to leave its sweeper behind for up to
    the rest of its interval (30 s): it looked for its parent only after each whole sleep."""
    from madoguchi.core.management.commands import sweep

    clock = {"now": 0.0}

    class FakeTime:
        @staticmethod
        def monotonic():
            return clock["now"]

        @staticmethod
        def sleep(seconds):
            clock["now"] += seconds

    monkeypatch.setattr(sweep, "time", FakeTime)
    # The parent (serve) is there for the first sweep and gone 2 s into the wait.
    monkeypatch.setattr(sweep, "_alive", lambda pid: clock["now"] < 2)
    call_command("sweep", every=30, parent_pid=4242)
    assert clock["now"] <= 2 + sweep.PARENT_CHECK_SECONDS


def test_ctrl_c_in_the_terminal_reaches_serve_not_its_sweeper(monkeypatch):
    """The sweeper runs in a process group of its own: the terminal's Ctrl-C (SIGINT to the
    foreground group) stops gunicorn; the sweeper follows its parent instead of dying with a
    KeyboardInterrupt traceback on the console."""
    started = []
    monkeypatch.setattr(
        serve.subprocess, "Popen", lambda argv, **kw: started.append((argv, kw)) or _Sweeper()
    )
    monkeypatch.setattr(serve.os, "execv", lambda exe, argv: None)
    call_command("serve")
    [(argv, kw)] = started
    assert "sweep" in argv
    assert "--parent-pid" in argv
    assert kw.get("process_group") == 0 or kw.get("start_new_session")


def test_serve_opens_no_gunicorn_control_socket(monkeypatch):
    """gunicorn 27's admin socket ($HOME/.gunicorn/gunicorn.ctl) was one path for every server
    the user ran: the demo's and another `madoguchi serve` took it from each other."""
    assert "--no-control-socket" in _argv(monkeypatch)


def _option(argv, name):
    return argv[argv.index(name) + 1]


def test_request_limits_are_explicit_and_can_be_set(monkeypatch):
    """gunicorn's own limits were left implicit (docs/security.md "Request limits")."""
    for name in ("LINE", "FIELDS", "FIELD_SIZE"):
        monkeypatch.delenv(f"MADOGUCHI_LIMIT_REQUEST_{name}", raising=False)
    argv = _argv(monkeypatch)
    assert _option(argv, "--worker-class") == "madoguchi.core.gworker.Worker"
    assert _option(argv, "--limit-request-line") == "4094"
    assert _option(argv, "--limit-request-fields") == "100"
    assert _option(argv, "--limit-request-field_size") == "8190"
    monkeypatch.setenv("MADOGUCHI_LIMIT_REQUEST_LINE", "2048")
    argv = _argv(monkeypatch, "--limit-request-fields", "50")
    assert _option(argv, "--limit-request-line") == "2048"
    assert _option(argv, "--limit-request-fields") == "50"


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (("--workers", "0"), {}, "--workers: must be a whole number of at least 1, not '0'"),
        ((), {"WEB_CONCURRENCY": "lots"}, "--workers: must be a whole number of at least 1"),
        (("--threads", "0"), {}, "--threads: must be a whole number of at least 1, not '0'"),
        ((), {"MADOGUCHI_THREADS": "-2"}, "(when not given, MADOGUCHI_THREADS sets it)"),
        (("--keep-alive", "-1"), {}, "--keep-alive: must be a whole number of at least 0"),
        (("--limit-request-line", "x"), {}, "--limit-request-line: must be a whole number"),
        # gunicorn forked workers for `--workers 99999999999999999999` until the machine stood
        # still (a probe of the commands, thirty-sixth session).
        (
            ("--workers", "99999999999999999999"),
            {},
            "--workers: must be a whole number of at most 64, not '99999999999999999999'",
        ),
        ((), {"WEB_CONCURRENCY": "65"}, "--workers: must be a whole number of at most 64"),
        (("--threads", "1025"), {}, "--threads: must be a whole number of at most 1024"),
    ],
)
def test_worker_counts_and_limits_out_of_range_are_refused_naming_where_they_came_from(
    monkeypatch, args, env, said
):
    """`serve --workers 0` started a gunicorn master with no worker (it accepted connections
    and answered none); a bad WEB_CONCURRENCY was a ValueError traceback."""
    from django.core.management import CommandError

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match=re.escape(said)):
        _argv(monkeypatch, *args)


@pytest.mark.parametrize("interval", [0, -5])
def test_a_sweep_interval_that_leaves_no_sweeper_is_refused(monkeypatch, settings, interval):
    """SWEEP_INTERVAL_SECONDS=0 swept once and left no sweeper beside the server; a negative
    value was refused in the sweeper's process while the server started anyway."""
    from django.core.management import CommandError

    settings.SWEEP_INTERVAL_SECONDS = interval
    with pytest.raises(
        CommandError, match=f"SWEEP_INTERVAL_SECONDS must be more than 0 \\(it was {interval}\\)"
    ):
        _argv(monkeypatch)


@pytest.mark.parametrize("value", ["four", "0", "-2", "2.5", "65"])
def test_a_bad_web_concurrency_is_one_line_for_serve_and_the_bench(monkeypatch, value):
    """`default_workers()` (the bench's count of workers) refuses what `serve` refuses, as one
    line naming the variable; the bench says it before creating its database."""
    monkeypatch.setenv("WEB_CONCURRENCY", value)
    with pytest.raises(CommandError, match=r"^WEB_CONCURRENCY must be a whole number") as exc:
        serve.default_workers()
    assert repr(value) in str(exc.value)
    assert "\n" not in str(exc.value)

    def no_database():
        raise AssertionError("the bench created a database")

    monkeypatch.setattr(bench, "create_database", no_database)
    with pytest.raises(CommandError, match=r"^WEB_CONCURRENCY must be a whole number"):
        call_command("bench", "completion")


def test_an_empty_web_concurrency_is_the_default(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "")
    monkeypatch.setattr(serve.os, "cpu_count", lambda: 2)
    assert serve.default_workers() == 3
