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
        [msgfmt, "--check-format", "--statistics", "-o", str(compiled), str(po)],
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
