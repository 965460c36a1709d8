"""The own-name item says what it asks in the exception of a minor using a legal
representative's account (migration 0004): staff ticked "in the resident's name" for an
account that was the representative's."""

import importlib

from django.apps import apps

from madoguchi.checklists import services
from madoguchi.checklists.constants import Stage
from madoguchi.checklists.models import ChecklistItem, ChecklistTemplate
from tests.visits import start_visit as start

from .test_services import prepare

MIGRATION = importlib.import_module("madoguchi.checklists.migrations.0004_own_name_minor_exception")
OWN = "payment_card_in_name"


def test_a_fresh_installation_asks_for_the_representatives_own_name_in_the_exception(checklist):
    item = checklist.items.get(code=OWN)
    assert "法定代理人本人の名義" in item.label_ja
    assert "that representative's own name" in item.label_en
    assert checklist.version == 1  # a version no tick used was reworded in place


def test_a_version_in_use_keeps_its_wording_and_a_new_one_is_reworded(trusted, desk, checklist):
    ChecklistItem.objects.filter(template=checklist, code=OWN).update(
        label_ja=MIGRATION.OLD_JA, label_en=MIGRATION.OLD_EN
    )
    visit = start(desk, trusted.card("A"))
    prepare(desk)
    item = services.items_for(visit, Stage.BEFORE_COMPLETION)[0]
    services.tick(visit=visit, item=item, staff=desk.staff)  # the version is in use now
    MIGRATION.reword(apps, None)
    old = ChecklistTemplate.objects.get(pk=checklist.pk)
    assert not old.is_active
    assert old.items.get(code=OWN).label_ja == MIGRATION.OLD_JA
    new = ChecklistTemplate.objects.get(name="desk", is_active=True)
    assert new.version == checklist.version + 1
    assert new.items.get(code=OWN).label_ja == MIGRATION.NEW_JA
    assert sorted(new.items.values_list("code", flat=True)) == sorted(
        old.items.values_list("code", flat=True)
    )


def test_a_citys_own_wording_is_left_as_the_city_wrote_it(checklist):
    ChecklistItem.objects.filter(template=checklist, code=OWN).update(label_ja="市の文言")
    MIGRATION.reword(apps, None)
    assert ChecklistTemplate.objects.get(is_active=True, name="desk").pk == checklist.pk
    assert checklist.items.get(code=OWN).label_ja == "市の文言"
