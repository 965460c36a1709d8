"""The resident's receipt (控え): a Japanese PDF of what one signed completion linked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from madoguchi import pdf
from madoguchi.dates import zone_words
from madoguchi.desk.models import Completion
from madoguchi.era import format_era_time
from madoguchi.outside import BankAccountType

from . import states
from .constants import RELATIONSHIP_JA, LinkStatus
from .models import Grant, HealthInsuranceRegistration, PaymentLink, PublicFundAccount


@dataclass
class ReceiptData:
    resident_name: str
    committed_at: str
    desk: str
    staff: str
    visit_reference: str
    items: list[dict[str, Any]] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)
    later: list[str] = field(default_factory=list)
    signed_by: str = "ご本人のマイナンバーカード"
    call_centre: str = ""


def receipt_data(completion: Completion) -> ReceiptData:
    visit = completion.visit
    fields = [p.fields for p in completion.procedures.all() if isinstance(p.fields, dict)]
    names = [str(f.get("resident_name") or "").strip() for f in fields]
    # Without the name read from the card (an optional step), the kana the resident confirmed
    # at the desk names them: a receipt must say whom it is for.
    kana = [str(f.get("resident_kana") or "").strip() for f in fields]
    data = ReceiptData(
        resident_name=next((n for n in names if n), "")
        or next((f"{k}（フリガナ）" for k in kana if k), "—"),
        committed_at=format_era_time(timezone.localtime(completion.committed_at), seconds=True)
        + f"（{zone_words('ja')}）",
        # Where the resident was, as their own page and the receipt page name it: the place,
        # without the terminal's internal id.
        desk=visit.terminal.place,
        # The name the desk pages show (display name, else user name), not Django's unused
        # first/last name fields.
        staff=str(visit.staff),
        visit_reference=visit.reference,
        call_centre=settings.RESIDENT_CALL_CENTRE,
    )
    for link in PaymentLink.objects.filter(completion=completion).select_related(
        "provider", "programme_version", "representative"
    ):
        item = {
            "what": f"{link.programme_version.name_ja}の申込（決済サービスの紐付け）",
            "account": f"{link.provider.display_name_ja} {link.masked_account}",
            "holder": link.account_holder_kana or "（取得できません）",
        }
        if link.representative is not None:
            relationship = RELATIONSHIP_JA.get(link.representative.relationship, "法定代理人")
            item["representative"] = (
                f"未成年のご本人に代わり、法定代理人（{relationship}）の名義の口座を使う申請です。"
                "口座名義は法定代理人のお名前と照合しました。"
            )
            data.signed_by = f"ご本人と法定代理人（{relationship}）のマイナンバーカード"
        data.items.append(item)
    for pf in PublicFundAccount.objects.filter(completion=completion):
        data.items.append(
            {
                "what": "公金受取口座の登録",
                "account": f"{pf.bank_name} {pf.branch_name} {BankAccountType(pf.account_type).label_ja} ＊＊＊＊{pf.account_last4}",
                "holder": pf.account_holder_kana or "（取得できません）",
            }
        )
    for hi in HealthInsuranceRegistration.objects.filter(completion=completion).select_related(
        "outside_call"
    ):
        data.items.append(
            {
                "what": "健康保険証としての利用登録",
                # No account: the insurance's numbers, and the insured person's name on the
                # insurer's record that the name check compared.
                "account_label": "保険者番号・被保険者番号",
                "account": f"保険者番号 {hi.insurer_number} 被保険者番号 ＊＊＊＊{hi.insured_last4}",
                "holder_label": "被保険者のお名前（フリガナ）",
                "holder": hi.insured_name_kana or "—",
                "state": states.state_text(hi),
            }
        )
    for g in Grant.objects.filter(completion=completion).select_related("programme_version"):
        cat = g.programme_version.category(g.category) or {"label_ja": g.category}
        data.grants.append(f"{cat['label_ja']}: {g.points:,}ポイント")
    # What the resident could still apply for, per programme applied to (after this completion).
    from . import outlook

    for link in PaymentLink.objects.filter(
        holder=visit.holder, status=LinkStatus.EFFECTIVE
    ).select_related("programme", "programme_version"):
        data.later.extend(
            outlook.outlook(visit.holder, link.programme, link.programme_version).later
        )
    return data


def receipt_html(completion: Completion) -> str:
    return render_to_string("benefits/receipt.html", {"r": receipt_data(completion)})


def receipt_document(completion: Completion) -> Any:
    return pdf.html_document(receipt_html(completion)).render()


def receipt_pdf(completion: Completion) -> bytes:
    """The receipt as PDF bytes."""
    data: bytes = receipt_document(completion).write_pdf()
    return data
