"""The dashboard's refusals by reason: one series per kind and reason, named as the daily
report names its rows (`exports.refusal_label`)."""

from django.urls import reverse
from django.utils import timezone

from madoguchi.identity.services import IdentityRefused
from madoguchi.incidents import services as incidents
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.reports import exports, selectors, services


def _record_refusal(desk_session, kind, message_id, severity):
    exc = IdentityRefused.carrying(
        "certificate_revoked",
        ja="カードの証明書は失効しています。",
        en="The card's certificate is revoked.",
    )
    summary, text = incident_text.sentence(message_id, reason=incident_text.refusal(exc))
    incidents.incident_record(
        kind=kind,
        reason_code=exc.code,
        severity=severity,
        summary=summary,
        terminal=desk_session.terminal,
        staff=desk_session.staff,
        detail={"code": exc.code, "text": text},
    )


def test_dashboard_refusals_by_reason_keep_the_kind_apart(client, desk, official):
    """A card refused at the visit's start (LOW) and a completion refused for the same reason
    (HIGH) are two refusals the daily report lists apart (「受付開始の拒否：…」, 「確定が拒否されました：…」);
    the city dashboard's "refusals by reason" merged them into one series named by the reason
    alone (2 × 「カードの証明書は失効しています」), hiding the signed-completion refusal."""
    _record_refusal(
        desk, IncidentKind.VISIT_START_REFUSED, incident_text.CARD_AUTH_REFUSED, Severity.LOW
    )
    _record_refusal(
        desk, IncidentKind.COMPLETION_REFUSED, incident_text.COMPLETION_REFUSED, Severity.HIGH
    )
    client.force_login(official)
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    series = response.context["series"]
    assert len(series["refusals"]) == 2, series["refusals"]
    per_desk = series["refusals_by_desk"][desk.terminal.name]
    assert len(per_desk) == 2, per_desk
    # Each series says which refusal it is, as the daily report does.
    assert any("確定" in label for label in series["refusals"]), list(series["refusals"])


def test_dashboard_and_daily_report_name_a_refusal_alike(desk):
    """The dashboard's series and the daily report's rows are named by one function: the same
    refusals read the same words in both."""
    _record_refusal(
        desk, IncidentKind.VISIT_START_REFUSED, incident_text.CARD_AUTH_REFUSED, Severity.LOW
    )
    _record_refusal(
        desk, IncidentKind.COMPLETION_REFUSED, incident_text.COMPLETION_REFUSED, Severity.HIGH
    )
    day = timezone.localdate()
    rows = dict(exports.refusal_rows(services.build_daily(desk.terminal, day)))
    series = selectors.dashboard_series([desk.terminal], [day])
    assert {label: counts[-1] for label, counts in series["refusals"].items()} == rows
    assert len(rows) == 2
