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
from madoguchi.desk.events import VISITS_COMPLETED
from madoguchi.identity.access import READ_PAGES
from madoguchi.identity.events import NONCE_ISSUED, RECORD_READ
from madoguchi.refusals import Refusal
from madoguchi.residents.events import (
    NOT_ME_REPORTED,
    PAGE_VIEWED,
    PAGES_IN_WORDS,
    SESSION_ENDED,
)
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


# Lines whose payload keeps another code: the page a record was read on, a challenge's purpose,
# the part of the resident page viewed, the kind of record a resident said was not theirs.
CODED = [
    (RECORD_READ, {"page": "desk.visit"}, "page", "窓口：受付中の画面", "Desk: the open visit"),
    (NONCE_ISSUED, {"purpose": "completion"}, "purpose", "チャレンジ（確定）", "(Completion)"),
    (PAGE_VIEWED, {"page": "not_me"}, "page", "「これは自分ではない」", "“this was not me” form"),
    (
        NOT_ME_REPORTED,
        {"item": "public_fund", "case": "CASE-00001"},
        "item",
        "公金受取口座、ケース CASE-00001",
        "Public-fund receiving account, case CASE-00001",
    ),
]


@pytest.mark.parametrize(("event", "payload", "key", "ja", "en"), CODED)
def test_the_line_says_the_other_codes_in_words(event, payload, key, ja, en):
    said = {"ja": event.render(payload, "ja"), "en": event.render(payload, "en")}
    assert ja in said["ja"], said
    assert en in said["en"], said
    for text in said.values():
        assert payload[key] not in text, said
    unknown = {**payload, key: "made_up_code"}
    assert "made_up_code" in event.render(unknown, "ja")


@pytest.mark.parametrize("page", sorted(READ_PAGES))
def test_every_page_a_record_is_read_on_has_words(page):
    for lang in ("ja", "en"):
        text = RECORD_READ.render({"actor": "窓口 一郎 (desk1)", "page": page}, lang)
        assert page not in text, text


def test_every_page_code_the_views_record_has_words():
    """A read recorded under a code READ_PAGES lacks shows the resident the code itself under
    "who looked at my records" (cases.new_from_incident did)."""
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "madoguchi"
    used = {
        code
        for path in src.rglob("*.py")
        for code in re.findall(r'\bpage="([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8"))
    }
    assert "incidents.incident" in used
    assert not used - set(READ_PAGES), used - set(READ_PAGES)


@pytest.mark.parametrize("page", sorted(PAGES_IN_WORDS))
def test_every_part_of_the_resident_page_has_words(page):
    assert f"（{page}）" not in PAGE_VIEWED.render({"page": page}, "ja")
    assert f"({page})" not in PAGE_VIEWED.render({"page": page}, "en")


@pytest.mark.parametrize("count", [1, 2])
def test_a_completion_line_counts_its_procedures_in_plain_english(count):
    said = VISITS_COMPLETED.render({"visit": "AB12CD34", "count": count}, "en")
    assert said == f"Completed with the card's signature (visit AB12CD34, procedures: {count})"
    assert f"手続き {count} 件" in VISITS_COMPLETED.render({"visit": "AB12CD34", "count": count})
