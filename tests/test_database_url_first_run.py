"""First-run errors a newcomer meets: DATABASE_URL values mistyped (issue #16).

The README's Configuration promises that "a missing or malformed setting is one line saying
what to set (`… DATABASE_URL is not valid …`)". Each of these was a traceback or a loop.
"""

import pytest

from tests.test_commands_for_people import run


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("postgres://postgres@127.0.0.1:543a/madoguchi", "the port"),  # a typo in the port
        ("postgres://postgres@127.0.0.1:99999/madoguchi", "the port"),  # out of range
        ("postgres://postgres@127.0.0.1:-1/madoguchi", "the port"),
        ("postgres://postgres@[::1/madoguchi", "IPv6 host's ["),  # a bracket not closed
    ],
)
def test_a_database_url_with_a_malformed_port_is_one_line_naming_it(tmp_path, url, what):
    """Each was urllib's ValueError traceback ("Port could not be cast to integer value",
    "Port out of range 0-65535") from django-environ, raised while the settings load."""
    done = run(tmp_path, "migrate", SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("madoguchi: configuration error: DATABASE_URL is not valid")
    assert what in done.stderr


@pytest.mark.parametrize(
    "url",
    [
        "postgres://madoguchi:hunter2@127.0.0.1:54x2/madoguchi",
        # A password with an unescaped "/" ends the host early: urllib reads "hun" as the port.
        "postgres://madoguchi:hun/ter2@127.0.0.1:5432/madoguchi",
    ],
)
def test_the_refusal_of_a_malformed_port_does_not_show_the_password(tmp_path, url):
    done = run(tmp_path, "serve", SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("madoguchi: configuration error: DATABASE_URL is not valid")
    assert "hun" not in done.stderr
    assert "54x2" not in done.stderr


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite://:memory:"])
def test_an_in_memory_sqlite_url_is_refused_not_migrated_into_nothing(tmp_path, url):
    """`DATABASE_URL=sqlite://` (no path: django-environ reads it as `:memory:`) was taken:
    `madoguchi migrate` migrated a database that is gone when it exits (exit 0), and every
    later command then said "the database is not migrated: run `madoguchi migrate`", a loop
    with no way out. The README asks for sqlite:///ABSOLUTE/PATH: refused as not valid."""
    done = run(tmp_path, "migrate", "-v0", SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.startswith("madoguchi: configuration error: DATABASE_URL is not valid")
    assert "in memory" in done.stderr
    assert not (tmp_path / "var").exists()
