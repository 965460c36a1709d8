import re
from datetime import date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.benefits.procedures.public_fund import ACCOUNT_TYPES, branch_code_field
from madoguchi.benefits.services.names import kana_refusal
from madoguchi.era import EraError, parse_date
from madoguchi.language import english
from madoguchi.once.forms import once_field
from madoguchi.outside.errors import InvalidRequest
from madoguchi.outside.validation import japan_post_bank_account
from madoguchi.plaintext import PLAIN_TEXT_MESSAGE, free_text

from .constants import (
    BEFORE_EARLIEST,
    Channel,
    CloseOutcome,
    DatePrecision,
    Party,
    Programme,
    too_early,
)

# Free text's limits (characters): a case report's PDF lays out every character of the case's
# summaries and notes and its measures; 200,000 took minutes and held a server worker.
NOTE_MAX = 4000
REPORT_MAX = 8000
SESSION_LOG_MAX = 20000


# Free text an official types, stored and shown (cases, reports): the fields every form of
# free text uses (`plaintext.free_text`).
_text = free_text


class _NulSaid:
    """A form whose other text fields (numbers, codes, kana) refuse a NUL in the project's
    words (`plaintext.PLAIN_TEXT_MESSAGE`), not Django's 「何か文字を入力してください。」."""

    fields: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.validators = [
                ProhibitNullCharactersValidator(message=PLAIN_TEXT_MESSAGE)
                if isinstance(v, ProhibitNullCharactersValidator)
                else v
                for v in f.validators
            ]


_WEEKDAY = re.compile(r"\s*[（(][月火水木金土日][）)]$")


# Said under every day field, as the incidents' and the officials' day fields say it: the
# placeholder alone (例：2026-12-01) did not say that an era's day is taken too.
DAY_HINT = _("Write the day as 2026-12-01 or 令和8年12月1日.")


class DayField(forms.DateField):
    """A day typed as text, shown and read the same whatever the browser's language: 2026-12-01,
    2026/12/1 or 令和8年12月1日 (`era.parse_date`). A browser's date picker shows the day in the
    browser's own order (12/01/2026 in an English Chromium), which a desk in Japan misreads."""

    # The placeholder is a hint, worded as one (例：…): a bare 2026-12-01 in the empty field read
    # as a day already filled in.
    widget = forms.DateInput(
        format="%Y-%m-%d",
        attrs={"autocomplete": "off", "placeholder": _("e.g. 2026-12-01"), "size": "14"},
    )
    default_error_messages = {
        "invalid": DAY_HINT,
        "calendar": _("%(typed)s is not a day of the calendar: check the month and the day."),
        "era": _(
            "%(typed)s is not a day of the %(era)s era: check the era and the year "
            "(平成31年5月1日 is 令和元年5月1日)."
        ),
        "before": _(
            "%(typed)s is before 1 January 1873 (明治6年1月1日), when Japan adopted the "
            "Gregorian calendar: check the year."
        ),
        "too_early": BEFORE_EARLIEST,
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", DAY_HINT)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        # A day copied from a page with its weekday, 令和8年12月1日（火）, is that day.
        typed = _WEEKDAY.sub("", str(value).strip())
        try:
            return parse_date(typed)
        except EraError as exc:
            # Why, where the day is written right but does not exist (2月30日, 平成31年5月1日).
            code = exc.kind if exc.kind in ("calendar", "era", "before") else "invalid"
            raise ValidationError(
                self.error_messages[code], code=code, params={"typed": typed, "era": exc.era}
            ) from None

    def validate(self, value: Any) -> None:
        """A day before 明治6年1月1日 (1026-12-01 for 2026-12-01) is refused here, beside the
        field: no page, report or letter can date it."""
        super().validate(value)
        if too_early(value):
            raise ValidationError(self.error_messages["too_early"], code="too_early")


class WhenForm(_NulSaid, forms.Form):
    """When it happened. A step is mostly recorded on the day it happens: its form shows today,
    to change when the step happened earlier (an empty day was refused after the summary was
    written). A case's intake (`today_by_default = False`) keeps the day empty: a report is often
    of something long before."""

    today_by_default = True
    # The form's one-time key (`madoguchi.once`): a new one each time the form is shown.
    once = once_field()
    event_date = DayField(label=_("Date"), required=False)
    date_precision = forms.ChoiceField(
        label=_("Date precision"), choices=DatePrecision.choices, initial=DatePrecision.DAY
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.today_by_default:
            self.fields["event_date"].initial = timezone.localdate  # the day it is shown


class IntakeForm(WhenForm):
    today_by_default = False
    resident_label = _text(_("Resident (as named in the report, e.g. A氏)"), 100)
    other_resident_label = _text(
        _("The other resident, if known (as named in the report, e.g. 別人であるB氏 → B氏)"),
        100,
        required=False,
    )
    reported_by = _text(_("Who reported"), 200)
    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, initial=Channel.IN_PERSON
    )
    summary = _text(_("What they said"), NOTE_MAX, rows=4)
    desk_location = _text(_("Desk"), 200, required=False)
    title = _text(_("Title"), 300, required=False)


class StepForm(WhenForm):
    summary = _text(_("Summary"), NOTE_MAX, rows=3)


class CloseForm(StepForm):
    """Closing says what was found: the resident's letter apologises only for an error."""

    outcome = forms.ChoiceField(
        label=_("What was found"),
        choices=[("", _("Choose one")), *CloseOutcome.choices],
        help_text=_(
            "The resident's closing letter says it: an apology where an error was put right, "
            "that none was found, or that the city explains it."
        ),
    )
    field_order = ["once", "event_date", "date_precision", "outcome", "summary"]


class RegrantForm(WhenForm):
    """The re-grant of a point case's returned points: the page names the points and the
    resident's link they go to, and the official confirms it (`confirm`, not passed on to the
    service). What they type is added to the entry under the system's sentence."""

    confirm = forms.BooleanField(
        label=_(
            "I have checked that this payment service is the resident's own (applied for at a "
            "desk with their own My Number card), and grant the points to it"
        ),
        error_messages={
            "required": _(
                "Check that the payment service shown is the resident's own, and tick this "
                "box: the points are granted to it."
            )
        },
    )
    summary = _text(_("Note (optional)"), NOTE_MAX, rows=2, required=False)
    # Checked by the form, not passed on to the step's service.
    confirmation_fields = ("confirm",)


class ContactForm(StepForm):
    party = forms.ChoiceField(label=_("Party"), choices=Party.choices)
    party_label = _text(_("Who"), 200, required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)


def _not_stored(label: Any, max_length: int) -> forms.CharField:
    """A number the resident presents for a comparison: typed hidden, never echoed back."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


class JapanPostBankAccount(_NulSaid, forms.Form):
    """A bank account's branch and number, or for ゆうちょ銀行 (9900) the passbook's 記号 and 番号
    in their places, turned into the branch and number a transfer uses (and the registration
    hashed) by `outside.validation.japan_post_bank_account`, as the desk's form does."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        parts = [
            data.get(k) for k in ("bank_code", "branch_code", "account_type", "account_number")
        ]
        if all(isinstance(p, str) for p in parts):
            try:
                branch, number = japan_post_bank_account(*parts)  # type: ignore[arg-type]
            except InvalidRequest as exc:
                self.add_error("branch_code", exc.detail_en if english() else exc.detail_ja)
            else:
                data["branch_code"], data["account_number"] = branch, number
        return data


class _CompareForm(WhenForm):
    """Every comparison also compares the account holder's kana, where it is known."""

    resident_kana = forms.CharField(
        label=_("The resident's name (kana)"),
        help_text=_(
            "Ask the resident how their name is read: the My Number card has no kana. Optional: "
            "without it, the kana entered when the link was made is compared."
        ),
        max_length=100,
        required=False,
    )

    def clean_resident_kana(self) -> str:
        """Kanji (the card's name copied across), a long number, letters no account holds or
        a legal form: refused beside the field, as the comparison itself refuses them."""
        kana = str(self.cleaned_data.get("resident_kana") or "")
        refused = kana_refusal(kana)
        if refused is not None:
            raise forms.ValidationError(refused[1])
        return kana


class CompareForm(_CompareForm):
    presented = _not_stored(_("Payment card number the resident presents (not stored)"), 40)


class AccountCompareForm(JapanPostBankAccount, _CompareForm):
    """A public-fund case: the bank account the resident presents (passbook or cash card)."""

    bank_code = forms.CharField(label=_("Bank code"), max_length=4)
    branch_code = branch_code_field()
    account_type = forms.ChoiceField(label=_("Account type"), choices=ACCOUNT_TYPES)
    account_number = _not_stored(_("Account number the resident presents (not stored)"), 8)


class InsuredCompareForm(_CompareForm):
    """A health-insurance case: the insurance details the resident presents."""

    insurer_number = forms.CharField(label=_("Insurer number"), max_length=8)
    insured_symbol = forms.CharField(label=_("Insured person's symbol"), max_length=20)
    insured_number = _not_stored(
        _("Insured person's number the resident presents (not stored)"), 20
    )
    branch = forms.CharField(label=_("Branch number"), max_length=2)


# The comparison form each programme's case asks for.
COMPARE_FORMS: dict[Programme, type[WhenForm]] = {
    Programme.POINTS: CompareForm,
    Programme.PUBLIC_FUND: AccountCompareForm,
    Programme.HEALTH_INSURANCE: InsuredCompareForm,
}


class ReportEditForm(_NulSaid, forms.Form):
    once = once_field()  # sent twice (back and send again), the report is edited once
    # The edit's revision the page was shown with (`Case.report_revision`): a save from a page
    # shown before another official saved is refused, not written over theirs.
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    # Digests of the title and measures the page was shown with (`views.shown_digest`): when a
    # save is refused as stale, a field the official left as shown takes the newly saved value,
    # so that sending the kept draft again keeps the other save's text there.
    title_shown = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    prevention_shown = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    title = _text(_("Title"), 300, required=False)
    prevention = _text(_("Preventive measures (one per line)"), REPORT_MAX, rows=6, required=False)


class LegacyLinkForm(_NulSaid, forms.Form):
    """A link made before signed completion, from the old system's records."""

    once = once_field()  # sent twice (a double click, back and send again), attached once
    resident_label = _text(_("Resident (as named in the report)"), 100)
    provider_name = _text(_("Payment service"), 200)
    account_number = forms.CharField(
        label=_("Payment card number (kept only as a keyed hash and its last 4)"),
        max_length=40,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    linked_on = DayField(label=_("Linked on"), required=False)
    linked_on_precision = forms.ChoiceField(
        label=_("Date precision"), choices=DatePrecision.choices, initial=DatePrecision.MONTH
    )
    desk_location = _text(_("Desk"), 200, required=False)
    session_log = _text(
        _(
            "The old terminal's session records, one per line: time, event "
            "(login, card_read, card_removed, committed, logout), resident"
        ),
        SESSION_LOG_MAX,
        rows=5,
        required=False,
    )
    source = _text(_("Imported from"), 200, required=False)


class PublicFundLegacyLinkForm(JapanPostBankAccount, LegacyLinkForm):
    """A public-fund case's legacy link: the registered bank account, all four parts (the
    registration hashed them together)."""

    provider_name = _text(_("Bank"), 200)
    bank_code = forms.CharField(label=_("Bank code"), max_length=4)
    branch_code = branch_code_field()
    account_type = forms.ChoiceField(label=_("Account type"), choices=ACCOUNT_TYPES)
    account_number = forms.CharField(
        label=_("Account number (kept only as a keyed hash and its last 4)"),
        max_length=8,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    field_order = ["resident_label", "provider_name", "bank_code", "branch_code", "account_type"]


class InsuranceLegacyLinkForm(LegacyLinkForm):
    """A health-insurance case's legacy link: the registered insurance details, all four parts
    (the registration hashed them together)."""

    provider_name = _text(_("Insurer"), 200)
    insurer_number = forms.CharField(label=_("Insurer number"), max_length=8)
    insured_symbol = forms.CharField(label=_("Insured person's symbol"), max_length=20)
    account_number = forms.CharField(
        label=_("Insured person's number (kept only as a keyed hash and its last 4)"),
        max_length=20,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    branch = forms.CharField(label=_("Branch number"), max_length=2)
    field_order = [
        "resident_label",
        "provider_name",
        "insurer_number",
        "insured_symbol",
        "account_number",
        "branch",
    ]


# The legacy link form each programme's case asks for.
LEGACY_FORMS: dict[Programme, type[LegacyLinkForm]] = {
    Programme.POINTS: LegacyLinkForm,
    Programme.PUBLIC_FUND: PublicFundLegacyLinkForm,
    Programme.HEALTH_INSURANCE: InsuranceLegacyLinkForm,
}
