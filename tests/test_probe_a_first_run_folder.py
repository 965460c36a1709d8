"""Probe A (side doors round 22, issues 2 and 16): the first command in a fresh folder.

README Configuration: `DATABASE_URL` defaults to `sqlite:///var/madoguchi.sqlite3` and
`MADOGUCHI_DATA_DIR` to `./var`; "a missing or malformed setting is one line saying what to
set". Each test runs the installed `madoguchi` script in an empty environment, in an empty
folder, as an operator's first try.
"""

from tests.test_commands_for_people import run


def test_migrate_on_the_default_database_in_a_fresh_folder_works_or_names_the_folder(tmp_path):
    """`SECRET_KEY=… madoguchi migrate` with DATABASE_URL unset, in a folder where `var/` does
    not exist yet: "madoguchi: database error: unable to open database file (check that the
    database in DATABASE_URL is running and reachable)", exit 1, the same for every later
    command. The operator set no DATABASE_URL and there is no server to be running: the file's
    folder was never made (with DEBUG=1 the same command works, because the development key is
    written into var/ first). Either migrate makes its own data folder, or the line names the
    folder to create (or MADOGUCHI_DATA_DIR), not a server."""
    done = run(tmp_path, "migrate", "-v0", SECRET_KEY="x" * 50)
    assert "Traceback" not in done.stderr, done.stderr
    if done.returncode != 0:
        assert "running and reachable" not in done.stderr, done.stderr
        assert str(tmp_path / "var") in done.stderr, done.stderr
    else:
        assert (tmp_path / "var" / "madoguchi.sqlite3").is_file()


def test_a_data_dir_that_is_not_a_folder_is_one_line_in_debug(tmp_path):
    """`DEBUG=1 MADOGUCHI_DATA_DIR=/srv/madoguchi madoguchi migrate` where that path is a file
    (or, for a user without the rights, a folder they cannot write: PermissionError, the same
    path through the settings) ended in a FileExistsError traceback from the settings module,
    which makes the development key there before any command runs. Without DEBUG the same
    setting is one line (`audit keygen`: "cannot be written to …: Not a directory")."""
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("a file, not a folder\n")
    done = run(tmp_path, "organisation", "list", DEBUG="1", MADOGUCHI_DATA_DIR=str(not_a_folder))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("madoguchi: "), done.stderr
    assert "MADOGUCHI_DATA_DIR" in done.stderr, done.stderr


def test_migrate_makes_the_default_data_folder_and_the_database(tmp_path):
    """The fix's own answer (side doors round 22): the default data folder is made, the
    database migrated in it, and a later command reads it."""
    done = run(tmp_path, "migrate", "-v0", SECRET_KEY="x" * 50)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "var" / "madoguchi.sqlite3").is_file()
    listed = run(tmp_path, "organisation", "list", SECRET_KEY="x" * 50)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "name\tkind\tcity\tmunicipality_code\n"


def test_another_command_before_migrate_says_to_migrate_naming_the_folder(tmp_path):
    """`madoguchi organisation list` first in a fresh folder sent the operator to check a
    database server; it names the folder and `migrate`, and makes nothing."""
    done = run(tmp_path, "organisation", "list", SECRET_KEY="x" * 50)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "running and reachable" not in done.stderr
    assert str(tmp_path / "var") in done.stderr
    assert "madoguchi migrate" in done.stderr
    assert not (tmp_path / "var").exists()


def test_a_database_url_into_a_missing_folder_names_the_folder_and_makes_nothing(tmp_path):
    """DATABASE_URL=sqlite:////…/missing/db.sqlite3: the folder is the operator's to make (a
    typing mistake, a volume not mounted), and the line names it."""
    folder = tmp_path / "missing"
    url = f"sqlite:///{folder}/db.sqlite3"
    done = run(tmp_path, "migrate", "-v0", SECRET_KEY="x" * 50, DATABASE_URL=url)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("madoguchi: database error: DATABASE_URL names a SQLite file")
    assert str(folder) in done.stderr
    assert "running and reachable" not in done.stderr
    assert not folder.exists()


def test_a_data_folder_whose_parent_is_missing_is_named_not_made(tmp_path):
    data = tmp_path / "srv" / "madoguchi"
    done = run(tmp_path, "migrate", "-v0", SECRET_KEY="x" * 50, MADOGUCHI_DATA_DIR=str(data))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert str(tmp_path / "srv") in done.stderr
    assert "MADOGUCHI_DATA_DIR" in done.stderr
    assert not (tmp_path / "srv").exists()


def test_a_command_without_its_action_shows_its_usage_before_a_missing_secret(tmp_path):
    """`madoguchi staff` (no action) with no SECRET_KEY said "configuration error: Set
    SECRET_KEY"; once it was set, the usage line came next. The usage comes first."""
    done = run(tmp_path, "staff")
    assert done.returncode == 2
    assert "usage: madoguchi staff" in done.stderr
    assert "required: action" in done.stderr
    assert "SECRET_KEY" not in done.stderr
    assert not (tmp_path / "var").exists()
    # Arguments that parse still get the configuration line.
    done = run(tmp_path, "staff", "list")
    assert done.stderr.startswith("madoguchi: configuration error: Set SECRET_KEY")
