"""How the scan's steps compute, beyond what they find: the desk window's running counts are
summed as doubles, and each link's own name check is made once."""

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from madoguchi.scan import namematch, rules
from tests.scan.builders import Desk, family

STRANGER = "ｻﾄｳ ﾐﾂｺ"


def desk() -> Desk:
    d = Desk()
    family(d)
    d.event(0, "login")
    d.visit(1, "B", [("L1", "ｽｽﾞｷ ｲﾁﾛｳ")])
    d.event(30, "logout")
    # Self-service: no desk evidence, so no second check of the same pair as the card's.
    d.link("L2", "A", STRANGER, channel="self")
    return d


def test_the_desk_window_sums_doubles(duck):
    """DuckDB's sum over decimals (what ibis's float literals became) takes 128-bit integers
    and about twice the CPU of the same sum over doubles."""
    tables = duck.register(desk().tables())
    rows = rules._window_rows(tables["desk_events"])
    summed = rows.aggregate(total=rows._step.sum())
    # The type DuckDB gives the sum (of decimals: DECIMAL(38,1)).
    rel = duck.con.con.sql(str(ibis.to_sql(summed, dialect="duckdb")))
    assert [str(t) for t in rel.dtypes] == ["DOUBLE"]
    # One login and one logout (2**28 each), one card read (1); no card removal or commit.
    assert rel.fetchall() == [(2.0 * 2**28 + 1,)]


def test_each_links_own_name_check_is_made_once(duck):
    """Step (3) takes the holder's check against the resident from step (1) instead of
    running the name check on the suspicious links' pairs again."""
    seen: list[tuple[str, str]] = []

    @ibis.udf.scalar.pyarrow(name="madoguchi_namecheck_seen")
    def seen_check(resident: str, holder: str) -> dt.int8:
        seen.extend(zip(resident.to_pylist(), holder.to_pylist(), strict=True))  # type: ignore[attr-defined]
        missing = resident.is_null().to_numpy(zero_copy_only=False)  # type: ignore[attr-defined]
        codes = namematch.outcome_codes(resident.to_pylist(), holder.to_pylist(), missing)  # type: ignore[attr-defined]
        return pa.array(codes, type=pa.int8(), mask=missing)

    tables = duck.register(desk().tables())
    feat = rules.features(tables, seen_check, duck._materialize)
    found = duck.to_arrow(rules.findings(feat)).to_pylist()
    assert [(f["link_id"], f["cause"]) for f in found] == [("L2", "typed_wrong_id")]
    assert seen.count(("ヤマダ タロウ", STRANGER)) == 1
