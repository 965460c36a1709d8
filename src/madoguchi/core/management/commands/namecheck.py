"""`madoguchi namecheck`: compare names from the command line or a CSV file."""

import csv
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.cli import PlainErrors, regular_file
from madoguchi.namecheck import NameCheckResult, check, check_many
from madoguchi.plaintext import spreadsheet_cell

FIELDS = [
    "resident",
    "account",
    "outcome",
    "reason",
    "score",
    "resident_normalised",
    "account_normalised",
    "account_display",
]


def _row(resident: str, account: str | None, result: NameCheckResult) -> dict[str, Any]:
    return {
        "resident": resident,
        "account": account,
        "outcome": result.outcome.value,
        "reason": result.reason.value,
        "score": round(result.score, 1),
        "resident_normalised": result.resident_normalised,
        "account_normalised": result.account_normalised,
        "account_display": result.account_display,
    }


class Command(PlainErrors, BaseCommand):
    requires_system_checks: list[str] = []  # pure computation: no database, no URLs
    help = (
        "Compare a resident's kana name with an account holder's name (match / close / "
        "no_match / unavailable, with a reason code). NAME_A NAME_B for one pair, or --csv "
        "FILE with columns resident,account for many."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME", help="resident name, account name")
        parser.add_argument("--csv", dest="csv_path", help="CSV file with columns resident,account")
        parser.add_argument(
            "--output", "-o", help="write the results to this file (CSV, or JSON with --json)"
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of text/CSV")
        parser.add_argument(
            "--lang", choices=["ja", "en"], default="en", help="language of reason texts"
        )

    def handle(self, *args: object, **opts: Any) -> None:
        names: list[str] = opts["names"]
        if opts["csv_path"]:
            if names:
                raise CommandError("Give either NAME_A NAME_B or --csv FILE, not both.")
            self._csv(Path(opts["csv_path"]), opts)
            return
        if len(names) not in (1, 2):
            raise CommandError(
                "Give two names (resident, account), or one name for an account without a name, or --csv FILE."
            )
        resident = names[0]
        account = names[1] if len(names) == 2 else None
        result = check(resident, account)
        if opts["json"]:
            row = _row(resident, account, result)
            row["reason_text"] = result.reason_text(opts["lang"])
            self.stdout.write(json.dumps(row, ensure_ascii=False))
            return
        self.stdout.write(f"{result.outcome.value} {result.reason.value} ({result.score:.1f})")
        self.stdout.write(f"  {result.resident_normalised} / {result.account_normalised}")
        self.stdout.write(f"  {result.reason_text(opts['lang'])}")
        if result.account_display is not None:
            self.stdout.write(f"  account name to show: {result.account_display}")

    def _csv(self, path: Path, opts: dict[str, Any]) -> None:
        regular_file(path, "CSV file")  # /dev/zero or a pipe would be read forever
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                missing = {"resident", "account"} - set(reader.fieldnames or [])
                if missing:
                    raise CommandError(
                        f"{path}: missing column(s) {', '.join(sorted(missing))}; need resident,account."
                    )
                pairs = [(row["resident"] or "", row["account"] or None) for row in reader]
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"{path} is not a UTF-8 CSV file: {exc}.") from exc
        rows = [_row(r, a, result) for (r, a), result in zip(pairs, check_many(pairs), strict=True)]
        if opts["output"]:
            _write_whole(
                Path(opts["output"]), lambda out: self._emit(rows, out, as_json=opts["json"])
            )
            counts: dict[str, int] = {}
            for row in rows:
                counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
            summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            self.stdout.write(f"{len(rows)} pairs checked ({summary}); results in {opts['output']}")
        else:
            self._emit(rows, self.stdout, as_json=opts["json"])

    @staticmethod
    def _emit(rows: list[dict[str, Any]], out: TextIO | Any, *, as_json: bool) -> None:
        if as_json:
            out.write(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
            return
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        # A name starting with = + - @ is a formula to the spreadsheet that opens the file.
        writer.writerows({k: spreadsheet_cell(v) for k, v in row.items()} for row in rows)


def _write_whole(path: Path, emit: Callable[[Any], None]) -> None:
    """Write `path` whole or not at all: into a new file beside it, renamed over it at the
    end. A path that cannot be written (a directory, a missing folder, no permission) is a
    plain error; nothing is left half-written and an existing file stays as it was."""
    if path.is_dir():
        raise CommandError(f"Cannot write {path}: it is a directory; give a file name.")
    try:
        with tempfile.NamedTemporaryFile(
            "w",
            newline="",
            encoding="utf-8",
            dir=path.parent,
            prefix=f".{path.name}.",
            suffix=".part",
            delete=False,
        ) as out:
            part = Path(out.name)
            try:
                emit(out)
            except BaseException:
                out.close()
                part.unlink(missing_ok=True)
                raise
        umask = os.umask(0)  # the file gets the usual permissions, not the temporary file's
        os.umask(umask)
        part.chmod(0o666 & ~umask)
        os.replace(part, path)
    except OSError as exc:
        raise CommandError(
            f"Cannot write {path}: {exc.strerror or exc}; nothing was written."
        ) from exc
