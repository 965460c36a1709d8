"""The scan's HTML report: counts per cause and municipality over every finding, and only the
highest-scored findings shown with their evidence (made Python rows only for those)."""

from datetime import datetime

import pyarrow as pa

from madoguchi.scan import report


def _findings() -> pa.Table:
    rows = [
        # link, cause, score, municipality, terminal
        ("L1", "typed_wrong_id", 0.8, "131016", "T1"),
        ("L2", "logout_omission", 0.97, "011002", "T1"),
        ("L3", "logout_omission", 0.97, "131016", ""),
        ("L4", "family_account", 0.9, "131016", None),
        ("L0", "lent_terminal", 0.6, "131016", "T2"),
    ]
    n = len(rows)
    return pa.table(
        {
            "link_id": [r[0] for r in rows],
            "cause": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "rule": [f"{r[1]}.v1" for r in rows],
            "resident_id": ["A"] * n,
            "other_resident_id": ["B"] * n,
            "programme": ["mynapoint_2"] * n,
            "channel": ["desk"] * n,
            "municipality_code": [r[3] for r in rows],
            "terminal_id": [r[4] for r in rows],
            "staff_id": ["S1"] * n,
            "linked_at": [datetime(2022, 8, 1, 9, 0)] * n,
            "account_hash": ["h"] * n,
            "account_last4": ["1234"] * n,
            "holder_check": pa.array([2] * n, pa.int8()),
            "session_staff": ["S1"] * n,
        }
    )


def _summary(findings: pa.Table, limit: int) -> report.Summary:
    return report.Summary(
        engine="duckdb",
        input_dir="in",
        rows={"links": 10},
        started=datetime(2026, 12, 1, 4, 0),
        seconds=1.0,
        findings=findings.num_rows,
        timeline_limit=limit,
    )


def _html(limit: int) -> str:
    f = _findings()
    return report.to_html(f, _summary(f, limit), {})


def test_the_report_counts_every_finding_and_shows_the_highest_scored_first():
    html = _html(2)
    # Per cause over all five; per municipality in code order, each cause's count.
    assert f"<td>{report.CAUSE_JA['logout_omission']}</td><td class='n'>2</td>" in html
    assert html.index("<tr><td>011002</td>") < html.index("<tr><td>131016</td>")
    muni = html[html.index("<tr><td>131016</td>") :].split("</tr>")[0]
    assert muni.count("<td class='n'>1</td>") == 4  # one of each cause but wrong card
    # Two shown: the highest score first, a tie by link ID; the rest are in findings.parquet.
    shown = [h.split("：")[0] for h in html.split("<h3>")[1:]]
    assert shown == ["L2", "L3"]
    # Five findings, two shown: the note says how many are not and where all of them are.
    assert "スコアの高い順に 2 件を示します。ほかの 3 件（全 5 件のうち）" in html
    assert "全件は点検結果のファイル（findings.parquet）にあります" in html
    # Until round 22 the note counted the findings at a terminal alone (three here), so with
    # 3 shown it was left out while two more findings (without a terminal) were not shown.
    assert "ほかの 2 件（全 5 件のうち）" in _html(3)
    assert "示していません" not in _html(5)
    assert [h.split("：")[0] for h in _html(0).split("<h3>")[1:]] == []


def test_the_report_names_no_internal_code_to_its_readers():
    # Officials are served this report through the pages: the rule is given by its version
    # (the cause beside it names it in Japanese), the engine by its product's name.
    html = _html(5)
    assert "logout_omission.v1" not in html
    assert "（スコア 0.97、規則の版 v1）</h3>" in html
    assert "<td>DuckDB</td>" in html
    assert "<td>duckdb</td>" not in html


def test_the_pdf_is_laid_out_without_warnings_and_the_narrow_rule_stays_for_screens(caplog):
    """WeasyPrint reads no media features in an ``@media`` rule: the phone's rule in the
    stylesheet made two warnings on every PDF (printed by ``scan run``). It is a style element
    of its own for narrow screens, which the PDF leaves alone."""
    html = _html(2)
    assert "<style media='screen and (max-width: 720px)'>" in html
    assert "@media" not in html
    with caplog.at_level("DEBUG", logger="weasyprint"):
        pdf = report.to_pdf(html)
    assert pdf.startswith(b"%PDF")
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


def test_a_run_that_found_nothing_says_so():
    """A scan that found nothing (the outcome a city hopes for) printed zeros, a municipality
    table with no rows and an empty evidence section: the report says nothing was found."""
    none = _findings().slice(0, 0)
    html = report.to_html(none, _summary(none, 50), {})
    evidence = html[html.index("<h2>3 各件の根拠</h2>") :]
    assert "見つかりませんでした" in evidence
    municipalities = html[html.index("<h2>2 市区町村別の件数</h2>") : html.index("<h2>3")]
    assert "<td colspan='6'>なし</td>" in municipalities
    assert "見つかりませんでした" not in _html(5)
