"""``madoguchi bench scan``: the scan's rules through ibis on DuckDB against the same rules
hand-written in DuckDB SQL and in pandas, in the same run (Spark local[2] beside them).

All sides read the same tables (already loaded and validated; loading is not timed), run every
rule including the name check of every link whose holder is known (the same UDF on both DuckDB
sides, ``check_batch`` over whole columns in pandas), and must flag the same links with the same
causes. Figures are wall-clock seconds of one run each (the first DuckDB query of a process
pays one-off costs: a warm-up run on a small slice comes first).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from madoguchi.scan import engine as engines
from madoguchi.scan import generate, namematch, schema

__all__ = ["HAND_SQL", "BenchResult", "pandas_findings", "run"]

TARGET_VS_SQL = 1.2
TARGET_VS_PANDAS = 10.0

HAND_SQL = """
WITH e AS (
  SELECT *, CASE event WHEN 'login' THEN 0 WHEN 'card_read' THEN 1 WHEN 'commit' THEN 2
                       WHEN 'logout' THEN 4 ELSE 9 END AS rk
  FROM desk_events WHERE event IN ('login', 'logout', 'card_read', 'commit')),
e2 AS (
  SELECT *,
    CAST(SUM(CASE WHEN event IN ('login', 'logout') THEN 1.0 ELSE 0.0 END) OVER w AS BIGINT) AS seg,
    CAST(SUM(CASE WHEN event = 'card_read' THEN 1.0 ELSE 0.0 END) OVER w AS BIGINT) AS visit
  FROM e
  WINDOW w AS (PARTITION BY terminal_id ORDER BY "at", rk, COALESCE(resident_id, ''),
               COALESCE(link_id, '') ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)),
sessions AS (SELECT terminal_id, seg, staff_id AS session_staff FROM e2 WHERE event = 'login'),
visits AS (SELECT terminal_id, visit, seg, resident_id FROM e2 WHERE event = 'card_read'),
c AS (
  SELECT e2.link_id AS c_link, e2."at" AS c_at, e2.staff_id AS commit_staff, s.session_staff,
         v0.resident_id AS card_resident, vp.resident_id AS prev_resident,
         vn.resident_id AS next_resident
  FROM e2
  LEFT JOIN sessions s ON s.terminal_id = e2.terminal_id AND s.seg = e2.seg
  LEFT JOIN visits v0 ON v0.terminal_id = e2.terminal_id AND v0.visit = e2.visit AND v0.seg = e2.seg
  LEFT JOIN visits vp ON vp.terminal_id = e2.terminal_id AND vp.visit = e2.visit - 1 AND vp.seg = e2.seg
  LEFT JOIN visits vn ON vn.terminal_id = e2.terminal_id AND vn.visit = e2.visit + 1 AND vn.seg = e2.seg
  WHERE e2.event = 'commit'),
f0 AS (
  SELECT l.link_id, l.resident_id, COALESCE(l.holder_kana, '') AS holder,
         r.name_kana AS a_name, r.household_id AS a_household
  FROM links l LEFT JOIN residents r ON r.resident_id = l.resident_id),
pairs AS (
  SELECT p_name, p_holder, madoguchi_namecheck(p_name, p_holder) AS own
  FROM (SELECT DISTINCT a_name AS p_name, holder AS p_holder FROM f0)),
f AS (
  SELECT f0.*, c.*, pairs.own
  FROM f0
  LEFT JOIN pairs ON pairs.p_name = f0.a_name AND pairs.p_holder = f0.holder
  LEFT JOIN c ON c.c_link = f0.link_id),
f2 AS (
  SELECT *, c_at IS NOT NULL AS desk_logged,
         c_at IS NOT NULL AND (session_staff IS NULL OR session_staff <> commit_staff) AS staff_anomaly,
         COALESCE(card_resident IS NOT NULL AND card_resident <> resident_id, FALSE) AS card_other
  FROM f),
s AS MATERIALIZED (
  SELECT f2.*, rc.name_kana AS card_name, rp.name_kana AS prev_name,
         rp.household_id AS prev_household, rn.name_kana AS next_name,
         rn.household_id AS next_household
  FROM f2
  LEFT JOIN residents rc ON rc.resident_id = f2.card_resident
  LEFT JOIN residents rp ON rp.resident_id = f2.prev_resident
  LEFT JOIN residents rn ON rn.resident_id = f2.next_resident
  WHERE own <> 0 OR staff_anomaly),
members AS (
  SELECT s.link_id, m.resident_id AS m_id, m.name_kana AS m_name, s.holder
  FROM s JOIN residents m ON m.household_id = s.a_household AND m.resident_id <> s.resident_id),
checked AS MATERIALIZED (
  SELECT q_name, q_holder, madoguchi_namecheck(q_name, q_holder) AS q_check FROM (
    SELECT card_name AS q_name, holder AS q_holder FROM s WHERE card_name IS NOT NULL
    UNION SELECT prev_name, holder FROM s WHERE prev_name IS NOT NULL
    UNION SELECT next_name, holder FROM s WHERE next_name IS NOT NULL
    UNION SELECT m_name, holder FROM members)),
fam AS (
  SELECT members.link_id AS fl_link, MIN(members.m_id) AS family_member
  FROM members JOIN checked q ON q.q_name = members.m_name AND q.q_holder = members.holder
  WHERE q.q_check = 0
  GROUP BY members.link_id),
x AS (
  SELECT s.*, qc.q_check AS card_check, qp.q_check AS prev_check, qn.q_check AS next_check,
         fam.family_member
  FROM s
  LEFT JOIN checked qc ON qc.q_name = s.card_name AND qc.q_holder = s.holder
  LEFT JOIN checked qp ON qp.q_name = s.prev_name AND qp.q_holder = s.holder
  LEFT JOIN checked qn ON qn.q_name = s.next_name AND qn.q_holder = s.holder
  LEFT JOIN fam ON fam.fl_link = s.link_id),
y AS (
  SELECT *, CASE
    WHEN own <> 0 AND family_member IS NOT NULL AND NOT card_other AND NOT staff_anomaly
      THEN 'family_account'
    WHEN staff_anomaly THEN 'lent_terminal'
    WHEN own <> 0 AND card_other THEN 'logout_omission'
    WHEN NOT card_other AND own <> 0 AND COALESCE(
        (prev_check = 0 AND prev_resident <> resident_id AND prev_household <> a_household)
        OR (next_check = 0 AND next_resident <> resident_id AND next_household <> a_household),
        FALSE) THEN 'wrong_card'
    WHEN own = 2 THEN 'typed_wrong_id'
  END AS cause FROM x)
SELECT link_id, cause FROM y WHERE cause IS NOT NULL ORDER BY link_id
"""


def _checked(pairs: pd.DataFrame) -> pd.DataFrame:
    """The name check of each distinct (name, holder) pair, ``check_batch`` over whole columns;
    columns ``name``, ``holder``, ``check``."""
    pairs = pairs.dropna(subset=["name"]).drop_duplicates(ignore_index=True)
    missing = np.zeros(len(pairs), dtype=bool)
    codes = namematch.outcome_codes(pairs["name"].tolist(), pairs["holder"].tolist(), missing)
    return pairs.assign(check=codes)


def pandas_findings(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The same rules in pandas, the same way (the benchmark's baseline; docs/scan.md): sort and
    running counts per terminal, merges, each distinct (name, holder) pair checked once."""
    res, links = t["residents"], t["links"]
    e = t["desk_events"]
    e = e[e["event"].isin(["login", "logout", "card_read", "commit"])]
    e = e.assign(
        rk=e["event"].map({"login": 0, "card_read": 1, "commit": 2, "logout": 4}),
        r_=e["resident_id"].fillna(""),
        l_=e["link_id"].fillna(""),
    ).sort_values(["terminal_id", "at", "rk", "r_", "l_"])
    e["seg"] = e["event"].isin(["login", "logout"]).groupby(e["terminal_id"]).cumsum()
    e["visit"] = (e["event"] == "card_read").groupby(e["terminal_id"]).cumsum()
    sessions = e.loc[e["event"] == "login", ["terminal_id", "seg", "staff_id"]].rename(
        columns={"staff_id": "session_staff"}
    )
    visits = e.loc[e["event"] == "card_read", ["terminal_id", "visit", "seg", "resident_id"]]
    c = e.loc[e["event"] == "commit", ["terminal_id", "at", "staff_id", "link_id", "seg", "visit"]]
    c = c.rename(columns={"staff_id": "commit_staff", "at": "c_at"})
    c = c.merge(sessions, on=["terminal_id", "seg"], how="left")
    for offset, name in ((0, "card_resident"), (-1, "prev_resident"), (1, "next_resident")):
        v = visits.rename(columns={"resident_id": name}).assign(visit=visits["visit"] - offset)
        c = c.merge(v, on=["terminal_id", "visit", "seg"], how="left")
    a = res[["resident_id", "name_kana", "household_id"]].rename(
        columns={"name_kana": "a_name", "household_id": "a_household"}
    )
    f = links[["link_id", "resident_id", "holder_kana"]].merge(a, on="resident_id", how="left")
    f["holder"] = f["holder_kana"].fillna("")
    own = _checked(f[["a_name", "holder"]].set_axis(["name", "holder"], axis=1))
    f = f.merge(
        own.rename(columns={"name": "a_name", "check": "own"}), on=["a_name", "holder"], how="left"
    )
    f = f.merge(c.drop(columns=["terminal_id", "seg", "visit"]), on="link_id", how="left")
    f["desk_logged"] = f["c_at"].notna()
    f["staff_anomaly"] = f["desk_logged"] & (
        f["session_staff"].isna() | (f["session_staff"] != f["commit_staff"])
    )
    f["card_other"] = f["card_resident"].notna() & (f["card_resident"] != f["resident_id"])
    nomatch = f["own"].notna() & (f["own"] != 0)  # no such resident: null, as in SQL
    s = f[nomatch | f["staff_anomaly"]].copy()
    names = res.set_index("resident_id")
    for prefix in ("card", "prev", "next"):
        s[f"{prefix}_name"] = s[f"{prefix}_resident"].map(names["name_kana"])
        s[f"{prefix}_household"] = s[f"{prefix}_resident"].map(names["household_id"])
    members = res[["resident_id", "household_id", "name_kana"]].rename(
        columns={"resident_id": "m_id", "household_id": "a_household", "name_kana": "m_name"}
    )
    fam = s[["link_id", "resident_id", "a_household", "holder"]].merge(members, on="a_household")
    fam = fam[fam["m_id"] != fam["resident_id"]]
    checked = _checked(
        pd.concat(
            [
                s[[f"{p}_name", "holder"]].set_axis(["name", "holder"], axis=1)
                for p in ("card", "prev", "next")
            ]
            + [fam[["m_name", "holder"]].set_axis(["name", "holder"], axis=1)],
            ignore_index=True,
        )
    )
    for prefix in ("card", "prev", "next"):
        s = s.merge(
            checked.rename(columns={"name": f"{prefix}_name", "check": f"{prefix}_check"}),
            on=[f"{prefix}_name", "holder"],
            how="left",
        )
    fam = fam.merge(checked.rename(columns={"name": "m_name"}), on=["m_name", "holder"])
    fam = fam[fam["check"] == 0]
    s = s.merge(
        fam.groupby("link_id")["m_id"].min().rename("family_member"), on="link_id", how="left"
    )

    def near(p: str) -> pd.Series:
        return (
            (s[f"{p}_check"] == 0)
            & (s[f"{p}_resident"] != s["resident_id"])
            & (s[f"{p}_household"] != s["a_household"])
            & s[f"{p}_resident"].notna()
        )

    nomatch = s["own"].notna() & (s["own"] != 0)
    conds = [
        nomatch & s["family_member"].notna() & ~s["card_other"] & ~s["staff_anomaly"],
        s["staff_anomaly"],
        nomatch & s["card_other"],
        ~s["card_other"] & nomatch & (near("prev") | near("next")),
        s["own"] == 2,
    ]
    causes = ["family_account", "lent_terminal", "logout_omission", "wrong_card", "typed_wrong_id"]
    s["cause"] = np.select(conds, causes, default="")
    out = s.loc[s["cause"] != "", ["link_id", "cause"]]
    return out.sort_values("link_id").reset_index(drop=True)


@dataclass
class BenchResult:
    links: int
    events: int
    machine: str
    seconds: dict[str, float] = field(default_factory=dict)
    findings: int = 0
    agree: dict[str, bool] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    peak_rss_mib: float = 0.0

    @property
    def vs_sql(self) -> float:
        return self.seconds["ibis_duckdb"] / self.seconds["sql_duckdb"]

    @property
    def vs_pandas(self) -> float | None:
        if "pandas" not in self.seconds:
            return None
        scale = self.links / self.sizes.get("pandas", self.links)
        return self.seconds["pandas"] * scale / self.seconds["ibis_duckdb"]


def _rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _slice(tables: dict[str, pa.Table], links: int) -> dict[str, pa.Table]:
    """The first ``links`` links with their residents and terminals' events (a smaller run of
    the same shape)."""
    import pyarrow.compute as pc

    lk = tables["links"].slice(0, links)
    terms = pc.unique(pc.drop_null(lk.column("terminal_id")))
    ev = tables["desk_events"]
    return {
        "residents": tables["residents"],
        "links": lk,
        "desk_events": ev.filter(pc.is_in(ev.column("terminal_id"), value_set=terms)),
    }


def run(
    links: int = 10_000_000,
    *,
    seed: int = 1,
    spark_links: int | None = 200_000,
    pandas_links: int | None = None,
    directory: Path | None = None,
) -> BenchResult:
    """Generate (not timed), then time each side on the same tables."""
    import platform

    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-scan-") as tmp:
        data = directory or Path(tmp) / "data"
        if not (data / "links.parquet").exists():
            generate.generate(data, links=links, seed=seed)
        tables = schema.load(data)
    result = BenchResult(
        links=tables["links"].num_rows,
        events=tables["desk_events"].num_rows,
        machine=f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
    )
    with engines.connect("duckdb") as eng:
        registered = eng.register(tables)
        raw = eng.con.con
        raw.create_function(
            "madoguchi_namecheck_sql",
            _sql_udf,
            ["VARCHAR", "VARCHAR"],
            "TINYINT",
            type="arrow",
        )
        sql = HAND_SQL.replace("madoguchi_namecheck(", "madoguchi_namecheck_sql(")
        for name in ("residents", "links", "desk_events"):
            raw.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM scan_{name}")  # noqa: S608
        # Warm-up: compile and register once (unstaged: the staged form would run its first
        # stage over every link here, untimed).
        eng.to_arrow(eng.findings(registered, staged=False).limit(1))
        gc.collect()
        t0 = time.perf_counter()
        ours = eng.to_arrow(eng.findings(registered))
        result.seconds["ibis_duckdb"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        hand = raw.sql(sql).to_arrow_table()
        result.seconds["sql_duckdb"] = time.perf_counter() - t0
    result.findings = ours.num_rows
    ours_pairs = ours.select(["link_id", "cause"]).sort_by("link_id")
    result.agree["sql_duckdb"] = (
        ours_pairs.to_pylist() == hand.select(["link_id", "cause"]).to_pylist()
    )
    result.peak_rss_mib = _rss_mib()
    n_pandas = min(pandas_links or result.links, result.links)
    sub = tables if n_pandas >= result.links else _slice(tables, n_pandas)
    frames = {k: v.to_pandas() for k, v in sub.items()}
    gc.collect()
    t0 = time.perf_counter()
    pdf = pandas_findings(frames)
    result.seconds["pandas"] = time.perf_counter() - t0
    result.sizes["pandas"] = sub["links"].num_rows
    if n_pandas >= result.links:
        result.agree["pandas"] = ours_pairs.to_pylist() == pdf.to_dict("records")
    else:
        with engines.connect("duckdb") as eng:
            small = eng.to_arrow(eng.findings(eng.register(sub))).select(["link_id", "cause"])
        result.agree["pandas"] = small.sort_by("link_id").to_pylist() == pdf.to_dict("records")
    del frames
    if spark_links:
        sub = tables if spark_links >= result.links else _slice(tables, spark_links)
        with engines.connect("spark", master="local[2]") as spark:
            reg = spark.register(sub)
            t0 = time.perf_counter()
            sp = spark.to_arrow(spark.findings(reg))
            result.seconds["spark_local2"] = time.perf_counter() - t0
        with engines.connect("duckdb") as eng:
            t0 = time.perf_counter()
            dk = eng.to_arrow(eng.findings(eng.register(sub)))
            result.seconds["ibis_duckdb_at_spark_size"] = time.perf_counter() - t0
        result.sizes["spark_local2"] = sub["links"].num_rows
        key = ["link_id", "cause", "score"]
        result.agree["spark_local2"] = (
            sp.select(key).sort_by("link_id").to_pylist()
            == dk.select(key).sort_by("link_id").to_pylist()
        )
    return result


def _sql_udf(resident: pa.Array, holder: pa.Array) -> pa.Array:
    missing = resident.is_null().to_numpy(zero_copy_only=False)
    codes = namematch.outcome_codes(resident.to_pylist(), holder.to_pylist(), missing)
    return pa.array(codes, type=pa.int8(), mask=missing)


def lines(r: BenchResult) -> list[str]:
    s = r.seconds
    out = [
        f"forensic scan, {r.links:,} generated links, {r.events:,} desk events, {r.findings:,} findings",
        f"  machine:                 {r.machine}",
        f"  ibis on DuckDB:          {s['ibis_duckdb']:8.2f} s  ({r.links / s['ibis_duckdb']:,.0f} links/s; the scan)",
        f"  hand-written DuckDB SQL: {s['sql_duckdb']:8.2f} s  (same rules, same UDF; agrees: {r.agree['sql_duckdb']})",
        f"  ibis / SQL:              {r.vs_sql:8.2f}x  (target <= {TARGET_VS_SQL})",
        f"  pandas:                  {s['pandas']:8.2f} s  on {r.sizes['pandas']:,} links (agrees: {r.agree['pandas']})",
    ]
    if r.vs_pandas is not None:
        scaled = "" if r.sizes["pandas"] == r.links else " (pandas time scaled by links)"
        out.append(
            f"  pandas / ibis:           {r.vs_pandas:8.2f}x  (target >= {TARGET_VS_PANDAS}){scaled}"
        )
    if "spark_local2" in s:
        out.append(
            f"  Spark local[2]:          {s['spark_local2']:8.2f} s  on {r.sizes['spark_local2']:,} links "
            f"(DuckDB on the same: {s['ibis_duckdb_at_spark_size']:.2f} s; agrees: {r.agree['spark_local2']})"
        )
    out.append(f"  peak memory (this process): {r.peak_rss_mib:,.0f} MiB")
    met = (
        r.vs_sql <= TARGET_VS_SQL
        and (r.vs_pandas or 0) >= TARGET_VS_PANDAS
        and all(r.agree.values())
    )
    out.append("  target met" if met else "  target not met")
    return out
