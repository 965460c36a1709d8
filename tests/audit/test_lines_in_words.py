"""An audit line says why in words, in the page's language (Japanese by default, English when
chosen): a sign-in failure, a refused terminal credential, a closed desk session, a revoked
browser binding, the insurer's refusal and a resident session's end. The stored payload keeps
its code (the log is append-only and hash-chained); an unknown code is shown as it is."""

import pytest
from django.db import transaction

from madoguchi.accounts import services as accounts
from madoguchi.accounts.events import SIGN_IN_REASONS
from madoguchi.audit import selectors
from madoguchi.audit import services as audit
from madoguchi.audit.events import (
    ACCOUNTS_SIGN_IN_FAILED,
    TERMINALS_CREDENTIAL_REJECTED,
    TERMINALS_DESK_SESSION_CLOSED,
)
from madoguchi.audit.models import AuditEvent
from madoguchi.benefits.events import BENEFITS_HEALTH_INSURANCE_REFUSED
from madoguchi.refusals import Refusal
from madoguchi.residents.events import SESSION_ENDED
from madoguchi.terminals.events import BROWSER_UNBOUND

CASES = [
    (
        ACCOUNTS_SIGN_IN_FAILED,
        {"username": "suzuki", "reason": "bad_credentials"},
        "ユーザー名またはパスワードが違います",
        "wrong user name or password",
    ),
    (
        ACCOUNTS_SIGN_IN_FAILED,
        {"username": "suzuki", "reason": "terminal_required"},
        "窓口職員は登録済みの端末でしかサインインできません",
        "desk staff can sign in only on a registered terminal",
    ),
    (
        TERMINALS_CREDENTIAL_REJECTED,
        {"reason": "unknown", "via": "agent"},
        "該当する認証情報がないか、秘密の値が違います",
        "no such credential, or its secret is wrong",
    ),
    (
        TERMINALS_DESK_SESSION_CLOSED,
        {"staff": "suzuki", "reason": "superseded"},
        "同じ端末での別のサインイン",
        "Another sign-in on the terminal",
    ),
    (
        BROWSER_UNBOUND,
        {"prefix": "ab12cd34ef56", "reason": "credential_revoked"},
        "端末の認証情報の失効",
        "the terminal's credential was revoked",
    ),
    (
        BENEFITS_HEALTH_INSURANCE_REFUSED,
        {"insurer": "06130012", "visit": "AB12CD34", "code": "insurance_not_eligible"},
        "この被保険者は資格を喪失しているため、登録できません",
        "This insured person is no longer eligible",
    ),
    (
        BENEFITS_HEALTH_INSURANCE_REFUSED,
        {"insurer": "06130012", "visit": "AB12CD34", "code": "insured_person_changed"},
        "保険者の被保険者情報が、ご本人が署名した内容と異なっていました",
        "The insurer's record of the insured person differs from what the resident signed",
    ),
    (
        SESSION_ENDED,
        {"session": "0a1b2c3d", "reason": "idle"},
        "2分間操作がありませんでした",
        "No action for 2 minutes",
    ),
]


def _code(payload):
    return payload.get("reason", payload.get("code"))


@pytest.mark.parametrize(("event", "payload", "ja", "en"), CASES)
def test_the_line_says_the_reason_in_words(event, payload, ja, en):
    said = {"ja": event.render(payload, "ja"), "en": event.render(payload, "en")}
    assert ja in said["ja"], said
    assert en in said["en"], said
    assert en not in said["ja"], said
    assert ja not in said["en"], said
    for text in said.values():
        assert _code(payload) not in text, said


@pytest.mark.parametrize(("event", "payload", "ja", "en"), CASES)
def test_an_unknown_code_is_shown_as_it_is(event, payload, ja, en):
    key = "reason" if "reason" in payload else "code"
    unknown = {**payload, key: "made_up_code"}
    assert "made_up_code" in event.render(unknown, "ja")
    assert "made_up_code" in event.render(unknown, "en")


def test_every_sign_in_refusal_has_words():
    pending: list[type[Refusal]] = [accounts.SignInRefused]
    codes = set()
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        codes.add(cls.code)
    assert codes <= set(SIGN_IN_REASONS), codes - set(SIGN_IN_REASONS)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_stored_event_keeps_its_code(language):
    with transaction.atomic():
        audit.record(
            TERMINALS_DESK_SESSION_CLOSED, payload={"staff": "suzuki", "reason": "expired"}
        )
    event = AuditEvent.objects.get(event_name=TERMINALS_DESK_SESSION_CLOSED.name)
    assert event.payload["reason"] == "expired"
    text = selectors.display(event, language)
    assert ("期限切れ" if language == "ja" else "(reason: Expired)") in text, text
