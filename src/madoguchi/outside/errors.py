"""Typed failures of outside systems, each with a message for staff in Japanese and English.

Every error says what happened, that nothing was linked on our side, and what staff should do
next. Callers show `message_ja` (or `messages[lang]`) and record `code`; they never need to
parse an exception string.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class System(StrEnum):
    """Which kind of outside system failed; used in the messages."""

    PAYMENT_PROVIDER = "payment_provider"
    BANK = "bank"
    INSURER = "insurer"

    @property
    def label_ja(self) -> str:
        return {
            System.PAYMENT_PROVIDER: "決済サービス事業者",
            System.BANK: "金融機関",
            System.INSURER: "医療保険者",
        }[self]

    @property
    def label_en(self) -> str:
        return {
            System.PAYMENT_PROVIDER: "the payment provider",
            System.BANK: "the bank",
            System.INSURER: "the health insurer",
        }[self]


class OutsideError(Exception):
    """Base of every outside-system failure.

    `template_ja` / `template_en` may use `{system}` (the system's name) and `{detail}`.
    """

    code: ClassVar[str] = "outside_error"
    retryable: ClassVar[bool] = False
    # The system worked and said no to what was asked (an account it does not hold, a wrong
    # security code, a suspended account, a lost insurance): its answer, not its failure. An
    # incident records the two apart (`IncidentKind.OUTSIDE_REFUSED` / `OUTSIDE_FAILURE`).
    refusal: ClassVar[bool] = False
    template_ja: ClassVar[str] = "{system}との通信で問題が発生しました。何も登録していません。"
    template_en: ClassVar[str] = "Something went wrong talking to {system}. Nothing was linked."

    def __init__(
        self,
        *,
        system: System | None = None,
        system_name_ja: str | None = None,
        system_name_en: str | None = None,
        detail_ja: str = "",
        detail_en: str = "",
        status: int | None = None,
        attempts: int = 1,
    ) -> None:
        self.system = system
        self.system_name_ja = system_name_ja or (system.label_ja if system else "外部システム")
        self.system_name_en = system_name_en or (
            system.label_en if system else "the outside system"
        )
        self.detail_ja = detail_ja
        self.detail_en = detail_en
        self.status = status
        self.attempts = attempts
        super().__init__(self.message_en)

    @property
    def message_ja(self) -> str:
        return self.template_ja.format(system=self.system_name_ja, detail=self.detail_ja)

    @property
    def message_en(self) -> str:
        text = self.template_en.format(system=self.system_name_en, detail=self.detail_en)
        return text[:1].upper() + text[1:]

    @property
    def messages(self) -> dict[str, str]:
        return {"ja": self.message_ja, "en": self.message_en}

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "system": str(self.system) if self.system else None,
            "retryable": self.retryable,
            "messages": self.messages,
        }


class OutsideUnavailable(OutsideError):
    """Could not connect, or the system kept failing (5xx) through every attempt."""

    code = "outside_unavailable"
    retryable = True
    template_ja = (
        "{system}のシステムに接続できませんでした。何も登録していません。"
        "しばらく待ってから、もう一度お試しください。"
    )
    template_en = "Could not reach {system}. Nothing was linked. Wait a moment and try again."


class OutsideTimeout(OutsideUnavailable):
    """No answer in time. The request may have been processed; a retry with the same
    idempotency key is safe and will not process it twice."""

    code = "outside_timeout"
    template_ja = (
        "{system}のシステムから時間内に応答がありませんでした。この窓口では何も登録していません。"
        "もう一度お試しください。同じ操作を繰り返しても二重には処理されません。"
    )
    template_en = (
        "{system} did not answer in time. Nothing was linked here. Try again; repeating the "
        "same operation will not process it twice."
    )


class OutsideProtocolError(OutsideError):
    """The system answered with something we do not understand."""

    code = "outside_protocol_error"
    template_ja = "{system}から想定外の応答がありました。何も登録していません。システム管理者に連絡してください。"
    template_en = (
        "{system} sent an unexpected answer. Nothing was linked. Contact the system administrator."
    )


class OutsideAccessDenied(OutsideProtocolError):
    """401 or 403: the system refused our credentials or our permission (an API key, a client
    certificate, an address it does not accept). Not the resident's doing; a kind of answer
    not understood (an outbox call goes on being retried), named so that an operator reads
    what to fix instead of "an unexpected answer"."""

    code = "outside_access_denied"
    template_ja = (
        "{system}が、この窓口のシステムの認証情報または権限を受け付けませんでした。"
        "何も登録していません。システム管理者に連絡してください。"
    )
    template_en = (
        "{system} refused this system's credentials or permission. Nothing was linked. "
        "Contact the system administrator."
    )


class OutsideValueUnusable(OutsideError):
    """The system answered, but a name or reference in its answer cannot be kept: a control
    character (NUL, a line break) or more characters than our records hold. The answer is
    refused where it is read, before anything is compared, signed or stored (a NUL made the
    stored fields unwritable, a 101st character the completion's row, after the resident
    signed). Not retried: the same answer would come again; `detail` says which value and why.
    """

    code = "outside_value_unusable"
    template_ja = (
        "{system}から届いた{detail}ため、この窓口では扱えません。何も登録していません。"
        "{system}の記録の確認を、システム管理者に依頼してください。"
    )
    template_en = (
        "{system} sent {detail}, which cannot be kept here. Nothing was linked. Ask the system "
        "administrator to have {system}'s record checked."
    )


class InvalidRequest(OutsideError):
    """The input is malformed (checked before sending, or refused by the system)."""

    code = "invalid_request"
    template_ja = "入力内容の形式が正しくありません（{detail}）。何も登録していません。"
    template_en = "The input is not in the expected form ({detail}). Nothing was linked."


class AccountNotFound(OutsideError):
    """No account with that payment service ID or bank account number."""

    code = "account_not_found"
    refusal = True
    template_ja = (
        "{system}に該当する口座が見つかりません。何も登録していません。"
        "入力した番号を、ご本人と一緒に確認してください。"
    )
    template_en = (
        "{system} has no account with that number. Nothing was linked. "
        "Check the number together with the resident."
    )


class SecurityCodeWrong(OutsideError):
    """The security code does not match the payment service ID."""

    code = "security_code_wrong"
    refusal = True
    template_ja = (
        "セキュリティコードが一致しません。何も登録していません。"
        "ご本人に決済サービスの表示を確認していただき、入力し直してください。{detail}"
    )
    template_en = (
        "The security code does not match. Nothing was linked. Ask the resident to check it "
        "in their payment service and enter it again.{detail}"
    )

    def __init__(
        self,
        *,
        attempts_left: int | None = None,
        system: System | None = None,
        system_name_ja: str | None = None,
        system_name_en: str | None = None,
        status: int | None = None,
        attempts: int = 1,
    ) -> None:
        self.attempts_left = attempts_left
        has_left = attempts_left is not None
        super().__init__(
            system=system,
            system_name_ja=system_name_ja,
            system_name_en=system_name_en,
            # A sentence of its own, as the card's PIN says it (「暗証番号が違います。残り2回です。」).
            detail_ja=f"残り{attempts_left}回です。" if has_left else "",
            detail_en=(
                (
                    " 1 attempt is left."
                    if attempts_left == 1
                    else f" {attempts_left} attempts are left."
                )
                if has_left
                else ""
            ),
            status=status,
            attempts=attempts,
        )


class VerificationLocked(OutsideError):
    """Too many wrong security codes: the provider has stopped answering for this ID."""

    code = "verification_locked"
    refusal = True
    template_ja = (
        "セキュリティコードの誤りが続いたため、この決済サービスIDの照会は停止されています。"
        "何も登録していません。ご本人から{system}へお問い合わせいただいてください。"
    )
    template_en = (
        "Too many wrong security codes: {system} has locked checks for this payment service ID. "
        "Nothing was linked. The resident should contact {system}."
    )


class AccountSuspended(OutsideError):
    """The account exists but is suspended (利用停止 / 凍結)."""

    code = "account_suspended"
    refusal = True
    template_ja = (
        "この口座は利用停止中のため、紐付けできません。何も登録していません。"
        "ご本人から{system}へお問い合わせいただいてください。"
    )
    template_en = (
        "This account is suspended and cannot be linked. Nothing was linked. "
        "The resident should contact {system}."
    )


class AccountClosed(OutsideError):
    """The account has been closed (解約)."""

    code = "account_closed"
    refusal = True
    template_ja = (
        "この口座は解約済みのため、紐付けできません。何も登録していません。"
        "ご本人と別の口座を確認してください。"
    )
    template_en = (
        "This account is closed and cannot be linked. Nothing was linked. "
        "Check another account with the resident."
    )


class InsuredPersonNotFound(OutsideError):
    """No insured person with that insurer number, symbol, number and branch."""

    code = "insured_person_not_found"
    refusal = True
    template_ja = (
        "{system}に該当する被保険者が見つかりません。何も登録していません。"
        "保険者番号・記号・番号・枝番を保険証の記載と照らして確認してください。"
    )
    template_en = (
        "{system} has no insured person with those numbers. Nothing was linked. Check the "
        "insurer number, symbol, number and branch against the insurance card."
    )


class InsuranceNotEligible(OutsideError):
    """The insured person has lost eligibility (資格喪失)."""

    code = "insurance_not_eligible"
    refusal = True
    template_ja = (
        "この被保険者は資格を喪失しているため、登録できません。何も登録していません。"
        "ご本人が現在加入している保険者を確認してください。"
    )
    template_en = (
        "This insured person is no longer eligible. Nothing was linked. "
        "Check which insurer the resident belongs to now."
    )


class RegisteredToAnotherCard(OutsideError):
    """The insured person is already registered with a different card: a possible mis-link."""

    code = "registered_to_another_card"
    refusal = True
    template_ja = (
        "この被保険者は別のマイナンバーカードで既に利用登録されています。何も登録していません。"
        "誤登録の可能性があるため、責任者に報告してください。"
    )
    template_en = (
        "This insured person is already registered with a different card. Nothing was linked. "
        "This may be a mis-link: report it to your supervisor."
    )


class RegistrationNotFound(OutsideError):
    """The insurer holds no registration with that reference (nothing to cancel)."""

    code = "registration_not_found"
    refusal = True
    template_ja = (
        "{system}に、この利用登録の記録がありません。何も登録していません（利用停止もしていません）。"
        "保険者に登録の状態を問い合わせてください。"
    )
    template_en = (
        "{system} holds no such registration. Nothing was linked, and nothing was suspended. "
        "Ask the insurer how the registration stands."
    )


class IdempotencyConflict(OutsideError):
    """The same idempotency key (or payout batch id) was reused with different content."""

    code = "idempotency_conflict"
    template_ja = (
        "同じ処理番号で内容の異なる依頼が送られたため、{system}が受け付けませんでした。"
        "何も登録していません。画面を読み込み直して、最初からやり直してください。"
    )
    template_en = (
        "{system} refused a request that reused an earlier request's key with different "
        "content. Nothing was linked. Reload the screen and start again."
    )


class IdempotencyInProgress(OutsideUnavailable):
    """409 "key in use": the system is still processing an earlier request under the same
    idempotency key (another worker's, whose lease ran out; Stripe's `idempotency_key_in_use`,
    the IETF Idempotency-Key draft's 409). Nothing is decided yet: retried later under the same
    key, which then receives the first request's answer. Never a refusal."""

    code = "idempotency_in_progress"
    template_ja = (
        "{system}は、同じ処理番号の依頼をまだ処理しています。この窓口では何も登録していません。"
        "しばらく待ってから、もう一度お試しください。同じ操作を繰り返しても二重には処理されません。"
    )
    template_en = (
        "{system} is still processing an earlier request under the same key. Nothing was linked "
        "here. Wait a moment and try again; repeating the same operation will not process it "
        "twice."
    )


class UnknownProvider(OutsideError):
    """No payment provider with that code is registered."""

    code = "unknown_provider"
    template_ja = "決済サービス「{detail}」は登録されていません。何も登録していません。"
    template_en = "No payment service “{detail}” is registered. Nothing was linked."


# Error codes on the wire (JSON `{"error": {"code": ...}}`) to exception classes.
ERRORS_BY_CODE: dict[str, type[OutsideError]] = {
    cls.code: cls
    for cls in (
        OutsideError,
        OutsideUnavailable,
        OutsideTimeout,
        OutsideProtocolError,
        OutsideAccessDenied,
        InvalidRequest,
        AccountNotFound,
        SecurityCodeWrong,
        VerificationLocked,
        AccountSuspended,
        AccountClosed,
        InsuredPersonNotFound,
        InsuranceNotEligible,
        RegisteredToAnotherCard,
        RegistrationNotFound,
        IdempotencyConflict,
        IdempotencyInProgress,
        UnknownProvider,
    )
}
ERRORS_BY_CODE["batch_conflict"] = IdempotencyConflict
# Stripe's name for a key whose first request is still being processed (409).
ERRORS_BY_CODE["idempotency_key_in_use"] = IdempotencyInProgress
