"""A SQLite DATABASE_URL must name an absolute file (README: `sqlite:///ABSOLUTE/PATH`): a
relative path named a different file in each folder, and a file name read as the URL's host was
refused for a reason it did not have."""


def test_a_relative_sqlite_path_is_refused_as_not_absolute(tmp_path):
    """README: "sqlite:///ABSOLUTE/PATH". `sqlite:///relative.db` is taken as the file
    relative.db in whatever folder the command runs in: `madoguchi migrate` in one folder,
    then `madoguchi serve` in another says "The database is not migrated: run `madoguchi
    migrate` first" (and leaves an empty relative.db there) — the loop the in-memory refusal
    was made to end."""
    from tests.test_commands_for_people import run

    done = run(tmp_path, "check", SECRET_KEY="x" * 50, DATABASE_URL="sqlite:///relative.db")
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.startswith("madoguchi: configuration error: DATABASE_URL is not valid")
    assert not (tmp_path / "relative.db").exists()


def test_a_sqlite_url_naming_a_file_is_not_said_to_have_no_file(tmp_path):
    """`sqlite://relative.db` (two slashes: the file name read as the URL's host) is refused,
    but said to be "a SQLite URL with no file … a database in memory": the URL names a file;
    and django-environ's UserWarning ("SQLite URL contains host component", twice, with the
    source line) comes before the one line the README promises."""
    from tests.test_commands_for_people import run

    done = run(tmp_path, "check", SECRET_KEY="x" * 50, DATABASE_URL="sqlite://relative.db")
    assert done.returncode == 2, done.stderr
    assert "in memory" not in done.stderr, done.stderr
    assert "with no file" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
