"""Two desks linking one account at once; the minor + legal representative exception."""

import json

import pytest
from django.utils import translation

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits import services
from madoguchi.benefits.models import PaymentLink, VisitRepresentative
from madoguchi.desk import services as desk_services
from madoguchi.desk.models import Completion, Visit
from madoguchi.identity import services as identity
from madoguchi.incidents import text
from madoguchi.incidents.models import Incident
from madoguchi.namecheck.reasons import Reason, no_match_reason_text
from madoguchi.refusals import Refusal
from tests import cardkit
from tests.benefits.conftest import (
    ORIGIN,
    apply_fields,
    commit,
    make_providers,
    new_desk,
    prepare,
    refused,
    sign,
    start_visit,
)
from tests.checklistkit import tick_before
from tests.visits import commit_at_once, commit_two_cards, verify_basic_four


@pytest.mark.django_db(transaction=True)
def test_two_desks_linking_one_account_at_once_exactly_one_wins(pki, systems, settings):
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    desks = [new_desk(), new_desk()]
    cards = [pki.card("B"), pki.card("C")]
    signed = []
    for d, card in zip(desks, cards, strict=True):
        start_visit(d, card)
        prepare(d, **apply_fields(psid="7010000000000003", code="890", kana="スズキ イチロウ"))
        signed.append((d, *sign(d, card)))
    results = commit_at_once(signed)
    wins = [r for r in results if isinstance(r, Completion)]
    losses = [r for r in results if isinstance(r, Refusal)]
    assert len(wins) == 1, results
    assert len(losses) == 1
    assert losses[0].code == "account_already_linked"
    assert PaymentLink.objects.count() == 1
    assert Completion.objects.count() == 1


def _representative(desk, card, **kwargs):
    desk_services.visit_handover_start(desk_session=desk)
    nonce = services.representative_challenge(desk).value
    token = cardkit.auth_token(card, ORIGIN, nonce)
    return services.representative_authenticate(desk, token, nonce, **kwargs)


EXCEPTION = {"use_representative_exception": True}
MINOR_KANA = "サトウ ショウタ"


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_minor_with_representatives_own_card_links_the_representatives_account(
    trusted, desk, minor_card
):
    c = trusted.card("C")
    start_visit(desk, minor_card)
    # Without the exception: no match, blocked.
    refused("name_no_match", prepare, desk, **apply_fields(kana=MINOR_KANA))
    # The exception needs the birth date from the card, verified by the server.
    refused(
        "resident_birth_date_unread",
        prepare,
        desk,
        **apply_fields(kana=MINOR_KANA, resident_birth_date="2014-05-05", **EXCEPTION),
    )
    verify_basic_four(desk, minor_card)
    # ... and the representative's own card.
    refused("representative_required", prepare, desk, **apply_fields(kana=MINOR_KANA, **EXCEPTION))
    rep = _representative(desk, c, relationship="parent", kana="ヤマダ タロウ", kana_confirmed=True)
    assert rep.certificate.fingerprint == cardkit.fingerprint(c)
    p = prepare(desk, **apply_fields(kana=MINOR_KANA, **EXCEPTION))
    assert "2014" not in str(p.fields)
    # The resident's card alone no longer commits: the representative's must sign too.
    refused("second_signature_required", commit, desk, minor_card)
    assert not PaymentLink.objects.exists()


@pytest.mark.usefixtures("providers", "systems", "support_keys")
@pytest.mark.parametrize(
    ("kana", "code", "says"),
    [
        ("１２３４５６７８９０１２", "representative_kana_number", "番号"),
        # A company's legal form: the name check would match a company's account of that name
        # (tests/benefits/test_kana_legal_form.py).
        ("カ)サトウ ハナコ", "representative_kana_legal_form", "法人の種類"),
        # Kanji: every account a close match (tests/benefits/test_kana_kanji.py).
        ("山田 太郎", "representative_kana_kanji", "フリガナに漢字"),
        ("김철수", "representative_kana_characters", "口座の名義に使えない文字"),
    ],
    ids=["long-number", "legal-form", "kanji", "other-letters"],
)
def test_a_long_number_or_a_legal_form_in_the_representatives_kana_is_refused(
    trusted, desk, minor_card, kana, code, says
):
    """The representative's kana is stored and named on the receipt like the resident's, and
    checked against the account: an individual number or a company's legal form typed into it
    is refused, nothing recorded."""
    start_visit(desk, minor_card)
    err = refused(
        code,
        _representative,
        desk,
        trusted.card("C"),
        relationship="parent",
        kana=kana,
        kana_confirmed=True,
    )
    assert says in err.message_ja
    assert not VisitRepresentative.objects.exists()


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_representative_matching_neither_is_recorded_as_a_sentence(trusted, desk, minor_card):
    """The representative's own no match keeps its sentence as the minor's no match does: its
    reason in words, in Japanese and English, never the `representative_<reason>` code."""
    start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    _representative(
        desk, trusted.card("C"), relationship="parent", kana="スズキ イチロウ", kana_confirmed=True
    )
    refused("name_no_match", prepare, desk, **apply_fields(kana=MINOR_KANA, **EXCEPTION))
    incident = Incident.objects.get(reason_code__startswith="representative_")
    reason = Reason(incident.reason_code.removeprefix("representative_"))
    assert incident.detail["reason"] == reason
    assert incident.detail["outcome"] == "no_match"
    assert incident.detail["text"]["id"] == text.NAME_CHECK_REPRESENTATIVE_NO_MATCH
    with translation.override("ja"):
        said = text.incident_text(incident)
    assert said.startswith("名義照合：口座名義が未成年者とも法定代理人とも一致しませんでした（")
    assert no_match_reason_text(reason, "ja").rstrip("。") in said
    with translation.override("en"):
        assert text.incident_text(incident) == incident.summary
    assert no_match_reason_text(reason, "en").rstrip(".") in incident.summary
    assert "representative_" not in said + incident.summary


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_both_cards_sign_the_same_bytes_and_the_relationship_is_recorded(trusted, desk, minor_card):
    c = trusted.card("C")
    start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    rep = _representative(desk, c, relationship="parent", kana="ヤマダ タロウ", kana_confirmed=True)
    prepare(desk, **apply_fields(kana=MINOR_KANA, **EXCEPTION))
    completion = commit_two_cards(desk, minor_card, c)
    link = PaymentLink.objects.get()
    assert link.name_outcome == "no_match"
    assert link.name_exception == "minor_representative"
    assert link.representative == rep
    assert link.representative_outcome == "match"
    assert completion.second_certificate == rep.certificate
    assert completion.second_token
    signed = json.loads(bytes(completion.transaction_bytes))
    assert signed["second_certificate"] == rep.certificate.fingerprint
    assert signed["procedures"][0]["representative_relationship"] == "parent"
    text = "\n".join(signed["display"])
    assert "法定代理人による申請: 親権者の口座を使用します" in text
    assert "口座名義は法定代理人のお名前と照合: 一致" in text
    assert "match" not in text
    assert "parent" not in text
    events = AuditEvent.objects.filter(event_id__in=[3110, 4006, 3107]).order_by("seq")
    assert [e.event_id for e in events] == [3110, 4006, 3107]
    assert events[1].payload["relationship"] == "parent"
    assert events[2].payload["second_certificate"] == rep.certificate.fingerprint


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_swapped_representative_card_or_changed_content_commits_nothing(
    trusted, desk, other_desk, minor_card
):
    c, b = trusted.card("C"), trusted.card("B")
    for d, signer, change in ((desk, b, False), (other_desk, c, True)):
        start_visit(d, minor_card)
        verify_basic_four(d, minor_card)
        _representative(d, c, kana="ヤマダ タロウ", kana_confirmed=True)
        prepare(d, **apply_fields(kana=MINOR_KANA, **EXCEPTION))
        ch, token = sign(d, minor_card)
        if change:  # content changes between the resident's and the representative's signature
            # (another procedure added: a second point application is refused at prepare)
            desk_services.procedure_prepare(
                desk_session=d, kind="test_link", fields={"account": "PAY-X-1", "points": 1}
            )
            tick_before(d)  # the changed summary is confirmed again (its ticks were withdrawn)
            ch2 = desk_services.completion_challenge(desk_session=d)
            second = cardkit.completion_token(signer, ORIGIN, ch.nonce.value, ch2.transaction_bytes)
        else:  # another card than the representative's signs the second time
            second = cardkit.completion_token(signer, ORIGIN, ch.nonce.value, ch.transaction_bytes)
        with pytest.raises(Refusal) as exc:
            desk_services.completion_commit(
                desk_session=d, token=token, nonce=ch.nonce.value, second_token=second
            )
        expected = "transaction_changed" if change else "second_certificate_mismatch"
        assert exc.value.code == expected, exc.value
        assert desk_services.visit_current(desk_session=d) is None  # the visit ended
    assert not PaymentLink.objects.exists()
    assert Completion.objects.count() == 0


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_the_representative_route_is_refused_for_an_adult_before_any_pin(trusted, desk):
    """An elderly parent with a guardian (成年後見人): the desk could start the handover and the
    representative enter their PIN before the procedure refused (`exception_not_minor`; this
    installation holds no guardianship records). The handover is refused at once, saying why
    and what to do, and no representative's challenge is issued (a walk, 2026-12-02)."""
    a = trusted.card("A")
    start_visit(desk, a)
    verify_basic_four(desk, a)  # born 1980: read from the card, not typed
    exc = refused("representative_not_for_adult", desk_services.visit_handover_start,
                  desk_session=desk)  # fmt: skip
    with translation.override("ja"):
        said = exc.message_ja
    assert "成年後見" in said, said
    assert "未成年" in said, said
    assert "市" in said, said  # what to do: the city's guardianship procedure
    assert "guardianship" in exc.message_en
    assert desk_services.visit_current(desk_session=desk).handover_at is None
    refused("handover_not_started", services.representative_challenge, desk)
    assert not VisitRepresentative.objects.exists()


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_the_procedure_still_refuses_the_exception_for_an_adult(trusted, desk):
    """The procedure's own check stands behind the handover's: a visit whose adult birth date
    is known only after its representative authenticated (the handover started before the card
    was read) is refused there, as before."""
    a = trusted.card("A")
    visit = start_visit(desk, a)
    _representative(desk, trusted.card("C"), kana="ヤマダ タロウ", kana_confirmed=True)
    Visit.objects.filter(pk=visit.pk).update(card_birth_date="1980-05-01")
    refused("representative_not_for_adult", services.representative_challenge, desk)
    refused(
        "exception_not_minor",
        prepare,
        desk,
        **apply_fields(kana="サカイ ハナコ", resident_birth_date="2015-04-01", **EXCEPTION),
    )


@pytest.mark.usefixtures("providers", "systems")
def test_representative_must_use_their_own_card_after_an_explicit_handover(trusted, desk):
    a, c = trusted.card("A"), trusted.card("C")
    start_visit(desk, a)
    refused("handover_not_started", services.representative_challenge, desk)
    with pytest.raises(Refusal) as exc:
        _representative(desk, a, kana="サカイ ハナコ", kana_confirmed=True)
    assert exc.value.code == "representative_is_resident"
    assert not VisitRepresentative.objects.exists()
    _representative(desk, c, kana="ヤマダ タロウ", kana_confirmed=True)
    # A third card is refused (only one representative's card per visit).
    with pytest.raises(Refusal) as exc:
        _representative(desk, trusted.card("B"), kana="スズキ イチロウ", kana_confirmed=True)
    assert exc.value.code == "companion_already_set"
    assert VisitRepresentative.objects.count() == 1


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_exception_still_blocks_when_the_account_is_not_the_representatives(
    trusted, desk, minor_card
):
    start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    _representative(desk, trusted.card("B"), kana="スズキ イチロウ", kana_confirmed=True)
    refused("name_no_match", prepare, desk, **apply_fields(kana=MINOR_KANA, **EXCEPTION))
    assert not PaymentLink.objects.exists()


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_tampered_basic_four_is_refused(trusted, desk, minor_card, settings):
    import base64

    start_visit(desk, trusted.card("A"))
    files = {k: base64.b64decode(v) for k, v in cardkit.basic_four_files(minor_card).items()}
    # A page script that rewrites the birth date (same length) breaks EF0003's hash.
    forged = files["ef0002"].replace(b"20140203", b"20150203")
    assert forged != files["ef0002"]
    refused(
        "basic_four_invalid",
        desk_services.visit_basic_four,
        desk_session=desk,
        **{**files, "ef0002": forged},
    )
    settings.CARD_SUPPORT_KEYS = []
    refused("basic_four_unverifiable", desk_services.visit_basic_four, desk_session=desk, **files)
    assert Visit.objects.get().card_birth_date is None


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_a_public_fund_account_under_the_exception_names_the_representative_on_its_receipt(
    trusted, desk, minor_card
):
    """The lines signed named the legal representative and both cards; the receipt of a
    public-fund account so registered named neither (only a payment link's did)."""
    import re

    from madoguchi.benefits import receipts

    c = trusted.card("C")
    start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    _representative(desk, c, relationship="parent", kana="ヤマダ タロウ", kana_confirmed=True)
    prepare(
        desk,
        kind="public_fund_account",
        bank_code="0990",
        branch_code="001",
        account_type="ordinary",
        account_number="1234567",
        resident_kana=MINOR_KANA,
        resident_kana_confirmed=True,
        **EXCEPTION,
    )
    completion = commit_two_cards(desk, minor_card, c)
    for language, said in (
        (
            "ja",
            [
                "法定代理人（親権者）の名義の口座",
                "ご本人と法定代理人（親権者）のマイナンバーカード",
            ],
        ),
        (
            "en",
            ["legal representative (Parent", "of the resident and of their legal representative"],
        ),
    ):
        page = " ".join(
            re.sub(r"<[^>]+>", " ", receipts.receipt_html(completion, language)).split()
        )
        for words in said:
            assert words in page, (language, words)


@pytest.mark.usefixtures("providers", "systems", "support_keys")
def test_both_cards_sign_the_reading_the_representatives_check_used(trusted, desk, minor_card):
    """The account is compared with the representative's reading, typed by staff. The lines
    both cards signed said only 「口座名義は法定代理人のお名前と照合: 一致」: staff typed the account
    holder's own reading (a stranger's account, ｽｽﾞｷ ｲﾁﾛｳ, against representative C) and
    nothing signed said whose reading that was. The reading is now a signed line, before the
    outcome, and in the signed procedure entry, as the resident's is."""
    c = trusted.card("C")
    start_visit(desk, minor_card)
    verify_basic_four(desk, minor_card)
    typed = "すずき いちろう"  # hiragana: the name check matches it with the account's ｽｽﾞｷ ｲﾁﾛｳ
    _representative(desk, c, relationship="parent", kana=typed, kana_confirmed=True)
    prepare(desk, **apply_fields(psid="7010000000000003", code="890", kana=MINOR_KANA, **EXCEPTION))
    completion = commit_two_cards(desk, minor_card, c)
    signed = json.loads(bytes(completion.transaction_bytes))
    entry = signed["procedures"][0]
    assert entry["representative_outcome"] == "match"
    assert entry["representative_kana"] == typed
    assert entry["representative_kana_source"] == "resident_entry"
    display = signed["display"]
    at = display.index(f"法定代理人（親権者）のお名前（フリガナ）: {typed}")
    assert display[at + 1] == "口座名義は法定代理人のお名前と照合: 一致"
