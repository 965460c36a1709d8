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
    text = _text(admin_client.get("/admin/incidents/incident/").content.decode())
    assert "resident_not_me" not in text
    assert "本人が住民用ページで「自分ではない」と申し出" in text
