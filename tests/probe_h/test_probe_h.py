"""Probe H (data-protection officer, acceptance of #2 and #10): failing tests for defects found."""

import contextlib
import io

from django.core.management import CommandError, call_command

from madoguchi.scans.models import Finding
from tests.scan.builders import Desk


def _my_number(eleven: str) -> str:
    """An individual number: eleven digits and the check digit of the law's rule."""
    digits = [int(c) for c in eleven]
    total = sum(digits[11 - n] * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
    remainder = total % 11
    return eleven + str(0 if remainder <= 1 else 11 - remainder)


A_NUMBER = _my_number("12345678901")
B_NUMBER = _my_number("98765432109")


def test_the_scan_does_not_keep_an_individual_number_given_as_a_resident_id(db, tmp_path):
    """A city's export keyed by the individual number (12 digits with its check digit) in
    `resident_id`: the scan must refuse it (as it refuses an account number given for its hash)
    rather than write it whole into findings.parquet, the Finding rows, their reasoning and the
    finding page."""
    d = Desk()
    d.resident(A_NUMBER, "ヤマダ タロウ", "H1")
    d.resident(B_NUMBER, "スズキ イチロウ", "H2")
    d.event(0, "login")
    d.event(1, "card_read", resident=A_NUMBER)
    d.link("L1", A_NUMBER, "ﾔﾏﾀﾞ ﾀﾛｳ", minute=2)
    d.event(8, "card_removed", resident=A_NUMBER)
    d.event(10, "card_read", resident=B_NUMBER)
    d.link("L2", B_NUMBER, "ｽｽﾞｷ ｲﾁﾛｳ", minute=11)
    d.link("L3", A_NUMBER, "ｽｽﾞｷ ｲﾁﾛｳ", minute=12)
    d.event(18, "card_removed", resident=B_NUMBER)
    d.event(50, "logout")
    out = tmp_path / "out"
    with contextlib.suppress(CommandError, SystemExit, ValueError):  # refused: expected
        call_command(
            "scan",
            "run",
            str(d.write(tmp_path / "data")),
            "--out",
            str(out),
            "--record",
            "--no-pdf",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    written = (
        b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file()) if out.exists() else b""
    )
    assert A_NUMBER.encode() not in written
    assert B_NUMBER.encode() not in written
    stored = [f.resident_id + f.other_resident_id + f.explanation for f in Finding.objects.all()]
    assert not [s for s in stored if A_NUMBER in s or B_NUMBER in s], stored
