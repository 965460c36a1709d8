"""Round 19: the admin's record titles in the page's words, as its fields are (a checklist
tick's title was its item's code; django-axes' records read "Access Log for … @ <UTC>")."""

import re

import pytest
from django.test import Client

from madoguchi.accounts.constants import Role
from madoguchi.checklists.models import ChecklistTick
from tests import checklistkit, factories
from tests.desk.test_text_rules import _start, staff_client  # noqa: F401 -- fixture


def _operator_client():
    op = factories.staff(Role.OPERATOR)
    op.is_staff = op.is_superuser = True
    op.save()
    client = Client()
    factories.verified_login(client, op)
    return client


def _crumbs(page):
    return re.search(r'<div class="breadcrumbs">(.*?)</div>', page, re.S).group(1)


def test_a_checklist_ticks_title_is_its_items_words(
    trusted,
    staff_client,  # noqa: F811
):
    from madoguchi.desk import services

    _start(staff_client, trusted.card("A"))
    services.procedure_prepare(
        desk_session=staff_client.desk,
        kind="test_link",
        fields={"account": "PAY-A-0001", "points": 1},
    )
    checklistkit.tick_before(staff_client.desk)
    tick = ChecklistTick.objects.first()
    page = _operator_client().get(f"/admin/checklists/checklisttick/{tick.pk}/change/?lang=ja")
    crumbs = _crumbs(page.content.decode())
    assert tick.item.code not in crumbs
    assert tick.item.label_ja in crumbs


@pytest.mark.django_db
def test_a_sign_in_records_title_is_in_the_pages_words_and_local_time():
    from axes.models import AccessLog

    admin = _operator_client()
    log = AccessLog.objects.order_by("-pk").first()
    assert log is not None
    crumbs = _crumbs(admin.get(f"/admin/axes/accesslog/{log.pk}/change/?lang=ja").content.decode())
    assert "Access Log for" not in crumbs
    assert "+00:00" not in crumbs
    assert "サインイン" in crumbs
