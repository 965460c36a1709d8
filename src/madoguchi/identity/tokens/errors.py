"""Error codes for token validation, with English and Japanese messages.

Every rejection has its own stable code (the string value of :class:`ErrorCode`); callers log
the code, show the message in the person's language, and never parse ``detail`` (it is for
operators and may name internal values).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Why a token was refused. The values are stable: logs, APIs and tests depend on them."""

    # Shape of the token string.
    TOKEN_MISSING = "token_missing"
    TOKEN_TOO_SHORT = "token_too_short"
    TOKEN_TOO_LONG = "token_too_long"
    NOT_JSON = "not_json"
    NOT_JSON_OBJECT = "not_json_object"
    UNKNOWN_FIELD = "unknown_field"
    # Server-side challenge state (checked before any cryptography, like Web eID's nonce store).
    NONCE_MISSING = "nonce_missing"
    NONCE_USED = "nonce_used"
    NONCE_EXPIRED = "nonce_expired"
    # Format.
    FORMAT_MISSING = "format_missing"
    UNKNOWN_FORMAT = "unknown_format"
    # The embedded certificate.
    CERTIFICATE_MISSING = "certificate_missing"
    CERTIFICATE_EMPTY = "certificate_empty"
    CERTIFICATE_WRONG_TYPE = "certificate_wrong_type"
    CERTIFICATE_NOT_PARSEABLE = "certificate_not_parseable"
    CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid"
    CERTIFICATE_EXPIRED = "certificate_expired"
    CERTIFICATE_WRONG_KEY_USAGE = "certificate_wrong_key_usage"
    CERTIFICATE_WRONG_POLICY = "certificate_wrong_policy"
    # Chain to the configured trust anchors.
    CA_NOT_TRUSTED = "ca_not_trusted"
    CA_NOT_YET_VALID = "ca_not_yet_valid"
    CA_EXPIRED = "ca_expired"
    # Revocation.
    CERTIFICATE_REVOKED = "certificate_revoked"
    REVOCATION_UNKNOWN = "revocation_unknown"
    # Algorithm.
    ALGORITHM_MISSING = "algorithm_missing"
    ALGORITHM_WRONG_TYPE = "algorithm_wrong_type"
    ALGORITHM_EMPTY = "algorithm_empty"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    ALGORITHM_KEY_MISMATCH = "algorithm_key_mismatch"
    # Completion tokens: the transaction digest field.
    TRANSACTION_DIGEST_MISSING = "transaction_digest_missing"
    TRANSACTION_DIGEST_MALFORMED = "transaction_digest_malformed"
    # Signature.
    SIGNATURE_MISSING = "signature_missing"
    SIGNATURE_WRONG_TYPE = "signature_wrong_type"
    SIGNATURE_EMPTY = "signature_empty"
    SIGNATURE_MALFORMED = "signature_malformed"
    SIGNATURE_INVALID = "signature_invalid"
    # A genuine signature by the embedded certificate's key, but over another challenge.
    NONCE_WRONG = "nonce_wrong"
    ORIGIN_WRONG = "origin_wrong"
    CHALLENGE_MISMATCH = "challenge_mismatch"
    # Completion tokens: the server's transaction differs from what the card signed.
    TRANSACTION_CHANGED = "transaction_changed"


MESSAGES_EN: dict[ErrorCode, str] = {
    ErrorCode.TOKEN_MISSING: "No card token was sent.",
    ErrorCode.TOKEN_TOO_SHORT: "The card token is too short to be valid.",
    ErrorCode.TOKEN_TOO_LONG: "The card token is too long to be valid.",
    ErrorCode.NOT_JSON: "The card token is not valid JSON.",
    ErrorCode.NOT_JSON_OBJECT: "The card token is JSON but not an object.",
    ErrorCode.UNKNOWN_FIELD: "The card token contains a field this format does not have.",
    ErrorCode.NONCE_MISSING: "No challenge was issued for this session; start again.",
    ErrorCode.NONCE_USED: "This challenge has already been used; start again.",
    ErrorCode.NONCE_EXPIRED: "The challenge has expired; start again.",
    ErrorCode.FORMAT_MISSING: "The card token does not state its format.",
    ErrorCode.UNKNOWN_FORMAT: "The card token has a format that is not accepted here.",
    ErrorCode.CERTIFICATE_MISSING: "The card token has no certificate.",
    ErrorCode.CERTIFICATE_EMPTY: "The card token's certificate is empty.",
    ErrorCode.CERTIFICATE_WRONG_TYPE: "The card token's certificate field is not a text value.",
    ErrorCode.CERTIFICATE_NOT_PARSEABLE: "The card token's certificate cannot be read as a certificate.",
    ErrorCode.CERTIFICATE_NOT_YET_VALID: "The card's certificate is not valid yet.",
    ErrorCode.CERTIFICATE_EXPIRED: "The card's certificate has expired.",
    ErrorCode.CERTIFICATE_WRONG_KEY_USAGE: "The card's certificate is not for user authentication (key usage).",
    ErrorCode.CERTIFICATE_WRONG_POLICY: "The card's certificate is not a user authentication certificate (policy).",
    ErrorCode.CA_NOT_TRUSTED: "The card's certificate was not issued by a trusted authority.",
    ErrorCode.CA_NOT_YET_VALID: "The authority that issued the card's certificate is not valid yet.",
    ErrorCode.CA_EXPIRED: "The authority that issued the card's certificate has expired.",
    ErrorCode.CERTIFICATE_REVOKED: "The card's certificate has been revoked.",
    ErrorCode.REVOCATION_UNKNOWN: "Whether the card's certificate is revoked cannot be confirmed now.",
    ErrorCode.ALGORITHM_MISSING: "The card token does not state its signature algorithm.",
    ErrorCode.ALGORITHM_WRONG_TYPE: "The card token's signature algorithm is not a text value.",
    ErrorCode.ALGORITHM_EMPTY: "The card token's signature algorithm is empty.",
    ErrorCode.ALGORITHM_NOT_ALLOWED: "The card token's signature algorithm is not allowed.",
    ErrorCode.ALGORITHM_KEY_MISMATCH: "The signature algorithm does not match the certificate's key.",
    ErrorCode.TRANSACTION_DIGEST_MISSING: "The completion token does not state which transaction was signed.",
    ErrorCode.TRANSACTION_DIGEST_MALFORMED: "The completion token's transaction digest is malformed.",
    ErrorCode.SIGNATURE_MISSING: "The card token has no signature.",
    ErrorCode.SIGNATURE_WRONG_TYPE: "The card token's signature is not a text value.",
    ErrorCode.SIGNATURE_EMPTY: "The card token's signature is empty.",
    ErrorCode.SIGNATURE_MALFORMED: "The card token's signature is not valid base64.",
    ErrorCode.SIGNATURE_INVALID: "The signature was not made by the card whose certificate is in the token.",
    ErrorCode.NONCE_WRONG: "The card signed a different challenge (an old or another session's); start again.",
    ErrorCode.ORIGIN_WRONG: "The card signed for a different site address.",
    ErrorCode.CHALLENGE_MISMATCH: "The card signed a different challenge than the one issued; start again.",
    ErrorCode.TRANSACTION_CHANGED: "The transaction differs from what the card holder signed; confirm it again.",
}

MESSAGES_JA: dict[ErrorCode, str] = {
    ErrorCode.TOKEN_MISSING: "カードの署名データが送られていません。",
    ErrorCode.TOKEN_TOO_SHORT: "カードの署名データが短すぎます。",
    ErrorCode.TOKEN_TOO_LONG: "カードの署名データが長すぎます。",
    ErrorCode.NOT_JSON: "カードの署名データの形式（JSON）が正しくありません。",
    ErrorCode.NOT_JSON_OBJECT: "カードの署名データがJSONオブジェクトではありません。",
    ErrorCode.UNKNOWN_FIELD: "カードの署名データに、この形式にない項目が含まれています。",
    ErrorCode.NONCE_MISSING: "この操作のためのチャレンジが発行されていません。最初からやり直してください。",
    ErrorCode.NONCE_USED: "このチャレンジは使用済みです。最初からやり直してください。",
    ErrorCode.NONCE_EXPIRED: "チャレンジの有効期限が切れています。最初からやり直してください。",
    ErrorCode.FORMAT_MISSING: "カードの署名データに形式の指定がありません。",
    ErrorCode.UNKNOWN_FORMAT: "カードの署名データの形式は、ここでは受け付けられません。",
    ErrorCode.CERTIFICATE_MISSING: "カードの署名データに証明書がありません。",
    ErrorCode.CERTIFICATE_EMPTY: "カードの署名データの証明書が空です。",
    ErrorCode.CERTIFICATE_WRONG_TYPE: "カードの署名データの証明書の項目が文字列ではありません。",
    ErrorCode.CERTIFICATE_NOT_PARSEABLE: "カードの署名データの証明書を読み取れません。",
    ErrorCode.CERTIFICATE_NOT_YET_VALID: "カードの証明書はまだ有効期間が始まっていません。",
    ErrorCode.CERTIFICATE_EXPIRED: "カードの証明書の有効期限が切れています。",
    ErrorCode.CERTIFICATE_WRONG_KEY_USAGE: "カードの証明書は利用者証明用ではありません（鍵用途）。",
    ErrorCode.CERTIFICATE_WRONG_POLICY: "カードの証明書は利用者証明用電子証明書ではありません（ポリシー）。",
    ErrorCode.CA_NOT_TRUSTED: "カードの証明書は信頼できる認証局から発行されていません。",
    ErrorCode.CA_NOT_YET_VALID: "カードの証明書を発行した認証局の証明書は、まだ有効期間が始まっていません。",
    ErrorCode.CA_EXPIRED: "カードの証明書を発行した認証局の証明書の有効期限が切れています。",
    ErrorCode.CERTIFICATE_REVOKED: "カードの証明書は失効しています。",
    ErrorCode.REVOCATION_UNKNOWN: "カードの証明書が失効していないことを、現在確認できません。",
    ErrorCode.ALGORITHM_MISSING: "カードの署名データに署名アルゴリズムの指定がありません。",
    ErrorCode.ALGORITHM_WRONG_TYPE: "カードの署名データの署名アルゴリズムが文字列ではありません。",
    ErrorCode.ALGORITHM_EMPTY: "カードの署名データの署名アルゴリズムが空です。",
    ErrorCode.ALGORITHM_NOT_ALLOWED: "カードの署名データの署名アルゴリズムは許可されていません。",
    ErrorCode.ALGORITHM_KEY_MISMATCH: "署名アルゴリズムが証明書の鍵の種類と合いません。",
    ErrorCode.TRANSACTION_DIGEST_MISSING: "完了用の署名データに、署名した手続内容の指定がありません。",
    ErrorCode.TRANSACTION_DIGEST_MALFORMED: "完了用の署名データの手続内容ダイジェストが正しくありません。",
    ErrorCode.SIGNATURE_MISSING: "カードの署名データに署名がありません。",
    ErrorCode.SIGNATURE_WRONG_TYPE: "カードの署名データの署名が文字列ではありません。",
    ErrorCode.SIGNATURE_EMPTY: "カードの署名データの署名が空です。",
    ErrorCode.SIGNATURE_MALFORMED: "カードの署名データの署名がbase64として正しくありません。",
    ErrorCode.SIGNATURE_INVALID: "署名は、署名データ内の証明書のカードで作成されたものではありません。",
    ErrorCode.NONCE_WRONG: "カードは別のチャレンジ（古いもの、または別の操作のもの）に署名しています。最初からやり直してください。",
    ErrorCode.ORIGIN_WRONG: "カードは別のサイトのアドレスに対して署名しています。",
    ErrorCode.CHALLENGE_MISMATCH: "カードは発行したものと異なるチャレンジに署名しています。最初からやり直してください。",
    ErrorCode.TRANSACTION_CHANGED: "手続の内容が、カードで署名した内容と異なります。もう一度内容を確認してください。",
}


class TokenValidationError(Exception):
    """A token was refused. ``code`` says why; ``detail`` is for operators (English, no secrets)."""

    def __init__(self, code: ErrorCode, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code.value}: {detail}" if detail else code.value)

    @property
    def message_en(self) -> str:
        return MESSAGES_EN[self.code]

    @property
    def message_ja(self) -> str:
        return MESSAGES_JA[self.code]
