"""`make messages`: extract each catalogue's own strings into it, and rewrite only the
catalogues whose messages changed.

Each app with a `locale/` folder keeps its own Japanese catalogue; the rest of the package (apps
without one, the templates folder) shares `src/madoguchi/locale`. For each catalogue this runs
Django's `makemessages` over that catalogue's own files only (kept as a .pot), then merges the
.pot into the catalogue as it was, with `msgmerge`:

- without fuzzy matching (a guess such as 「同じ番号」 for "Insurer number" is worse than none);
- with every catalogue as a compendium, so a string that moves from one catalogue to another
  (say, from the shared one to the app that uses it) keeps its translation.

A catalogue whose messages did not change (only its source line numbers or the extraction date
would differ) is left byte for byte as it was, and only changed catalogues are compiled. So
`git diff` after `make messages` shows real changes only.

    .venv/bin/python scripts/messages.py            # every catalogue
    .venv/bin/python scripts/messages.py cases desk # those apps' catalogues ("." the shared one)
    .venv/bin/python scripts/messages.py --check    # write nothing; fail if any is not up to date
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "madoguchi"
LANGUAGE = "ja"


def pure_libraries() -> list[str]:
    """The pure libraries (no Django, no translations) as folders under the package: the
    sources of import-linter's contract that forbids them Django (pyproject.toml), one list."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "forbidden" and "django" in contract["forbidden_modules"]:
            return [
                m.removeprefix("madoguchi.").replace(".", "/") for m in contract["source_modules"]
            ]
    raise SystemExit("pyproject.toml declares no import-linter contract forbidding django")


def run(program: str, *args: str, cwd: Path | None = None) -> None:
    """Run a gettext tool or django-admin (found on PATH, or given as a path); fail loudly."""
    found = program if os.sep in program else shutil.which(program)
    if found is None:
        raise SystemExit(f"{program} not found: install gettext")
    env = {**os.environ, "DEBUG": "1"}
    subprocess.run([found, *args], cwd=cwd, check=True, env=env)  # noqa: S603 (our own arguments)


def catalogue(owner: Path) -> Path:
    return owner / "locale" / LANGUAGE / "LC_MESSAGES" / "django.po"


def owners() -> list[Path]:
    """The shared catalogue's folder, then each app with its own catalogue."""
    apps = sorted(p.parent for p in PACKAGE.glob("*/locale") if catalogue(p.parent).exists())
    return [PACKAGE, *apps]


Key = tuple[str, str]


def entries(po: str) -> list[tuple[Key, tuple[object, ...], str]]:
    """The catalogue's entries in order: (context, id), what the message is (its plural,
    translations, flags and translator's comments) and the entry's text as written. What the
    message is leaves out what does not change it: source locations, how long lines are
    wrapped, the extraction date (of the header, msgid "")."""
    found = []
    for block in po.replace("\r\n", "\n").strip("\n").split("\n\n"):
        fields: dict[str, str] = {}
        notes: list[str] = []
        key = ""
        for line in block.splitlines():
            if line.startswith('"') and key:
                fields[key] += line[1:-1]
            elif line.startswith(("#:", "#|")):
                continue
            elif line.startswith("#"):
                notes.append(line)
            elif " " in line:
                key, value = line.split(" ", 1)
                fields[key] = value[1:-1]
        if "msgid" not in fields:  # an obsolete entry (#~) or a lone comment: kept as it is
            found.append(((block, ""), (), block))
            continue
        if fields["msgid"] == "":
            fields["msgstr"] = "\\n".join(
                h
                for h in fields.get("msgstr", "").split("\\n")
                if not h.startswith("POT-Creation-Date:")
            )
        rest = tuple(sorted((k, v) for k, v in fields.items() if k not in ("msgctxt", "msgid")))
        found.append(((fields.get("msgctxt", ""), fields["msgid"]), (rest, tuple(notes)), block))
    return found


def minimal(old: str, merged: str) -> str:
    """`merged` (gettext's whole rewrite) as the fewest edits of `old`: an entry whose message
    is the same keeps its text and place (its source lines are not refreshed), a changed one
    takes the merged text in its place, one no longer extracted goes, new ones come last."""
    new = {key: (what, text) for key, what, text in entries(merged)}
    kept = []
    for key, what, text in entries(old):
        if what == ():
            kept.append(text)
        elif key in new:
            kept.append(text if new[key][0] == what else new[key][1])
    seen = {key for key, _what, _text in entries(old)}
    kept += [text for key, (_what, text) in new.items() if key not in seen]
    return "\n\n".join(kept) + "\n"


def extract(owner: Path, apps: list[Path]) -> Path:
    """Run makemessages over the owner's own files; returns the .pot it kept."""
    ignores = [f"{p}/*" for p in pure_libraries()]
    if owner == PACKAGE:
        ignores += [f"{app.name}/*" for app in apps]
    run(
        str(Path(sys.executable).parent / "django-admin"),
        "makemessages",
        "-l",
        LANGUAGE,
        "--keep-pot",
        "--settings=madoguchi.settings",
        f"--pythonpath={ROOT / 'src'}",
        *[a for i in ignores for a in ("-i", i)],
        cwd=owner,
    )
    pot = owner / "locale" / "django.pot"
    if owner != PACKAGE:  # source lines as the shared catalogue writes them: cases/views.py:12
        lines = pot.read_text(encoding="utf-8").splitlines(keepends=True)
        pot.write_text(
            "".join(
                "#: " + " ".join(f"{owner.name}/{ref}" for ref in line[3:].split()) + "\n"
                if line.startswith("#: ")
                else line
                for line in lines
            ),
            encoding="utf-8",
        )
    return pot


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apps", nargs="*", help="apps whose catalogues to extract ('.': shared)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each catalogue that is not up to date",
    )
    arguments = parser.parse_args()
    chosen, check = arguments.apps, arguments.check
    everyone = owners()
    apps = everyone[1:]
    before = {owner: catalogue(owner).read_bytes() for owner in everyone}
    selected = [o for o in everyone if not chosen or (o.name if o != PACKAGE else ".") in chosen]
    changed = []
    with tempfile.TemporaryDirectory() as tmp:
        compendium = Path(tmp) / "compendium.po"
        run("msgcat", "--use-first", "-o", str(compendium), *[str(catalogue(o)) for o in everyone])
        for owner in selected:
            po = catalogue(owner)
            pot = extract(owner, apps)
            po.write_bytes(before[owner])  # makemessages rewrote it too; the merge below decides
            old, merged = Path(tmp) / "old.po", Path(tmp) / "merged.po"
            old.write_bytes(before[owner])
            merge = ["-q", "--no-fuzzy-matching", "-C", str(compendium), "-o", str(merged)]
            run("msgmerge", *merge, str(old), str(pot))
            pot.unlink()
            # Strings no longer extracted here go (a moved one is in its new catalogue now).
            run("msgattrib", "--no-obsolete", "-o", str(merged), str(merged))
            old_text = before[owner].decode()
            text = minimal(old_text, merged.read_text(encoding="utf-8"))
            if text != old_text:  # more than locations and the date moved
                merged.write_text(text, encoding="utf-8")
                changed.append(po.relative_to(ROOT))
                if not check:
                    po.write_text(text, encoding="utf-8")
            else:
                merged.write_bytes(before[owner])
            # Compiled (also after a translation filled in by hand); written only if it differs.
            mo, fresh = po.with_suffix(".mo"), Path(tmp) / "fresh.mo"
            run("msgfmt", "-o", str(fresh), str(merged))
            if not mo.exists() or mo.read_bytes() != fresh.read_bytes():
                changed.append(mo.relative_to(ROOT))
                if not check:
                    mo.write_bytes(fresh.read_bytes())
    if check:
        for path in changed:
            print(f"not up to date: {path} (run `make messages`, then translate what it adds)")
        return 1 if changed else 0
    for path in changed:
        print(f"updated {path}")
    if not changed:
        print("no catalogue's messages changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
