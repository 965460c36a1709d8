"""Issue 11 item 5: the checklist fails closed."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from madoguchi.accounts.constants import Role
from madoguchi.checklists import services
from madoguchi.checklists.checks import active_checklist
from madoguchi.checklists.constants import DEFAULT_ITEMS, Stage
from madoguchi.checklists.models import ChecklistTemplate
from madoguchi.desk import services as desk_services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Completion
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from madoguchi.refusals import Refusal
from madoguchi.reports import services as reports
from tests import cardkit, checklistkit, factories

from .conftest import ORIGIN
from .test_services import prepare, start


@pytest.mark.django_db
def test_migrations_install_the_default_checklist_active():
    active = services.template_active()
    assert active is not None
    codes = set(active.items.values_list("code", flat=True))
    assert {"card_face_matches", "receipt_handed", "visit_ended"} <= codes
    own = active.items.get(code="payment_card_in_name")
    assert "health_insurance_use" in own.procedures


def test_completion_is_refused_when_no_checklist_is_active(trusted, desk):
    ChecklistTemplate.objects.update(is_active=False)
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    with pytest.raises(Refusal) as exc:
        desk_services.completion_challenge(desk_session=desk)
    assert exc.value.code == "checklist_missing"
    assert "チェックリスト" in exc.value.message_ja
    assert not Completion.objects.filter(visit=visit).exists()


@pytest.mark.django_db
def test_deploy_check_fails_without_an_active_checklist():
    assert active_checklist() == []
    ChecklistTemplate.objects.update(is_active=False)
    errors = active_checklist()
    assert [e.id for e in errors] == ["madoguchi.E100"]
    with pytest.raises(SystemCheckError, match="No active desk checklist"):
        call_command("check", "--deploy", stdout=io.StringIO(), stderr=io.StringIO())


def _complete(desk, card):
    checklistkit.tick_before(desk)
    ch = desk_services.completion_challenge(desk_session=desk)
    token = cardkit.completion_token(card, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    return desk_services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)


def test_after_items_unticked_at_visit_end_become_an_incident_in_the_daily_report(trusted, desk):
    a = trusted.card("A")
    visit = start(desk, a)
    prepare(desk)
    _complete(desk, a)
    receipt = services.items_for(visit, Stage.AFTER_COMPLETION)
    services.tick(visit=visit, item=next(i for i in receipt if i.code == "receipt_handed"),
                  staff=desk.staff)  # fmt: skip
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    incident = Incident.objects.get(kind=IncidentKind.CHECKLIST_UNTICKED, visit=visit)
    assert incident.detail["items"] == ["visit_ended"]
    day = timezone.localtime(visit.started_at).date()
    kinds = [i["kind"] for i in reports.build_daily(desk.terminal, day)["incidents"]]
    assert IncidentKind.CHECKLIST_UNTICKED in kinds


def test_all_after_items_ticked_records_no_incident(trusted, desk):
    a = trusted.card("A")
    visit = start(desk, a)
    prepare(desk)
    _complete(desk, a)
    for item in services.items_for(visit, Stage.AFTER_COMPLETION):
        services.tick(visit=visit, item=item, staff=desk.staff)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    assert not Incident.objects.filter(kind=IncidentKind.CHECKLIST_UNTICKED).exists()


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_unticked_items_incident_is_read_in_the_pages_language(client, trusted, desk, language):
    """The incident names the visit's end and the unticked items in the page's language: the
    items' Japanese labels on a Japanese page, their English labels on an English one."""
    a = trusted.card("A")
    visit = start(desk, a)
    prepare(desk)
    _complete(desk, a)
    desk_services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    incident = Incident.objects.get(kind=IncidentKind.CHECKLIST_UNTICKED, visit=visit)
    assert incident.summary.startswith(f"Visit {visit.reference} ended (next resident)")
    client.force_login(factories.staff(Role.SUPERVISOR))
    html = client.get("/incidents/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    gaps = services.items_for(visit, Stage.AFTER_COMPLETION)
    if language == "ja":
        assert f"受付 {visit.reference} は完了後のチェック項目が未確認のまま終了しました" in html
        assert "終了しました（次の方へ）" in html
        assert all(i.label_ja in html for i in gaps)
        assert "checklist items unticked" not in html
    else:
        assert "with after-completion checklist items unticked:" in html
        assert all(i.label_en in html for i in gaps)
        assert "完了後のチェック項目" not in html


@pytest.mark.django_db(transaction=True)
def test_a_flushed_database_has_the_default_checklist_again_a_switched_off_one_stays_off():
    """A flushed database is a fresh one: the migration's checklist is back (tests that run after
    a transactional test's flush, in any order, see what migrations installed). A database where
    an operator switched every version off keeps completions refused after a migrate."""
    ChecklistTemplate.objects.update(is_active=False)
    call_command("migrate", verbosity=0, stdout=io.StringIO())  # sends post_migrate
    assert services.template_active() is None

    call_command("flush", interactive=False, verbosity=0)
    active = services.template_active()
    assert active is not None
    assert active_checklist() == []
    assert {"card_face_matches", "receipt_handed", "visit_ended"} <= set(
        active.items.values_list("code", flat=True)
    )
    # As every data migration left it (0004 rewords the own-name item): a test run after a
    # flush saw 0002's wording.
    installed = {code: ja for code, ja, *_ in DEFAULT_ITEMS}
    assert (
        active.items.get(code="payment_card_in_name").label_ja == installed["payment_card_in_name"]
    )
