"""The city's incident report, generated from a case in the structure of the city's published
reports: title, introduction, 1 内容, 2 原因, 3 経緯, 4 再発防止策, and the contact block."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from madoguchi import pdf
from madoguchi.era import format_era, format_month

from . import findings, remedy, selectors
from .constants import CaseStatus, CloseOutcome, DatePrecision, EntryKind, Programme
from .models import Case, CityContact

DEFAULT_TITLE = "支援窓口におけるマイナポイントの誤付与について"
TITLES = {
    Programme.POINTS: DEFAULT_TITLE,
    Programme.PUBLIC_FUND: "支援窓口における公金受取口座の誤登録について",
    Programme.HEALTH_INSURANCE: "支援窓口における健康保険証利用登録の誤りについて",
}
"""The report's title by what the link was made for (a case's own title replaces it)."""
CHECKED_TITLES = {
    Programme.POINTS: "支援窓口におけるマイナポイントの申込みに関する確認の結果について",
    Programme.PUBLIC_FUND: "支援窓口における公金受取口座の登録に関する確認の結果について",
    Programme.HEALTH_INSURANCE: "支援窓口における健康保険証利用登録に関する確認の結果について",
}
"""The title of a case closed with no error found: it reports a check, not an incident."""
CHECKED_SUBJECTS = {
    Programme.POINTS: "マイナポイントの申込み（キャッシュレス決済サービスの紐付け）",
    Programme.PUBLIC_FUND: "公金受取口座の登録",
    Programme.HEALTH_INSURANCE: "マイナンバーカードの健康保険証としての利用登録",
}
"""What was checked, by programme, in a case closed with no error found."""
STANDING_MEASURES = [
    "国のマニュアルに基づく手続き支援を徹底するため、システムが強制するチェックリストに基づいた"
    "手続き支援を実施。",
    "支援窓口で発生した事案について、委託事業者から市への報告を、システムが自動記録したすべての事案を"
    "対象とする日次報告とし、報告を再徹底。",
]


@dataclass
class Step:
    """One line of 3 経緯: the day as the report writes it, the entry's words, who recorded it."""

    when: str
    text: str
    recorded_by: str

    @property
    def line(self) -> str:
        return f"{self.when}、{self.text}"

    @property
    def first_line(self) -> str:
        """The entry's first line, cut to `BRIEF_CHARS` characters (「…」 where cut)."""
        first = self.text.splitlines()[0].strip() if self.text.strip() else ""
        cut = len(first) > BRIEF_CHARS or first != self.text.strip()
        return first[:BRIEF_CHARS] + ("…" if cut else "")


@dataclass
class ReportDocument:
    title: str
    introduction: list[str]
    content: list[str]
    cause: list[str]
    timeline: list[str]
    prevention: list[str]
    contact: dict[str, str]
    steps: list[Step] = field(default_factory=list)
    reference: str = ""

    @property
    def contact_lines(self) -> list[str]:
        """The 問い合わせ先's labelled parts that have a value (担当課：…, 電話：…, ファックス：…):
        a label with nothing after it is left out, and with none set the report prints no
        問い合わせ先 at all (`check --deploy` warns of it, madoguchi.W115)."""
        return [
            f"{label}：{self.contact[key]}"
            for key, label in CONTACT_LABELS
            if self.contact.get(key)
        ]


CONTACT_LABELS = (("department", "担当課"), ("phone", "電話"), ("fax", "ファックス"))


# The PDF's 3 経緯 (`printed_timeline`): a case may hold hundreds of entries of up to 4,000
# characters each (NOTE_MAX), which laid out in full made a PDF of hundreds of pages, a minute
# or more of a worker's time. It prints the first entry (the intake) and the latest
# `FULL_LATEST` in full, lists up to `BRIEF_MAX` of the ones between by day, recorder and first
# line, and counts the older ones still; the case page, the report page and report.md hold
# every entry in full (docs/cases.md, "The incident report document").
FULL_LATEST = 10
BRIEF_MAX = 200
BRIEF_CHARS = 60


@dataclass
class PrintedTimeline:
    first: list[Step]
    brief: list[Step]
    latest: list[Step]
    not_listed: int  # entries older than the brief lines, only counted

    @property
    def abbreviated(self) -> int:
        return len(self.brief) + self.not_listed


def printed_timeline(doc: ReportDocument) -> PrintedTimeline:
    steps = doc.steps
    if len(steps) <= FULL_LATEST + 1:
        return PrintedTimeline(first=[], brief=[], latest=steps, not_listed=0)
    between = steps[1:-FULL_LATEST]
    brief = between[-BRIEF_MAX:]
    return PrintedTimeline(
        first=steps[:1],
        brief=brief,
        latest=steps[-FULL_LATEST:],
        not_listed=len(between) - len(brief),
    )


def contact_block(case: Case) -> dict[str, str]:
    """The 問い合わせ先 of `case`'s report and letters: its city's latest `CityContact`
    (`selectors.case_city`), else the latest naming no city (the deployment's default), else
    settings.CASES_CITY_CONTACT. It was the latest row of any city: in a deployment of two,
    one city's report named the other's department."""
    rows = CityContact.objects.order_by("-created_at", "-pk")
    city = selectors.case_city(case)
    row = rows.filter(city=city).first() if city is not None else None
    if row is None:
        row = rows.filter(city__isnull=True).first()
    if row is not None:
        return {
            "city": row.city_name,
            "department": row.department,
            "phone": row.phone,
            "fax": row.fax,
        }
    conf = getattr(settings, "CASES_CITY_CONTACT", {}) or {}
    return {k: str(conf.get(k, "")) for k in ("city", "department", "phone", "fax")}


def _when(d: Any, precision: str, *, in_content: bool = False) -> str:
    if in_content and precision == DatePrecision.MONTH and d is not None:
        return format_month(d)
    return format_era(d, precision)


INTRODUCTIONS = {
    Programme.POINTS: "市が設置している支援窓口において、申請者とは異なる名義のキャッシュレス決済サービスを"
    "紐付けし、別人にマイナポイントが付与される事案が 1 件発生したことが判明しました。",
    Programme.PUBLIC_FUND: "市が設置している支援窓口において、申請者とは異なる名義の預貯金口座を公金受取口座として"
    "登録する事案が 1 件発生したことが判明しました。",
    Programme.HEALTH_INSURANCE: "市が設置している支援窓口において、マイナンバーカードの健康保険証としての"
    "利用登録を、申請者とは異なる方の手続きとして行う事案が 1 件発生したことが判明しました。",
}
# When the desk's name check found the account in the resident's own name (or could not tell):
# the report does not say the account was in another person's name.
NEUTRAL_INTRODUCTIONS = {
    Programme.POINTS: "市が設置している支援窓口において、誤ったキャッシュレス決済サービスを紐付けし、"
    "マイナポイントが誤って付与される事案が 1 件発生したことが判明しました。",
    Programme.PUBLIC_FUND: "市が設置している支援窓口において、誤った預貯金口座を公金受取口座として"
    "登録する事案が 1 件発生したことが判明しました。",
}
NAME_NOT_DIFFERENT = frozenset({"match", "close", "unavailable"})
"""Name check outcomes that do not show the account to be in another person's name."""


def _neutral(programme: Programme, other: str, name_outcome: str) -> bool:
    """Whether the report must not say the account was in another person's name: no other
    person is named, and the desk's name check of the record found the holder's name to be
    the resident's, or close to it, or could not read it."""
    return not other and programme in NEUTRAL_INTRODUCTIONS and name_outcome in NAME_NOT_DIFFERENT


def _content(
    programme: Programme, when: str, desk: str, resident: str, other: str, neutral: bool = False
) -> str:
    """1 内容: what went wrong, in the words of the programme the link was made for; `neutral`:
    without saying the account was in another person's name (`_neutral`)."""
    if programme == Programme.PUBLIC_FUND:
        if neutral:
            return f"{when}、{desk}において、{resident}の公金受取口座として、誤った預貯金口座が登録されたものです。"
        holder = f"別人である{other}の名義" if other else "申請者とは異なる名義"
        return f"{when}、{desk}において、{resident}の公金受取口座として、{holder}の預貯金口座が登録されたものです。"
    if programme == Programme.HEALTH_INSURANCE:
        whose = f"別人である{other}" if other else "申請者とは異なる方"
        return (
            f"{when}、{desk}において、{resident}のマイナンバーカードの健康保険証としての利用登録が、"
            f"{whose}の手続きとして行われたものです。"
        )
    if other:
        target = f"別人である{other}の"
    elif neutral:
        target = "誤った"
    else:
        target = "申請者とは異なる名義の"
    return (
        f"{when}、{desk}において、{resident}のキャッシュレス決済口座に付与されるべき"
        f"マイナポイントが、{target}キャッシュレス決済口座に付与されたものです。"
    )


def default_prevention(case: Case) -> list[str]:
    seen: list[str] = []
    for f in findings.findings_for(case):
        if f.prevention_ja and f.prevention_ja not in seen:
            seen.append(f.prevention_ja)
    return seen + STANDING_MEASURES


def _reported(case: Case) -> Any:
    """The registration the resident reported on their own page (the case's intake names it),
    None if none."""
    pk = selectors.reported_registration(case)
    return None if pk is None else remedy.registration_by_pk(str(case.programme), pk)


def _closed_finding(entries: list[Any]) -> str:
    """What the case's last closing found (`CloseOutcome`), "" when it stated nothing."""
    closes = [e for e in entries if e.kind == EntryKind.CLOSE]
    return closes[-1].outcome if closes else ""


def _checked(case: Case, entries: list[Any]) -> bool:
    """Whether the case was closed with no error found: its report is then of a check, not of
    an incident, and neither says that something went wrong nor apologises for it."""
    return case.status == CaseStatus.CLOSED and _closed_finding(entries) == CloseOutcome.NO_ERROR


def _default_title(programme: Programme, checked: bool) -> str:
    return (CHECKED_TITLES if checked else TITLES)[programme]


def default_title(case: Case) -> str:
    """The title the report takes while the case has none of its own: by its programme, and a
    check's when it was closed with no error found."""
    entries = list(case.timeline.order_by("seq"))
    return _default_title(Programme(case.programme), _checked(case, entries))


def _checked_content(programme: Programme, when: str, desk: str, resident: str) -> str:
    """1 内容 of a case closed with no error found: what was checked, not what went wrong."""
    return (
        f"{when}、{desk}において行われた{resident}の{CHECKED_SUBJECTS[programme]}について、"
        "誤りの可能性があるとして確認したものです。"
    )


def _cause(case: Case, found: list[Any], checked: bool) -> list[str]:
    """2 原因: the facts the records show and what they point to; a case closed with no error
    found says so after the facts, never a likely cause of an error it did not find."""
    facts = ["記録から、次の事実が確認されました。" + "".join(f.ja for f in found)] if found else []
    if checked:
        return [*facts, "調査の結果、誤りは見つかりませんでした。"]
    if found:
        top = found[0]
        return [
            *facts,
            f"これらから、{findings.CAUSE_JA.get(top.code, top.ja.rstrip('。'))}ことが原因である"
            "可能性が高いものと推定されます。",
        ]
    if case.status == CaseStatus.CLOSED:  # a closed case's investigation is over
        return ["調査の結果、原因は特定できませんでした。"]
    return ["現時点で原因は断定できていません。調査を継続しています。"]


def build(case: Case) -> ReportDocument:
    entries = list(case.timeline.select_related("actor").order_by("seq"))
    found = findings.findings_for(case)
    other = case.other_resident_label
    desk = case.desk_location or "市の支援窓口"
    if case.legacy_link is not None:
        when = _when(
            case.legacy_link.linked_on, case.legacy_link.linked_on_precision, in_content=True
        )
    elif (made := case.payment_link or _reported(case)) is not None:
        # The day the city's desk made it (a link made at 08:30 was dated the day before: the
        # stored time's UTC day), or the registration the resident reported (it was dated the
        # day they reported it).
        when = format_era(timezone.localdate(made.created_at))
    else:
        first = entries[0] if entries else None
        when = (
            _when(first.event_date, first.date_precision, in_content=True)
            if first
            else "日付は不明"
        )
    programme = Programme(case.programme)
    subject = findings.signed_subject(case)
    neutral = _neutral(programme, other, str(getattr(subject, "name_outcome", "") or ""))
    checked = _checked(case, entries)
    if checked:
        content = [_checked_content(programme, when, desk, case.resident_label)]
    else:
        content = [_content(programme, when, desk, case.resident_label, other, neutral)]
    cause = _cause(case, found, checked)
    steps = []
    for e in entries:
        text = e.summary.strip()
        if e.kind == EntryKind.CONTACT and e.party_label and e.party_label not in text:
            text = f"{e.party_label}: {text}"
        if e.outcome_label:  # what a closing found, as the official chose it
            with translation.override("ja"):
                text = f"（確認の結果：{e.outcome_label}）{text}"
        steps.append(Step(format_era(e.event_date, e.date_precision), text, str(e.actor)))
    prevention = (
        [line.strip().lstrip("・") for line in case.report_prevention.splitlines() if line.strip()]
        if case.report_prevention.strip()
        else default_prevention(case)
    )
    if checked:
        intro = [
            f"市が設置している支援窓口において行われた{CHECKED_SUBJECTS[programme]}について、"
            "誤りの可能性があるとして確認を行った結果、誤りは見つかりませんでした。",
            "引き続き、適正な手続き支援に努めてまいります。",
        ]
        title = case.report_title or _default_title(programme, checked)
    else:
        intro = [
            NEUTRAL_INTRODUCTIONS[programme] if neutral else INTRODUCTIONS[programme],
            "対象となる市民の皆様にはご迷惑をお掛けすることとなり、深くお詫びいたします。",
            "今後、このような事態が発生しないよう、再発防止策を徹底してまいります。",
        ]
        title = case.report_title or _default_title(programme, checked)
    return ReportDocument(
        title=title,
        introduction=intro,
        content=content,
        cause=cause,
        timeline=[step.line for step in steps],
        prevention=prevention,
        contact=contact_block(case),
        steps=steps,
        reference=case.reference,
    )


_MARKDOWN = re.compile(r"([\\`<>\[\]])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def md(text: str) -> str:
    """`text` as plain Markdown text: a summary may carry a resident's own comment, and a
    Markdown viewer would fetch `![](https://…)` or `<img src=…>`, follow `[…](…)` or render
    HTML. Backslash, backtick, angle and square brackets are escaped (no image, link or HTML
    can start), and a line break within one line becomes a space (no new block or heading)."""
    return _LINE_BREAK.sub(" ", _MARKDOWN.sub(r"\\\1", text))


def to_markdown(doc: ReportDocument) -> str:
    def items(lines: list[str]) -> str:
        return "\n".join(f"- ・{md(line)}" for line in lines)

    lines = doc.contact_lines
    contact = [f"問い合わせ先\t{' '.join(md(line) for line in lines)}"] if lines else []
    parts = [
        f"## {md(doc.title)}",
        "\n\n".join(md(p) for p in doc.introduction),
        "### 1 内容",
        items(doc.content),
        "### 2 原因",
        items(doc.cause),
        "### 3 経緯",
        items(doc.timeline),
        "### 4 再発防止策",
        items(doc.prevention),
        *contact,
    ]
    return "\n\n".join(parts) + "\n"


def to_html(doc: ReportDocument) -> str:
    """The PDF's HTML: 3 経緯 as `printed_timeline` bounds it."""
    return render_to_string(
        "cases/report_document.html", {"doc": doc, "timeline": printed_timeline(doc)}
    )


def to_pdf(doc: ReportDocument) -> bytes:
    return pdf.to_pdf(to_html(doc))
