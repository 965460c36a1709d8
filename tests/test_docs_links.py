"""Every relative link in README.md and docs/ leads somewhere: the file exists and, for a
Markdown file, the #anchor is one of its headings (GitHub's rules) or an explicit <a id>.
A page moved or a heading renamed would otherwise leave links a reader follows to nothing."""

import re
import unicodedata
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup and link targets dropped, lower case, letters,
    digits, marks, '-' and '_' kept, spaces made '-', everything else dropped."""
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).lower()
    return "".join(
        "-" if ch == " " else ch
        for ch in text
        if ch in "-_ " or unicodedata.category(ch)[0] in "LNM"
    )


def prose_lines(path: Path):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            yield number, line


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for _number, line in prose_lines(path):
        if match := HEADING.match(line):
            base = slug(match.group(2))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
        found.update(re.findall(r'<a\s+(?:id|name)="([^"]+)"', line))
    return frozenset(found)


def dead_links(path: Path) -> list[str]:
    dead = []
    for number, line in prose_lines(path):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target):  # http:, https:, mailto:
                continue
            file_part, _, fragment = target.partition("#")
            destination = (path.parent / file_part).resolve() if file_part else path
            if not destination.exists():
                dead.append(f"{number}: no file {target}")
            elif fragment and destination.suffix == ".md" and fragment not in anchors(destination):
                dead.append(f"{number}: no heading #{fragment} in {file_part or path.name}")
    return dead


def test_the_checker_finds_a_dead_file_and_a_dead_anchor(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Ready, steady: go\n\n[ok](#ready-steady-go) [gone](#nowhere) [file](other.md)\n"
        "```\n[in code](#not-checked)\n```\n",
        encoding="utf-8",
    )
    assert dead_links(page) == ["3: no heading #nowhere in page.md", "3: no file other.md"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(document):
    assert dead_links(document) == []
