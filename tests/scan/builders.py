"""Small hand-made scan inputs: residents, links and a desk log written line by line."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
from django.core.management import call_command

from madoguchi.scan import schema

DAY = datetime(2022, 8, 1, 9, 0)


def account_hash(link_id: str) -> str:
    """A link's account as the input gives it: a keyed hash, 64 hexadecimal digits in lower
    case (``schema.ACCOUNT_HASH``), here of the link's ID."""
    return hashlib.sha256(f"account-{link_id}".encode()).hexdigest()


@dataclass
class Desk:
    """A scan input built by hand. Times are minutes after 09:00 on 1 August 2022."""

    residents: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def resident(self, rid: str, kana: str, household: str, muni: str = "131016") -> str:
        self.residents.append(
            {
                "resident_id": rid,
                "name_kana": kana,
                "name_kanji": None,
                "birth_date": None,
                "household_id": household,
                "municipality_code": muni,
            }
        )
        return rid

    def event(self, minute: float, event: str, *, term="T1", staff="S1", resident=None, link=None):
        self.events.append(
            {
                "terminal_id": term,
                "at": DAY + timedelta(minutes=minute),
                "event": event,
                "staff_id": staff,
                "resident_id": resident,
                "link_id": link,
            }
        )

    def link(
        self,
        lid: str,
        resident: str,
        holder: str | None,
        *,
        minute: float | None = None,
        term: str = "T1",
        staff: str = "S1",
        channel: str = "desk",
        programme: str = "mynapoint_2",
    ) -> str:
        desk = channel == "desk"
        self.links.append(
            {
                "link_id": lid,
                "programme": programme,
                "resident_id": resident,
                "account_hash": account_hash(lid),
                "account_last4": "1234",
                "holder_kana": holder,
                "linked_at": DAY + timedelta(minutes=minute or 0),
                "channel": channel,
                "municipality_code": "131016",
                "terminal_id": term if desk else None,
                "staff_id": staff if desk else None,
            }
        )
        if desk and minute is not None:
            self.event(minute, "commit", term=term, staff=staff, resident=resident, link=lid)
        return lid

    def visit(self, start: float, resident: str, links: list[tuple[str, str | None]], **kw):
        """A proper visit: card read, one commit per (link id, holder), card removed."""
        self.event(start, "card_read", resident=resident, **kw)
        for i, (lid, holder) in enumerate(links):
            self.link(lid, resident, holder, minute=start + 1 + i, **kw)
        self.event(start + 8, "card_removed", resident=resident, **kw)

    def tables(self) -> dict[str, pa.Table]:
        out = {}
        for name, rows in (
            ("residents", self.residents),
            ("links", self.links),
            ("desk_events", self.events),
        ):
            cols = schema.TABLES[name]
            out[name] = pa.table(
                {c.name: pa.array([r[c.name] for r in rows], c.type) for c in cols}
            )
        return out

    def write(self, directory: Path) -> Path:
        schema.write(directory, self.tables())
        return directory


def record(desk: Desk, tmp_path: Path) -> None:
    """`madoguchi scan run --record` over ``desk`` (written to tmp_path/data, the output in
    tmp_path/out, no PDF)."""
    call_command(
        "scan",
        "run",
        str(desk.write(tmp_path / "data")),
        "--out",
        str(tmp_path / "out"),
        "--record",
        "--no-pdf",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )


def family(desk: Desk) -> None:
    """Two households used by most cases: the Yamadas (A, A's son) and the Suzukis (B)."""
    desk.resident("A", "ヤマダ タロウ", "H1")
    desk.resident("A2", "ヤマダ ジロウ", "H1")
    desk.resident("B", "スズキ イチロウ", "H2")
    desk.resident("C", "タナカ ハナコ", "H3")
