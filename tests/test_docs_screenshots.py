"""Every screenshot the docs show is one `scripts/screenshots.py` takes: docs/img/desk-ended-
checklist.png was shown in docs/desk.md but saved from a browser test's artifacts by hand, so
retaking the docs' screenshots left it as it was, however its page changed."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _taken_by_the_script() -> set[str]:
    script = (ROOT / "scripts" / "screenshots.py").read_text(encoding="utf-8")
    return set(re.findall(r'"([a-z0-9-]+\.png)"', script))


def _shown_in_the_docs() -> set[str]:
    shown = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        shown |= set(
            re.findall(r"\((?:docs/)?img/([a-z0-9-]+\.png)\)", doc.read_text(encoding="utf-8"))
        )
    return shown


def test_every_image_the_docs_show_is_taken_by_the_screenshot_script():
    shown = _shown_in_the_docs()
    assert "desk-ended-checklist.png" in shown
    assert shown - _taken_by_the_script() == set()


def test_every_image_in_docs_img_is_shown_and_taken_by_the_script():
    kept = {p.name for p in (ROOT / "docs" / "img").glob("*.png")}
    assert kept - _shown_in_the_docs() == set()
    assert kept - _taken_by_the_script() == set()
