"""The resident's receipt (控え): a PDF of what one signed completion linked, in Japanese (the
default) or English, as the page it is opened from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from madoguchi import pdf
from madoguchi.dates import zone_words
from madoguchi.desk.models import Completion
from madoguchi.era import format_era_time, format_local_time
from madoguchi.language import english
from madoguchi.outside import BankAccountType

from . import identifiers, states
from .constants import RELATIONSHIP_EN, RELATIONSHIP_JA, LinkStatus
from .models import Grant, HealthInsuranceRegistration, PaymentLink, PublicFundAccount

# The receipt's own words in each language (the lines the resident signed stay Japanese, as
# signed; this is what the receipt says around them).
TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "title": "お手続きの控え",
        "name": "お名前",
        "committed_at": "確定日時",
        "desk": "窓口",
        "staff": "担当",
        "visit": "受付番号",
        "procedure": "お手続き",
        "account": "口座・番号",
        "holder": "名義",
        "state": "状態",
        "representative": "法定代理人による申請",
        "granted": "このお手続きで付与されたポイント",
        "none": "なし",
        "later": "今後のお手続きで付与されるポイント",
        "signed": "この内容は、{signed_by}による署名で確定しました。"
        "内容に誤りがある場合は、この控えを持って窓口までお越しください。",
        "not_me": "このお手続きに心当たりがない場合（ご自身で申し込んでいない、その日時に窓口に"
        "行っていない場合）は、コールセンター（{call_centre}）にご連絡いただくか、住民用ページ"
        "「わたしの記録」で、その記録の横の「これは自分ではない」からお申し出ください。"
        "お申し出はすぐに市に届きます。",
    },
    "en": {
        "title": "Receipt of your application",
        "name": "Name",
        "committed_at": "Confirmed at",
        "desk": "Desk",
        "staff": "Staff",
        "visit": "Visit number",
        "procedure": "Application",
        "account": "Account or number",
        "holder": "Holder's name",
        "state": "State",
        "representative": "Application by a legal representative",
        "granted": "Points granted by this application",
        "none": "None",
        "later": "Points for later applications",
        "signed": "This was confirmed by the signature of {signed_by}. If anything in it is "
        "wrong, please bring this receipt to the desk.",
        "not_me": "If you do not recognise this application (you did not apply, or were not at "
        "the desk at that time), call the call centre ({call_centre}), or report it from "
        "\u201cThis was not me\u201d beside the record on your own page (My records). The city "
        "receives your report at once.",
    },
}


@dataclass
class ReceiptData:
    resident_name: str
    committed_at: str
    desk: str
    staff: str
    visit_reference: str
    lang: str = "ja"
    items: list[dict[str, Any]] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)
    signed_by: str = "ご本人のマイナンバーカード"
    call_centre: str = ""

    @property
    def t(self) -> dict[str, str]:
        return TEXT[self.lang]

    @property
    def signed_note(self) -> str:
        return self.t["signed"].format(signed_by=self.signed_by)

    @property
    def not_me_note(self) -> str:
        return self.t["not_me"].format(call_centre=self.call_centre)


def _representative(item: dict[str, Any], row: Any, data: Any, en: bool) -> None:
    """A link's or a public-fund account's legal representative (the minor exception), as the
    lines signed it: the receipt of a public-fund account so registered named neither the
    representative nor their card."""
    if row.representative is None:
        return
    code = row.representative.relationship
    if en:
        relationship = RELATIONSHIP_EN.get(code, "legal representative")
        item["representative"] = (
            "An application for a minor using the account of their legal "
            f"representative ({relationship}). The account holder's name was checked "
            "against the legal representative's name."
        )
        data.signed_by = "the My Number cards of the resident and of their legal representative"
    else:
        relationship = RELATIONSHIP_JA.get(code, "法定代理人")
        item["representative"] = (
            f"未成年のご本人に代わり、法定代理人（{relationship}）の名義の口座を使う申請です。"
            "口座名義は法定代理人のお名前と照合しました。"
        )
        data.signed_by = f"ご本人と法定代理人（{relationship}）のマイナンバーカード"


def receipt_data(completion: Completion, lang: str = "ja") -> ReceiptData:
    """What the receipt says, in Japanese (the default, the city's record) or in English (a
    resident served in English, or reading their own page in it)."""
    en = english(lang)
    visit = completion.visit
    fields = [p.fields for p in completion.procedures.all() if isinstance(p.fields, dict)]
    names = [str(f.get("resident_name") or "").strip() for f in fields]
    # Without the name read from the card (an optional step), the kana the resident confirmed
    # at the desk names them: a receipt must say whom it is for.
    kana = [str(f.get("resident_kana") or "").strip() for f in fields]
    committed = timezone.localtime(completion.committed_at)
    data = ReceiptData(
        resident_name=next((n for n in names if n), "")
        or next(((f"{k} (kana)" if en else f"{k}（フリガナ）") for k in kana if k), "—"),
        committed_at=(
            f"{format_local_time(committed, japanese=False, seconds=True)} ({zone_words('en')})"
            if en
            else format_era_time(committed, seconds=True) + f"（{zone_words('ja')}）"
        ),
        # Where the resident was, as their own page and the receipt page name it: the place,
        # without the terminal's internal id.
        desk=visit.terminal.place,
        # The name the desk pages show (display name, else user name), not Django's unused
        # first/last name fields.
        staff=str(visit.staff),
        visit_reference=visit.reference,
        lang="en" if en else "ja",
        signed_by="the resident's My Number card" if en else "ご本人のマイナンバーカード",
        call_centre=settings.RESIDENT_CALL_CENTRE,
    )
    not_available = "(not available)" if en else "（取得できません）"
    for link in PaymentLink.objects.filter(completion=completion).select_related(
        "provider", "programme_version", "representative"
    ):
        version, provider = link.programme_version, link.provider
        item = {
            "what": (
                f"{version.name_en or version.name_ja}: application (payment service link)"
                if en
                else f"{version.name_ja}の申込（決済サービスの紐付け）"
            ),
            "account": (
                f"{provider.display_name_en or provider.display_name_ja} {link.masked_account}"
                if en
                else f"{provider.display_name_ja} {link.masked_account}"
            ),
            "holder": link.account_holder_kana or not_available,
        }
        _representative(item, link, data, en)
        data.items.append(item)
    for pf in PublicFundAccount.objects.filter(completion=completion).select_related(
        "procedure", "representative"
    ):
        kind = BankAccountType(pf.account_type)
        account = (
            f"{pf.bank_name} {pf.branch_name} "
            f"{kind.label_en if en else kind.label_ja} ＊＊＊＊{pf.account_last4}"
        )
        # A ゆうちょ account typed from its passbook: its 記号 and 番号's last 4 as the lines
        # signed them (the branch's last 4 alone is a number the passbook does not show).
        f = pf.procedure.fields if pf.procedure_id else {}
        if f.get("passbook_symbol"):
            passbook = identifiers.masked(f.get("passbook_last4", ""))
            account += (
                f" (passbook 記号 {f['passbook_symbol']}, 番号 {passbook})"
                if en
                else f"（通帳の記号 {f['passbook_symbol']}・番号 {passbook}）"
            )
        item = {
            "what": ("Public-fund receiving account registration" if en else "公金受取口座の登録"),
            "account": account,
            "holder": pf.account_holder_kana or not_available,
        }
        _representative(item, pf, data, en)
        data.items.append(item)
    for hi in HealthInsuranceRegistration.objects.filter(completion=completion).select_related(
        "outside_call"
    ):
        # No account: the insurance's numbers, and the insured person's name on the insurer's
        # record that the name check compared.
        data.items.append(
            {
                "what": "Health-insurance use registration" if en else "健康保険証としての利用登録",
                "account_label": (
                    "Insurer number, insured number" if en else "保険者番号・被保険者番号"
                ),
                "account": (
                    f"Insurer number {hi.insurer_number}, insured number ＊＊＊＊{hi.insured_last4}"
                    if en
                    else f"保険者番号 {hi.insurer_number} 被保険者番号 ＊＊＊＊{hi.insured_last4}"
                ),
                "holder_label": (
                    "Insured person's name (kana)" if en else "被保険者のお名前（フリガナ）"
                ),
                "holder": hi.insured_name_kana or "—",
                "state": states.state_text(hi, data.lang),
            }
        )
    for g in Grant.objects.filter(completion=completion).select_related(
        "programme", "programme_version"
    ):
        points = f"{g.points:,} points" if en else f"{g.points:,}ポイント"
        data.grants.append(f"{g.category_text(data.lang)}: {points}")
    # What the resident could still apply for, per programme applied to (after this completion).
    from . import outlook

    for link in PaymentLink.objects.filter(
        holder=visit.holder, status=LinkStatus.EFFECTIVE
    ).select_related("programme", "programme_version"):
        data.later.extend(
            outlook.outlook(
                visit.holder, link.programme, link.programme_version, lang=data.lang
            ).later
        )
    return data


def receipt_html(completion: Completion, lang: str = "ja") -> str:
    return render_to_string("benefits/receipt.html", {"r": receipt_data(completion, lang)})


def receipt_document(completion: Completion, lang: str = "ja") -> Any:
    return pdf.html_document(receipt_html(completion, lang)).render()


def receipt_pdf(completion: Completion, lang: str = "ja") -> bytes:
    """The receipt as PDF bytes, in Japanese or (`lang="en"`) English."""
    data: bytes = receipt_document(completion, lang).write_pdf()
    return data
