"""How the scan's steps compute, beyond what they find: the desk window's running counts are
summed as doubles, each link's own name check is made once, and on DuckDB the kept steps that
read nothing of each other run at once."""

import threading
import time

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pytest

from madoguchi.scan import engine, namematch, rules
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


def _one_row(eng, name: str) -> ir.Table:
    return eng.register({name: pa.table({"x": [1]})})[name]


def test_steps_that_read_nothing_of_each_other_run_at_once(duck):
    """Two kept steps neither of which reads the other (the residents the suspicious links
    name, and their households' members) run at the same time on DuckDB: each waits in its
    UDF until the other has started, which run one after the other would never happen."""
    both = threading.Barrier(2, timeout=60)

    @ibis.udf.scalar.pyarrow(name="scan_test_meet")
    def meet(x: int) -> dt.int64:
        both.wait()
        return x

    t = _one_row(duck, "meet")
    first = duck._materialize(t.mutate(y=meet(t.x)))
    second = duck._materialize(t.mutate(y=meet(t.x)))
    assert duck.to_arrow(ibis.union(first, second)).column("y").to_pylist() == [1, 1]
    assert not both.broken


def test_with_one_duckdb_thread_the_steps_run_one_at_a_time():
    """``--threads 1``: two queries at once would use two threads."""
    active, most = [0], [0]
    lock = threading.Lock()

    @ibis.udf.scalar.pyarrow(name="scan_test_alone")
    def alone(x: int) -> dt.int64:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return x

    with engine.connect("duckdb", threads=1) as eng:
        t = _one_row(eng, "alone")
        kept = [eng._materialize(t.mutate(y=alone(t.x))) for _ in range(3)]
        assert eng.to_arrow(ibis.union(*kept)).num_rows == 3
        data = desk().tables()
        tables = eng.register(data)
        assert eng.to_arrow(eng.findings(tables)).num_rows == 1
    assert most == [1]


def test_a_failing_step_fails_the_scan_with_its_own_error(duck):
    """The step that failed says why (DuckDB's error, as when the steps ran one after the
    other); the steps reading it do not run, and the next scan runs."""
    t = duck.register({"text": pa.table({"x": ["not a number"]})})["text"]
    first = duck._materialize(t.mutate(y=t.x.cast("int64")))
    second = duck._materialize(first.mutate(z=first.y + 1))
    with pytest.raises(duckdb.ConversionException, match="not a number"):
        duck.to_arrow(second)
    tables = duck.register(desk().tables())
    assert duck.to_arrow(duck.findings(tables)).num_rows == 1
