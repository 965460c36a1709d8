"""`make messages` (scripts/messages.py) rewrites only what changed in a catalogue: an entry
whose message is the same keeps its text and place, whatever gettext's rewrite did to its
source lines, its order, its wrapping or the extraction date."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("messages_script", ROOT / "scripts" / "messages.py")
assert spec is not None
assert spec.loader is not None
messages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(messages)

OLD = """msgid ""
msgstr ""
"POT-Creation-Date: 2026-11-30 08:34+0900\\n"
"Content-Type: text/plain; charset=UTF-8\\n"

#: cases/views.py:10
msgid "Open"
msgstr "開く"

#: cases/views.py:20
msgid ""
"A long sentence, wrapped by hand "
"where the translator liked."
msgstr "長い文"

#: cases/views.py:30
msgid "Gone"
msgstr "削除"

#~ msgid "Old"
#~ msgstr "古い"
"""

MERGED = """msgid ""
msgstr ""
"POT-Creation-Date: 2026-12-01 12:57+0900\\n"
"Content-Type: text/plain; charset=UTF-8\\n"

#: cases/views.py:22
msgid "A long sentence, wrapped by hand where the translator liked."
msgstr "長い文"

#: cases/views.py:11
msgid "Open"
msgstr "開く"

#: cases/forms.py:5
msgid "Bank code"
msgstr "金融機関コード"
"""


def test_only_the_real_changes_are_written():
    out = messages.minimal(OLD, MERGED)
    assert (
        out
        == OLD.replace('#: cases/views.py:30\nmsgid "Gone"\nmsgstr "削除"\n\n', "")
        + '\n#: cases/forms.py:5\nmsgid "Bank code"\nmsgstr "金融機関コード"\n'
    )


def test_a_rewrite_with_nothing_new_leaves_the_catalogue_as_it_was():
    merged = MERGED.replace('#: cases/forms.py:5\nmsgid "Bank code"\nmsgstr "金融機関コード"\n', "")
    old = OLD.replace('#: cases/views.py:30\nmsgid "Gone"\nmsgstr "削除"\n\n', "")
    assert messages.minimal(old, merged.rstrip("\n") + "\n") == old


def test_a_changed_flag_or_translation_is_a_change():
    merged = MERGED.replace('#: cases/views.py:11\nmsgid "Open"', '#, python-format\nmsgid "Open"')
    assert '#, python-format\nmsgid "Open"' in messages.minimal(OLD, merged)


def test_make_messages_runs_the_script_for_each_catalogue():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\nmessages:\n", 1)[1].split("\n\n", 1)[0]
    assert "scripts/messages.py" in target
    assert "makemessages" not in target


def test_the_pure_libraries_skipped_are_the_ones_import_linter_keeps_free_of_django():
    # One list: a library added to the contract is not extracted into the shared catalogue.
    assert sorted(messages.pure_libraries()) == sorted(
        [
            "card",
            "namecheck",
            "identity/tokens",
            "outside",
            "agent",
            "scenario",
            "scan",
            "era",
            "pipes",
            "logsafe",
            "municipality",
            "individualnumber",
            "argtypes",
        ]
    )
