"""A name check's no match says its reason once, and the reports group it by its reason code
with that sentence shown once: the incident read "一致しませんでした（名義が一致しません。…）",
and rows recorded with that whole sentence, with the shorter one or with none (before
sentences were kept) were read differently."""

import re
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from madoguchi.accounts.constants import Role
from madoguchi.incidents import services as incidents
from madoguchi.incidents import text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.namecheck.reasons import Reason
from madoguchi.reports import exports, selectors, services
from tests import factories

pytestmark = pytest.mark.django_db


SAID_ONCE_JA = "名義照合：一致しませんでした（別の方の口座の可能性があります）。"
SAID_ONCE_EN = "Name check: no match (The account may belong to someone else); nothing was linked."


def _no_match(terminal, detail):
    return incidents.incident_record(
        kind=IncidentKind.NAME_CHECK,
        reason_code="DIFFERENT",
        severity=Severity.MEDIUM,
        summary="Name check: no match (DIFFERENT); nothing was linked.",
        terminal=terminal,
        detail=detail,
    )


def test_a_no_match_reads_its_reason_once_and_groups_by_its_code(desk):
    terminal = desk.terminal
    summary, now = text.sentence(
        text.NAME_CHECK_NO_MATCH, reason=text.no_match_reason(Reason.DIFFERENT)
    )
    assert summary == SAID_ONCE_EN
    whole = {
        "id": text.NAME_CHECK_NO_MATCH,
        "params": {
            "reason": text.by_language(
                ja="名義が一致しません。別の方の口座の可能性があります",
                en="The names do not match; the account may belong to someone else",
            )
        },
    }
    rows = [_no_match(terminal, {"text": now}), _no_match(terminal, {"text": whole})]
    rows.append(_no_match(terminal, {"reason": "DIFFERENT"}))
    for row in Incident.objects.filter(pk__in=[r.pk for r in rows]):
        assert SAID_ONCE_JA in text.incident_text(row)
        assert "名義が一致しません" not in text.incident_text(row)
        with translation.override("en"):
            assert text.incident_text(row) == SAID_ONCE_EN

    content = services.build_daily(terminal, timezone.localdate())
    assert exports.refusal_rows(content) == [("名義照合：別の方の口座の可能性があります", 3)]
    series = selectors.dashboard_series([terminal], [timezone.localdate()])
    # The dashboard names it as the report does (its kind and reason: `exports.refusal_label`).
    assert series["refusals"] == {"名義照合：別の方の口座の可能性があります": [3]}
    assert series["refusals_by_desk"][terminal.name] == {
        "名義照合：別の方の口座の可能性があります": [3]
    }


REPRESENTATIVE_JA = (
    "名義照合：口座名義が未成年者とも法定代理人とも一致しませんでした"
    "（別の方の口座の可能性があります）。何も登録していません。"
)
REPRESENTATIVE_EN = (
    "Name check: the account matches neither the minor nor the legal representative "
    "(The account may belong to someone else); nothing was linked."
)
REPRESENTATIVE_REFUSAL = (
    "名義照合：未成年者とも法定代理人とも一致しません（別の方の口座の可能性があります）"
)


def html_text(html):
    """The text people read on a page (not its tags), entities unescaped."""
    return unescape(re.sub(r"<[^>]*>", " ", html))


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_representatives_no_match_reads_as_a_sentence_and_groups_by_its_code(
    client, desk, language
):
    """The minor's legal representative's no match (reason code `representative_<reason>`)
    kept no sentence: pages showed its English summary and the report its code. Rows recorded
    with the sentence and before it read alike, grouped apart from the minor's own no match."""
    terminal = desk.terminal
    summary, now = text.sentence(
        text.NAME_CHECK_REPRESENTATIVE_NO_MATCH, reason=text.no_match_reason(Reason.DIFFERENT)
    )
    assert summary == REPRESENTATIVE_EN
    old = "Name check: the account matches neither the minor nor the representative; nothing was linked."
    for detail, said in (
        ({"reason": "DIFFERENT"}, old),
        ({"reason": "DIFFERENT", "text": now}, summary),
    ):
        incidents.incident_record(
            kind=IncidentKind.NAME_CHECK,
            reason_code="representative_DIFFERENT",
            severity=Severity.MEDIUM,
            summary=said,
            terminal=terminal,
            detail=detail,
        )
    _no_match(terminal, {"reason": "DIFFERENT"})
    client.force_login(factories.staff(Role.SUPERVISOR))
    day = timezone.localdate()
    pages = [reverse("incidents:list"), reverse("reports:daily", args=[terminal.pk, day])]
    sentence = REPRESENTATIVE_JA if language == "ja" else REPRESENTATIVE_EN
    for url in pages:
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        read = html_text(html)
        assert "representative_" not in read, url
        assert sentence in read, url
        if language == "ja":
            assert "legal representative" not in read, url
    with translation.override(language):
        content = services.build_daily(terminal, day)
        rows = dict(exports.refusal_rows(content))
    if language == "ja":
        assert rows == {REPRESENTATIVE_REFUSAL: 2, "名義照合：別の方の口座の可能性があります": 1}
        document = exports.render_document(content)
        assert REPRESENTATIVE_REFUSAL in document
        assert "representative_" not in document
        series = selectors.dashboard_series([terminal], [day])
        assert series["refusals"] == {
            REPRESENTATIVE_REFUSAL: [2],
            "名義照合：別の方の口座の可能性があります": [1],
        }
    else:
        assert rows == {
            "Name check: matches neither the minor nor the legal representative "
            "(The account may belong to someone else)": 2,
            "Name check: The account may belong to someone else": 1,
        }
