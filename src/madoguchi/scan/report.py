"""The scan's Japanese report: counts per cause and municipality, each finding's evidence
timeline (HTML; PDF through WeasyPrint, as the case reports do)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from madoguchi import pdf
from madoguchi.era import format_era_time
from madoguchi.scan.labels import (
    CAUSE_JA,
    CAUSES,
    CHECK_JA,
    EVENT_JA,
    HOLDER_JA,
    LINKED_JA,
    LOGOUT_OMISSION_BY_COMMIT,
    MISLINK_CAUSES,
    PROGRAMME_JA,
    TYPED_JA,
    logout_other_check,
    recorded_check,
)
from madoguchi.scan.rules import _RANK  # the one order of events at one instant

__all__ = ["CAUSE_JA", "Summary", "explain_ja", "timelines", "to_html", "to_pdf"]


@dataclass
class Summary:
    engine: str
    input_dir: str
    rows: dict[str, int]
    started: datetime
    seconds: float
    findings: int
    timeline_limit: int
    extra: dict[str, Any] = field(default_factory=dict)
    unscanned: int = 0
    """Links not scanned: their resident is not in the residents table (docs/scan.md)."""
    unscanned_examples: list[str] = field(default_factory=list)
    municipality: str = ""
    """A report of one municipality's findings (a city official's, from the officials'
    pages): no input path, no input totals, no count of links not scanned (they cover every
    municipality of the input)."""
    every_finding: str = "点検結果のファイル（findings.parquet）"
    """Where every finding is, for the findings section 3 does not show (``not_shown_ja``):
    the run's file, or, in a report the officials' pages serve, the run's page
    (``EVERY_FINDING_ON_THE_PAGE``)."""


EVERY_FINDING_ON_THE_PAGE = "この点検の画面の「抽出結果」の一覧"
"""``Summary.every_finding`` of a report the officials' pages serve: its readers have the
run's page (its findings table, headed 抽出結果), not the run's files."""


_OTHER_JA: dict[int | None, str] = {
    0: "{holder}は {other} と一致します（{other} の{linked}が {res} の手続きで紐付けられた可能性）。",
    1: "{holder}は {other} と近似一致します。",
    2: "{holder}は {other} とも一致しません。",
}


# The holder's name against the resident's, as a sentence of its own: 「…は R と名義不明です」
# read as "is holder-unknown with R" where the holder's name is not known (or the resident is not
# in the input's residents, so there is no name to check). The finding page's sentences
# (`madoguchi.scans.names.CHECK_SENTENCES` in Japanese), word for word.
_COMPARED_JA = {
    0: "{holder}は、住民 {res} のお名前と一致しています。",
    1: "{holder}は、住民 {res} のお名前に近いものの、同じではありません（近似一致）。",
    2: "{holder}は、住民 {res} のお名前と一致しません。",
    3: (
        "{holder}を住民 {res} のお名前と照合できませんでした。スキャンの入力に名義がないか、"
        "その住民が入力の住民データ（residents）にいません。"
    ),
}


def explain_ja(f: dict[str, Any]) -> str:
    """The finding's reasoning in one or two Japanese sentences, from its evidence columns, in
    the words of its programme (an insurance registration's holder is the insured person) and
    channel (a self-service link had no desk, so no residents served before or after it)."""
    res, other = f["resident_id"], f.get("other_resident_id")
    checked = recorded_check(f.get("holder_check"))
    check = CHECK_JA.get(checked, "不明")
    programme = f.get("programme") or "mynapoint_2"
    holder = HOLDER_JA.get(programme, HOLDER_JA["mynapoint_2"])
    compared = _COMPARED_JA.get(checked, _COMPARED_JA[3]).format(holder=holder, res=res)
    linked = LINKED_JA.get(programme, LINKED_JA["mynapoint_2"])
    cause = f["cause"]
    if cause == "logout_omission":
        evidence = (
            f"その前にこの端末で {other} の手続きが確定されており、その間にログアウトもカードの読み取りもありません。"
            if f.get("rule") == LOGOUT_OMISSION_BY_COMMIT
            else f"直前に端末で読み取られたカードは {other} のもので、"
            f"その後ログアウトも {res} のカードの読み取りもありません。"
        )
        return f"{res} の手続きとして確定されましたが、{evidence}{compared}" + _OTHER_JA.get(
            logout_other_check(f.get("score")), ""
        ).format(holder=holder, linked=linked, other=other, res=res)
    if cause == "wrong_card":
        return (
            f"{res} のカードを読み取って確定されましたが、{holder}は前後に対応した別世帯の {other} と"
            f"一致します（カードの取り違えの可能性）。"
        )
    if cause == "lent_terminal":
        who = f.get("session_staff")
        signed_in = (
            f"そのときこの端末には {who} がサインインしていました。"
            if who
            else "そのときこの端末にはだれもサインインしていませんでした。"
        )
        return f"職員 {f.get('staff_id')} の名義で確定されましたが、{signed_in}{compared}"
    if cause == "family_account":
        return (
            f"{holder}が同じ世帯の {other} と一致します。家族の{linked}で、誤紐付けではありません。"
        )
    typed = TYPED_JA.get(programme, TYPED_JA["mynapoint_2"])
    if f.get("channel") == "self":
        return (
            f"{holder}が {res} と{check}で、同じ世帯の方の名義とも一致しません"
            f"（ご本人による申請での{typed}の入力誤りの可能性）。"
        )
    return (
        f"{holder}が {res} と{check}で、前後の来庁者や同じ世帯の方の名義とも一致しません"
        f"（{typed}の入力誤りの可能性）。"
    )


BEFORE_S = 1200
"""A timeline starts this many seconds before the commit …"""
AFTER_S = 600
"""… and ends this many seconds after it."""


def timeline_keys(findings: pa.Table, limit: int, *, every_mislink: bool = False) -> pa.Table:
    """The findings that get a timeline: the ``limit`` highest-scored with a terminal (the
    report shows them) and, with ``every_mislink``, every mis-link at a terminal (a recorded
    run keeps them for the officials' pages and the cases' session records). Columns
    ``link_id``, ``terminal_id``, ``lo`` and ``hi`` (the window's ends)."""
    desk = findings.filter(pc.invert(pc.is_null(findings.column("terminal_id"))))
    desk = desk.sort_by([("score", "descending"), ("link_id", "ascending")])
    keep = pc.less(pa.array(range(desk.num_rows), pa.int64()), max(limit, 0))
    if every_mislink:
        mislink = pc.is_in(desk.column("cause"), value_set=pa.array(list(MISLINK_CAUSES)))
        keep = pc.or_(keep, mislink)
    desk = desk.filter(keep)
    at = desk.column("linked_at").cast(pa.timestamp("us"))
    return pa.table(
        {
            "link_id": desk.column("link_id"),
            "terminal_id": desk.column("terminal_id"),
            "lo": pc.subtract(at, pa.scalar(timedelta(seconds=BEFORE_S), pa.duration("us"))),
            "hi": pc.add(at, pa.scalar(timedelta(seconds=AFTER_S), pa.duration("us"))),
        }
    )


def timelines(keys: pa.Table, events: pa.Table) -> dict[str, list[dict[str, Any]]]:
    """The desk events at each key's terminal within its window (``timeline_keys``), ordered
    by time (ties as the rules order them, ``rules._RANK``: commit, card removal, logout,
    login, card read; then resident and link). ``events``: at least those events (the engine's windowed join)."""
    if keys.num_rows == 0:
        return {}
    by_term: dict[str, list[dict[str, Any]]] = {}
    for e in events.to_pylist():
        by_term.setdefault(e["terminal_id"], []).append(e)
    for rows in by_term.values():
        rows.sort(
            key=lambda e: (
                e["at"],
                _RANK.get(e["event"], 9),
                e["resident_id"] or "",
                e["link_id"] or "",
            )
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in keys.to_pylist():
        lo, hi = row["lo"], row["hi"]
        out[row["link_id"]] = [
            e for e in by_term.get(row["terminal_id"], []) if lo <= e["at"] <= hi
        ]
    return out


_CSS = """
body { font-family: 'Noto Sans CJK JP', sans-serif; font-size: 10pt; }
h1 { font-size: 16pt; } h2 { font-size: 13pt; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; }
td.n { text-align: right; }
.finding { page-break-inside: avoid; margin: 1em 0; }
tr.hit td { font-weight: bold; background: #fff3cd; }
.note { color: #555; }
th, table.events td { white-space: nowrap; }
.warn { color: #8a1c1c; font-weight: bold; }
"""
_NARROW_CSS = "table { display: block; overflow-x: auto; max-width: 100%; }"
"""On a phone a table wider than the window scrolls in its own box. In a style element of its
own whose media attribute says when, not an ``@media`` rule: WeasyPrint (the PDF) reads no
media features in a rule and logged two warnings for it on every PDF; the attribute it reads
as not its medium, in silence."""
_NARROW = "screen and (max-width: 720px)"


def _counts(findings: pa.Table, *columns: str) -> dict[Any, int]:
    """How many findings hold each value of ``columns`` (a tuple of them when several),
    counted by Arrow: at 100M links, 290,000 findings made Python rows cost seconds."""
    if not findings.num_rows:
        return {}
    grouped = findings.group_by(list(columns)).aggregate([([], "count_all")])
    keys = zip(*(grouped.column(c).to_pylist() for c in columns), strict=True)
    counts = grouped.column("count_all").to_pylist()
    return {k if len(columns) > 1 else k[0]: n for k, n in zip(keys, counts, strict=True)}


def unscanned_ja(summary: Summary) -> list[str]:
    """The report's note on the links not scanned (none: nothing)."""
    if not summary.unscanned:
        return []
    if summary.municipality:
        return [
            "<p class='warn'>このスキャンでは点検していない紐付けがあります。住民 ID が入力の住民データ"
            "（residents）にありません。件数は運用担当者に示され、運用担当者が住民データ全体で再度点検します。</p>"
        ]
    shown = "、".join(escape(i) for i in summary.unscanned_examples)
    return [
        f"<p class='warn'>紐付け {summary.unscanned:,} 件は点検していません。"
        "紐付けの住民 ID が住民データ（residents）にないため、口座名義と端末記録を照合できません"
        "（転出・死亡した住民を除いて出力された可能性があります）。"
        f"例：{shown}。転出・死亡した住民も含めて住民データを出力し、再度点検してください。</p>"
    ]


def _input_row(summary: Summary) -> str:
    """What was scanned: the input and its rows, or for one municipality's report only whose
    findings it shows (the input's place on the server and its totals are the operators')."""
    if summary.municipality:
        return (
            f"<tr><th>対象</th><td>市区町村コード {escape(summary.municipality)} の抽出結果のみ"
            "（入力の場所と件数は運用担当者にだけ示します）</td></tr>"
        )
    return (
        f"<tr><th>入力</th><td>{escape(summary.input_dir)}（住民 {summary.rows.get('residents', 0):,} 件、"
        f"紐付け {summary.rows.get('links', 0):,} 件、端末記録 {summary.rows.get('desk_events', 0):,} 件）</td></tr>"
    )


ENGINE_NAMES = {"duckdb": "DuckDB", "spark": "Apache Spark"}
"""The engines by their products' names: the report is read by officials, not by the
command line that took ``--engine duckdb``."""


def rule_version(rule: str) -> str:
    """A finding's rule as the report shows it: its version (``logout_omission.v1`` → ``v1``),
    as the finding's page does; the cause beside it names it in Japanese and the reasoning
    says which evidence its rule read (``logout_omission_by_commit.v1``: another resident's
    commit), and the rule's code is an internal name."""
    return rule.rpartition(".")[2] or rule


def _desk_ja(r: dict[str, Any]) -> str:
    """Where the link was made, after its channel: the terminal and the staff member of a desk
    link, the terminal alone of a self link made at a self-service kiosk (no staff member)."""
    said = [f"端末 {escape(r['terminal_id'])}"] if r["terminal_id"] else []
    if r["staff_id"]:
        said.append(f"職員 {escape(r['staff_id'])}")
    return f"（{'、'.join(said)}）" if said else ""


def not_shown_ja(found: int, shown: int, every_finding: str) -> list[str]:
    """The note under section 3's heading when it shows fewer findings than the run found
    (``--timeline-limit``): how many are shown, how many are not, and where they all are
    (``every_finding``). Until the forty-fourth session the note counted only the findings at
    a terminal, so the self-service ones beyond the limit were left out without a word."""
    if shown >= found:
        return []
    return [
        f"<p class='note'>この節には、スコアの高い順に {shown:,} 件を示します。"
        f"ほかの {found - shown:,} 件（全 {found:,} 件のうち）はここに示していません。"
        f"全件は{escape(every_finding)}にあります。</p>"
    ]


def clock_ja(linked_at: datetime | None, events: list[dict[str, Any]]) -> list[str]:
    """Each event's time as the timeline shows it: the time alone on the day of the link
    (``linked_at``, dated above it), the date too (``8月2日 00:01:00``) on an event of another
    day and on each change of day after it (a visit spanning midnight read 23:55, then 00:01,
    with no date)."""
    day = linked_at.date() if linked_at is not None else None
    out = []
    for ev in events:
        at = ev["at"]
        if at.date() != day:
            day = at.date()
            out.append(f"{at.month}月{at.day}日 {at:%H:%M:%S}")
        else:
            out.append(f"{at:%H:%M:%S}")
    return out


def to_html(findings: pa.Table, summary: Summary, tl: dict[str, list[dict[str, Any]]]) -> str:
    by_cause = Counter(_counts(findings, "cause"))
    by_muni = Counter(_counts(findings, "municipality_code", "cause"))
    munis = sorted({m for m, _ in by_muni})
    e = escape
    h: list[str] = [
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'>",
        f"<title>紐付け点検の結果</title><style>{_CSS}</style>"
        f"<style media='{_NARROW}'>{_NARROW_CSS}</style></head><body>",
        "<h1>紐付け点検（フォレンジック・スキャン）の結果</h1>",
        "<p>過去の紐付けデータと窓口端末の記録を規則で点検し、誤紐付けの可能性がある紐付けを抽出しました。"
        "各件の根拠（端末の記録と口座名義の照合結果）を示します。最終的な判断は担当者が行ってください。</p>",
        "<table>",
        f"<tr><th>実行日時</th><td>{format_era_time(summary.started)}</td></tr>",
        f"<tr><th>エンジン</th><td>{e(ENGINE_NAMES.get(summary.engine, summary.engine))}</td></tr>",
        _input_row(summary),
        f"<tr><th>所要時間</th><td>{summary.seconds:.1f} 秒</td></tr>",
        "</table>",
        *unscanned_ja(summary),
        "<h2>1 原因別の件数</h2><table><tr><th>原因</th><th>件数</th></tr>",
    ]
    for cause in CAUSES:
        h.append(
            f"<tr><td>{e(CAUSE_JA[cause])}</td><td class='n'>{by_cause.get(cause, 0):,}</td></tr>"
        )
    mis = sum(by_cause.get(c, 0) for c in MISLINK_CAUSES)
    h.append(
        f"<tr><th>誤紐付けの可能性（家族名義を除く）</th><th class='n'>{mis:,}</th></tr></table>"
    )
    h.append("<h2>2 市区町村別の件数</h2><table><tr><th>市区町村コード</th>")
    h.extend(f"<th>{e(CAUSE_JA[c].split('（')[0])}</th>" for c in CAUSES)
    h.append("</tr>")
    for m in munis:
        h.append(f"<tr><td>{e(m)}</td>")
        h.extend(f"<td class='n'>{by_muni.get((m, c), 0):,}</td>" for c in CAUSES)
        h.append("</tr>")
    if not munis:  # a run that found nothing said so only by zeros and empty sections
        h.append(f"<tr><td colspan='{len(CAUSES) + 1}'>なし</td></tr>")
    h.append("</table>")
    h.append("<h2>3 各件の根拠</h2>")
    if findings.num_rows == 0:
        h.append(
            "<p class='none'>この点検では、誤紐付けの可能性がある紐付けも、家族名義の口座への紐付けも"
            "見つかりませんでした。</p>"
        )
    # Only the rows shown become Python rows: by score, highest first, then link ID.
    limit = max(summary.timeline_limit, 0)
    order = pc.sort_indices(findings, [("score", "descending"), ("link_id", "ascending")])
    shown = findings.take(order[:limit]).to_pylist()
    h.extend(not_shown_ja(findings.num_rows, len(shown), summary.every_finding))
    for r in shown:
        h.append("<div class='finding'>")
        h.append(
            f"<h3>{e(r['link_id'])}：{e(CAUSE_JA[r['cause']])}（スコア {r['score']:.2f}、規則の版 {e(rule_version(r['rule']))}）</h3>"
        )
        h.append(
            f"<p>{e(PROGRAMME_JA.get(r['programme'], r['programme']))}、{format_era_time(r['linked_at'])}、"
            f"{'窓口' if r['channel'] == 'desk' else 'ご本人による申請'}" + _desk_ja(r) + "</p>"
        )
        h.append(f"<p>{e(explain_ja(r))}</p>")
        events = tl.get(r["link_id"])
        if events:
            h.append(
                "<table class='events'><tr><th>時刻</th><th>記録</th><th>職員</th><th>住民</th><th>紐付け</th></tr>"
            )
            for ev, when in zip(events, clock_ja(r["linked_at"], events), strict=True):
                hit = " class='hit'" if ev.get("link_id") == r["link_id"] else ""
                h.append(
                    f"<tr{hit}><td>{when}</td><td>{e(EVENT_JA.get(ev['event'], ev['event']))}</td>"
                    f"<td>{e(ev['staff_id'] or '')}</td><td>{e(ev['resident_id'] or '')}</td>"
                    f"<td>{e(ev['link_id'] or '')}</td></tr>"
                )
            h.append("</table>")
        h.append("</div>")
    h.append("</body></html>")
    return "\n".join(h)


def to_pdf(html: str) -> bytes:
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return pdf.to_pdf(html)
