"""Japanese is the default language: every catalogue must be complete, and the compiled .mo
files must be what the .po files compile to (a string translated but not compiled shows in
English)."""

import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "madoguchi"
CATALOGUES = sorted(SRC.glob("**/locale/ja/LC_MESSAGES/django.po"))


def test_there_are_catalogues():
    assert len(CATALOGUES) >= 2


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(SRC)))
def test_catalogue_is_complete_and_compiled(po, tmp_path):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt (Debian's gettext) is needed; scripts/bootstrap.sh installs it"
    compiled = tmp_path / "django.mo"
    result = subprocess.run(
        # --check: placeholders alike in msgid and msgstr, and as many plural forms as the
        # header's nplurals (Japanese has one; an empty second form failed here).
        [msgfmt, "--check", "--statistics", "-o", str(compiled), str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = result.stderr
    assert "untranslated" not in stats, f"{po}: {stats}"
    assert "fuzzy" not in stats, f"{po}: {stats}"
    committed = po.with_suffix(".mo")
    assert committed.exists(), f"{committed} is missing: run `make messages`"
    assert committed.read_bytes() == compiled.read_bytes(), (
        f"{committed} is stale: run `make messages`"
    )


def _compiled_catalogues() -> dict[str, dict[str, str]]:
    """Each catalogue's translations as Django loads them: {msgid: msgstr}, no headers."""
    import gettext

    catalogues = {}
    for po in CATALOGUES:
        with po.with_suffix(".mo").open("rb") as f:
            catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
        catalogues[str(po.relative_to(SRC))] = {
            k: v for k, v in catalog.items() if isinstance(k, str) and k
        }
    return catalogues


def test_one_msgid_has_one_translation_across_catalogues():
    """Django merges every catalogue into one (the project's locale first, then the apps in
    INSTALLED_APPS order), so a msgid translated two ways shows only one of them everywhere and
    the other catalogue silently lies about its page (the officials' nav said 職員向け in its own
    catalogue, 市職員向け in the project's)."""
    seen: dict[str, dict[str, str]] = {}
    for name, catalog in _compiled_catalogues().items():
        for msgid, msgstr in catalog.items():
            seen.setdefault(msgid, {})[name] = msgstr
    conflicts = {k: v for k, v in seen.items() if len(set(v.values())) > 1}
    assert not conflicts, conflicts


def test_each_catalogues_translation_is_what_its_page_shows():
    """Django's own catalogues come before ours for the apps listed first: a msgid they also
    translate shows theirs (django.contrib.auth's メールアドレス for a case contact's channel
    "Email", where the cases catalogue says メール; admin's 削除 and 全て). Such a msgid takes a
    context (pgettext) so our word is the one shown."""
    from django.utils import translation

    wrong = {}
    with translation.override("ja"):
        for name, catalog in _compiled_catalogues().items():
            for msgid, msgstr in catalog.items():
                context, _sep, text = msgid.rpartition("\x04")
                shown = (
                    translation.pgettext(context, text) if context else translation.gettext(text)
                )
                if shown != msgstr:
                    wrong[(name, msgid)] = (shown, msgstr)
    assert not wrong, wrong


def test_officials_have_one_japanese_name():
    """Officials are city staff: 市職員, never a bare 職員 that desk (contractor) staff share."""
    bare = {
        (name, msgid): msgstr
        for name, catalog in _compiled_catalogues().items()
        for msgid, msgstr in catalog.items()
        if msgid.startswith("Officials") and "市職員" not in msgstr
    }
    assert not bare, bare
