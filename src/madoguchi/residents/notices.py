"""Notice letters to a resident for the case steps that concern them: suspension, point
return, re-enabling and closing. The letter (Japanese, era dates) is fixed and recorded on the
case when the step is recorded; the PDF is rendered from the recorded text."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from madoguchi import pdf
from madoguchi.audit import services as audit
from madoguchi.benefits.identifiers import masked
from madoguchi.cases.constants import CloseOutcome, DatePrecision, EntryKind, Programme
from madoguchi.cases.document import contact_block
from madoguchi.cases.findings import signed_subject
from madoguchi.era import format_era, format_month
from madoguchi.scan.labels import PROGRAMME_JA

from .events import NOTICE_ISSUED
from .models import Notice
from .selectors import bank_and_branch, holder_reported

TITLES = {
    EntryKind.SUSPENSION: "マイナポイントの紐付けの利用停止について（お知らせ）",
    EntryKind.POINT_RETURN: "誤って付与されたポイントの返還について（お知らせ）",
    EntryKind.REENABLE: "マイナポイントの再申込みについて（お知らせ）",
    EntryKind.REGRANT: "返還されたポイントの再付与について（お知らせ）",
    EntryKind.CLOSE: "お申し出いただいた件の対応完了について（お知らせ）",
}
# What a case about a public-fund account or an insurance registration is called in its letters
# (a point programme's words above otherwise): the thing suspended, and what may be applied for
# again.
_THING = {
    Programme.PUBLIC_FUND: ("公金受取口座の登録", "公金受取口座の登録"),
    Programme.HEALTH_INSURANCE: (
        "マイナンバーカードの健康保険証としての利用登録",
        "健康保険証としての利用登録",
    ),
}


def _subject(case: Any) -> str:
    """What a closing letter's title says the case was about."""
    thing = _THING.get(case.programme)
    return thing[1] if thing else "マイナポイントの紐付け"


def _title(kind: str, case: Any) -> str:
    if kind == EntryKind.CLOSE and not holder_reported(case):
        return f"{_subject(case)}に関する対応の完了について（お知らせ）"
    thing = _THING.get(case.programme)
    if thing is None or kind not in (EntryKind.SUSPENSION, EntryKind.REENABLE):
        return TITLES[EntryKind(kind)]
    if kind == EntryKind.SUSPENSION:
        return f"{thing[0]}の利用停止について（お知らせ）"
    return f"{thing[1]}の再申込みについて（お知らせ）"


# A health-insurance case's suspension is asked of the insurer (docs/cases.md): the letter says
# what was asked, not that it was stopped; when nothing could be asked, that the city checks it.
_INSURER_ASKED = (
    "{when}あなたに関する{what}について、誤った登録の可能性があるため、保険者へ利用停止を"
    "依頼しました。保険者が停止した後は、お近くの支援窓口で、ご本人のマイナンバーカードにより"
    "正しい保険証の利用登録をあらためて行えます。停止の状況は住民用ページでご確認いただけます。"
)
_INSURER_CHECKED = (
    "{when}あなたに関する{what}について、誤った登録の可能性があるため、調査しています。"
    "登録の停止については、市から保険者へ確認しています。"
)


def _registration(case: Any) -> str:
    """The public-fund account or insurance registration the case is about, as the resident
    can tell it from their others (masked numbers only): 「（ゆうちょ銀行 〇一八店 ＊＊＊＊4567）」,
    「（保険者番号 39131001、被保険者番号 ＊＊＊＊0011）」, as the case page shows it; "" when the
    case holds none or is about a legacy link."""
    row = signed_subject(case)
    if row is None:
        return ""
    if case.programme == Programme.HEALTH_INSURANCE:
        return f"（保険者番号 {row.insurer_number}、被保険者番号 {masked(row.insured_last4)}）"
    return f"（{bank_and_branch(row)} {masked(row.account_last4)}）"


def _legacy(case: Any, thing: Any) -> str:
    """What a case about a legacy link is about, as its page names it: the payment service,
    bank or insurer the official recorded and the masked number (a case opened from the scan
    recorded the programme's name as its provider, which is not repeated)."""
    legacy = case.legacy_link
    provider = legacy.provider_name.strip()
    if provider in PROGRAMME_JA.values():
        provider = ""
    # A number of four digits or fewer keeps no last 4 (they would be the whole number).
    number = legacy.masked_account if legacy.account_last4 else ""
    if number and case.programme == Programme.HEALTH_INSURANCE:
        number = f"被保険者番号 {number}"
    if thing is None and provider:
        return f"決済サービス「{provider}」" + (f"（{number}）" if number else "") + "との紐付け"
    named = " ".join(part for part in (provider, number) if part)
    return (thing[0] if thing else "マイナポイントの紐付け") + (f"（{named}）" if named else "")


def _when(entry: Any) -> str:
    """How a letter's first sentence opens with its step's day: 「令和8年12月1日、」; a step
    known to the month, 「令和8年12月に、」; a step whose day is unknown, nothing. The report
    says 日付は不明; a letter opening 「日付は不明、あなたに関する…」 told the resident the city did
    not know when it acted."""
    precision = DatePrecision(entry.date_precision)
    if precision == DatePrecision.UNKNOWN or entry.event_date is None:
        return ""
    if precision == DatePrecision.MONTH:
        return f"{format_month(entry.event_date)}に、"
    return f"{format_era(entry.event_date, weekday=False)}、"


def _body(kind: str, case: Any, when: str, detail: Any = None) -> list[str]:
    """The letter's lines; `when` opens its first sentence (`_when`)."""
    link = case.payment_link
    thing = _THING.get(case.programme)
    if link is not None:
        what = f"決済サービス「{link.provider.display_name_ja}」（{link.masked_account}）との紐付け"
    elif case.legacy_link_id is not None:
        what = _legacy(case, thing)
    elif thing:  # which of the resident's registrations, as a point link names its account
        what = thing[0] + _registration(case)
    else:
        what = "マイナポイントの紐付け"
    if kind == EntryKind.SUSPENSION and case.programme == Programme.HEALTH_INSURANCE:
        asked = bool((detail or {}).get("outside_call"))
        main = (_INSURER_ASKED if asked else _INSURER_CHECKED).format(when=when, what=what)
    elif kind == EntryKind.SUSPENSION:
        wrong = "誤った登録" if thing and link is None else "誤った紐付け"  # as the insurer's
        main = (
            f"{when}あなたに関する{what}について、{wrong}の可能性があるため、"
            "調査が終わるまで利用を停止しました。"
        )
    elif kind == EntryKind.POINT_RETURN:
        main = f"{when}{what}に関して誤って付与されていたポイントの返還手続を行いました。"
    elif kind == EntryKind.REENABLE:
        main = (
            f"{when}あなたご本人による{thing[1] if thing else 'マイナポイントの申込み'}"
            "ができるようにしました。お近くの支援窓口で、ご本人のマイナンバーカードでお申し込みください。"
        )
    elif kind == EntryKind.REGRANT:
        regranted = detail or {}
        label = regranted.get("link_label") or {}
        to = f"（{label['ja']}）" if isinstance(label, dict) and label.get("ja") else ""
        main = (
            f"{when}{what}に関して返還されていたポイント（{regranted.get('points', '')} ポイント）を、"
            f"あなたご本人が申し込まれた決済サービス{to}に、あらためて付与しました。"
        )
    elif holder_reported(case):
        main = f"{when}お申し出いただいた件（{case.reference}）の対応をすべて完了しました。"
    else:
        main = f"{when}あなたに関する{what}の件（{case.reference}）について、対応をすべて完了しました。"
    return [
        main,
        *_found(kind, case, what, (detail or {}).get("outcome")),
        f"ケース番号：{case.reference}",
        "経過は、マイナンバーカードで本人確認のうえ、住民用ページでいつでもご確認いただけます。",
    ]


def _found(kind: str, case: Any, what: str, outcome: Any) -> list[str]:
    """What the letter says after its first sentence. A closing says what the official found
    (`CloseOutcome`): an apology only where an error was put right; where none was found, that,
    and thanks to a resident who reported it; otherwise that the city explains it. Every other
    step's letter, and a closing that stated nothing, apologises as before."""
    if kind != EntryKind.CLOSE or outcome not in (CloseOutcome.NO_ERROR, CloseOutcome.OTHER):
        return ["このたびはご迷惑をおかけし、誠に申し訳ございません。"]
    if outcome == CloseOutcome.OTHER:
        return [
            "対応の内容については、担当課からご説明いたします。"
            "ご不明な点は、下記の問い合わせ先までお問い合わせください。"
        ]
    found = [f"確認の結果、あなたに関する{what}に誤りは見つかりませんでした。"]
    if holder_reported(case):
        found.append("お申し出いただき、ありがとうございました。")
    return found


def notice_issue(entry: Any) -> Notice | None:
    """The notice for a timeline entry, when its step concerns a resident; None otherwise."""
    case = entry.case
    if entry.kind not in TITLES or case.holder_id is None:
        return None
    # Dated the day it is issued: the step's day (said in the body) may be known to the month
    # only, or typed wrong; a letter dated 「令和8年11月1日」 for 「11月（日付は不明）」 carried a
    # day nobody recorded.
    day = timezone.localdate()
    dated = format_era(day, weekday=False)
    notice = Notice.objects.create(
        case=case,
        entry=entry,
        holder_id=case.holder_id,
        issued_on=day,
        issued_on_ja=dated,
        title=_title(entry.kind, case),
        body=_body(entry.kind, case, _when(entry), entry.detail),
        contact=contact_block(case),
    )
    audit.record(
        NOTICE_ISSUED,
        actor=entry.actor,
        terminal=None,
        subject=case,
        payload={"case": case.reference, "kind": str(entry.kind), "notice": notice.pk},
    )
    return notice


def notice_html(notice: Notice) -> str:
    """The letter. It is addressed to ご本人様, never by the case's resident label: that is the
    name the incident report uses (A氏), and 「A氏　様」 is nobody's name. Without a city phone
    number (no contact block saved), the contact line gives the call centre the resident's page
    gives, rather than an empty 電話：. The contact is the one the letter was issued with (its
    case's city's, `Notice.contact`); a letter issued before it was kept shows its case's city's
    current one."""
    return render_to_string(
        "residents/notice_document.html",
        {
            "n": notice,
            "contact": notice.contact or contact_block(notice.case),
            "call_centre": settings.RESIDENT_CALL_CENTRE,
        },
    )


def notice_pdf(notice: Notice) -> bytes:
    return pdf.to_pdf(notice_html(notice))
