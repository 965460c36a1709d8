"""The admin showed stored codes as they are: a payment link's name check read "match" and
"EXACT_AFTER_NORMALISATION", its procedure "point_application (committed)", an incident's list
its reason code. They read in words now, Japanese on a Japanese page, English on an English
one."""

import re

import pytest

from madoguchi.accounts.constants import Role
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from tests import factories
from tests.benefits import builders

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def admin_client(client):
    user = factories.staff(Role.OPERATOR)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    factories.verified_login(client, user)
    return client


@pytest.fixture
def link():
    made = builders.link(
        builders.holder(),
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010000000000001",
    )
    made.name_reason = "EXACT_AFTER_NORMALISATION"
    made.save(update_fields=["name_reason"])
    return made


CODES = ("EXACT_AFTER_NORMALISATION", "point_application", "(committed)")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "ja",
            ("一致", "表記（全角・半角", "マイナポイントの申込（決済サービスの紐付け） (確定済み)"),
        ),
        (
            "en",
            (
                "Match",
                "The names are equal once the writing is normalised",
                "Point application (payment service link) (Committed)",
            ),
        ),
    ],
)
def test_a_payment_links_name_check_and_procedure_read_in_words(admin_client, link, lang, words):
    admin_client.get(f"/admin/?lang={lang}")  # the page's language, kept for the next pages
    factories.reasons_given(
        admin_client,
        "/admin/benefits/paymentlink/",
        f"/admin/benefits/paymentlink/{link.pk}/change/",
    )
    pages = {
        "list": admin_client.get("/admin/benefits/paymentlink/"),
        "row": admin_client.get(f"/admin/benefits/paymentlink/{link.pk}/change/"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        text = _text(response.content.decode())
        for code in CODES:
            assert code not in text, (name, code)
        assert words[0] in text, name
        assert words[1] in text, name
    row = _text(pages["row"].content.decode())
    for word in words[2:]:
        assert word in row


def test_the_incident_list_shows_the_sentence_not_the_reason_code(admin_client):
    Incident.objects.create(
        kind=IncidentKind.COMPLAINT,
        reason_code="resident_not_me",
        severity=Severity.HIGH,
        summary="本人が住民用ページで「自分ではない」と申し出",
    )
    factories.reasons_given(admin_client, "/admin/incidents/incident/")
    text = _text(admin_client.get("/admin/incidents/incident/").content.decode())
    assert "resident_not_me" not in text
    assert "本人が住民用ページで「自分ではない」と申し出" in text


def test_an_incidents_page_shows_its_sentence_not_the_english_it_was_recorded_with(admin_client):
    """The change page showed the stored summary (English) under 内容, beside the sentence in
    Japanese."""
    from madoguchi.incidents.services import incident_record
    from madoguchi.incidents.text import COMPLETION_REFUSED, by_language, sentence

    summary, text = sentence(
        COMPLETION_REFUSED,
        reason=by_language(
            ja="署名したカードが受付のカードではありません",
            en="the card that signed is not the card of the visit",
        ),
    )
    incident = incident_record(
        kind=IncidentKind.COMPLETION_REFUSED,
        reason_code="signer_mismatch",
        severity=Severity.HIGH,
        summary=summary,
        detail={"text": text},
    )
    url = f"/admin/incidents/incident/{incident.pk}/change/"
    factories.reasons_given(admin_client, url)
    page = _text(admin_client.get(url).content.decode())
    assert summary == "Completion refused: the card that signed is not the card of the visit"
    assert summary not in page
    assert "署名したカードが受付のカードではありません" in page


# The codes the admin still showed as stored: the outbox's call names, the insurer's answer, a
# grant's category and the audit log's event names. Each reads in words now, its code beside
# (operators find it so in the worker's log, the docs and the log's search).


def test_the_outbox_shows_its_call_in_words_with_its_code(admin_client):
    from django.utils import timezone

    from madoguchi.benefits.models import OutsideCall
    from madoguchi.benefits.services.outbox import CANCEL_REGISTRATION, REGISTER_USE

    call = OutsideCall.objects.create(key="k-1", kind=REGISTER_USE, next_attempt_at=timezone.now())
    listing = _text(
        admin_client.get("/admin/benefits/outsidecall/?lang=ja", follow=True).content.decode()
    )
    words = "保険者へのカードの健康保険証利用登録 (insurer.register_use)"
    assert listing.count(words) == 2  # the row, and the filter's choice
    assert "保険者でのカードの健康保険証利用の停止 (insurer.cancel_registration)" in listing
    # A call's page is a read of its registration's resident: a reason first (admin_reads).
    row = admin_client.get(
        f"/admin/benefits/outsidecall/{call.pk}/change/?reason=audit", follow=True
    )
    assert words in _text(row.content.decode())
    english = admin_client.get("/admin/benefits/outsidecall/?lang=en", follow=True).content.decode()
    assert "Register the card for health-insurance use at the insurer" in _text(english)
    # The filter's choices still filter by the stored code.
    filtered = admin_client.get(f"/admin/benefits/outsidecall/?kind={CANCEL_REGISTRATION}")
    assert "k-1" not in _text(filtered.content.decode())


def test_the_insurers_answer_reads_in_words():
    from django.contrib import admin
    from django.utils import translation

    from madoguchi.benefits.admin import HealthInsuranceRegistrationAdmin
    from madoguchi.benefits.models import HealthInsuranceRegistration

    shown = HealthInsuranceRegistrationAdmin(HealthInsuranceRegistration, admin.site)
    with translation.override("ja"):
        answers = [
            shown.insurer_status_shown(HealthInsuranceRegistration(insurer_status=status))
            for status in ("registered", "already_registered", "", "odd")
        ]
    assert answers == [
        "この申請で登録 (registered)",
        "以前から登録済み（変更なし） (already_registered)",
        "",
        "odd",
    ]
    assert "insurer_status_shown" in shown.get_fields(None, None)  # the row's page too
    assert "insurer_status" not in shown.get_fields(None, None)


def test_a_grants_category_reads_as_its_programme_names_it(admin_client):
    from madoguchi.benefits import services

    holder = builders.holder()
    builders.link(
        holder,
        programme=builders.programme(),
        provider=builders.provider(),
        account="7010000000000001",
    )
    services.grants_evaluate(holder)
    factories.reasons_given(admin_client, "/admin/benefits/grant/")
    listing = _text(
        admin_client.get("/admin/benefits/grant/?lang=ja", follow=True).content.decode()
    )
    assert listing.count("申込 (c1)") == 2  # the row, and the filter's choice
    assert listing.count("追加 (c2)") == 2
    from madoguchi.benefits.models import Grant

    grant = Grant.objects.get(category="c1")
    factories.reasons_given(admin_client, f"/admin/benefits/grant/{grant.pk}/change/")
    row = _text(admin_client.get(f"/admin/benefits/grant/{grant.pk}/change/").content.decode())
    assert "申込 (c1)" in row
    filtered = _text(admin_client.get("/admin/benefits/grant/?category=c2").content.decode())
    assert filtered.count("申込 (c1)") == 1  # the filter's choice only


def test_the_audit_log_names_each_event_in_words_with_its_code(admin_client):
    from django.db import transaction

    from madoguchi.audit import services as audit
    from madoguchi.audit.models import AuditEvent

    with transaction.atomic():
        audit.record("accounts.locked_out", payload={"username": "desk9"})
    event = AuditEvent.objects.get(event_name="accounts.locked_out")
    listing = _text(
        admin_client.get("/admin/audit/auditevent/?lang=ja", follow=True).content.decode()
    )
    words = "ユーザー名 … を連続失敗のためロックしました (accounts.locked_out)"
    assert listing.count(words) == 2  # the row, and the filter's choice
    assert "ユーザー名 desk9 を連続失敗のためロックしました" in listing  # its description
    assert "… がサインアウトしました (accounts.signed_out)" in listing  # every event to filter
    row = admin_client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert words in _text(row.content.decode())
    english = _text(
        admin_client.get("/admin/audit/auditevent/?lang=en", follow=True).content.decode()
    )
    assert "User name … locked out after repeated failures (accounts.locked_out)" in english
    filtered = admin_client.get("/admin/audit/auditevent/?event_name=accounts.signed_out")
    assert "desk9" not in _text(filtered.content.decode())
