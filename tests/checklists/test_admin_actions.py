"""The operator's checklist and credential actions in the admin: one version made active at a
time, never one the desk does not use or one under which a procedure's completion needs no
tick, and a revocation that says what it did."""

from __future__ import annotations

import json

import pytest

from madoguchi.accounts.constants import Role
from madoguchi.audit.models import AuditEvent
from madoguchi.checklists import services
from madoguchi.checklists.constants import Stage
from madoguchi.checklists.models import ChecklistItem, ChecklistTemplate
from madoguchi.terminals import services as terminal_services
from madoguchi.terminals.models import TerminalCredential
from tests import factories

pytestmark = pytest.mark.django_db
TEMPLATES = "/admin/checklists/checklisttemplate/"
CREDENTIALS = "/admin/terminals/terminalcredential/"


@pytest.fixture
def operator(client, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = factories.staff(Role.OPERATOR)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    factories.sign_in_with_code(client, user, factories.totp_device(user))
    return client


def said(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def active() -> list[tuple[str, int]]:
    return list(ChecklistTemplate.objects.filter(is_active=True).values_list("name", "version"))


def test_activating_two_versions_at_once_is_refused(operator, checklist):
    """Both were made active in turn and the page said of each that it was now active."""
    v2 = services.template_new_version(template=checklist)
    r = operator.post(
        TEMPLATES,
        {"action": "activate", "_selected_action": [v2.pk, checklist.pk]},
        follow=True,
    )
    assert r.status_code == 200
    assert said(r) == [
        "有効にする版を一つだけ選んでください（2 件が選ばれていました）。何も変更していません。"
    ]
    assert active() == [("desk", 1)]
    assert not AuditEvent.objects.filter(event_name="checklists.version_activated").exists()


def test_one_version_is_made_active(operator, checklist):
    v2 = services.template_new_version(template=checklist)
    r = operator.post(TEMPLATES, {"action": "activate", "_selected_action": [v2.pk]}, follow=True)
    assert said(r) == ["desk v2 を有効にしました。"]
    assert active() == [("desk", 2)]


def test_a_version_that_checks_nothing_before_the_completion_is_not_made_active(
    operator, checklist
):
    """A copy whose required before-completion items were all removed (or made optional) let
    every completion commit with nothing ticked, once made active: the enforced checklist
    gone with one action."""
    v2 = services.template_new_version(template=checklist)
    v2.items.filter(stage=Stage.BEFORE_COMPLETION).update(required=False)
    r = operator.post(TEMPLATES, {"action": "activate", "_selected_action": [v2.pk]}, follow=True)
    (message,) = said(r)
    assert message.startswith("desk v2 には、次の手続きの確定前に確認が必須の項目がありません: ")
    assert "マイナポイント" in message
    assert "何も変更していません" in message
    assert active() == [("desk", 1)]
    with pytest.raises(services.ChecklistRefused) as refused:
        services.template_activate(template=v2)
    assert refused.value.code == "template_checks_nothing"
    assert "Nothing was changed" in refused.value.text("en")


def test_a_version_that_leaves_one_procedure_unchecked_is_not_made_active(checklist):
    v2 = services.template_new_version(template=checklist)
    for item in v2.items.filter(stage=Stage.BEFORE_COMPLETION, required=True):
        item.procedures = ["public_fund_account"]
        item.save()
    with pytest.raises(services.ChecklistRefused) as refused:
        services.template_activate(template=v2)
    english = refused.value.text("en")
    assert "public" not in english.split("completion of:")[1].lower()
    assert active() == [("desk", 1)]
    # One required item for every procedure is enough.
    ChecklistItem.objects.create(
        template=v2,
        code="asked",
        label_ja="確認した",
        label_en="Checked",
        stage=Stage.BEFORE_COMPLETION,
        required=True,
        procedures=[],
        order=99,
    )
    services.template_activate(template=v2)
    assert active() == [("desk", 2)]


def test_a_checklist_the_desk_does_not_use_is_not_made_active(operator, checklist):
    other = ChecklistTemplate.objects.create(name="desk-2027", version=1)
    for item in checklist.items.all():
        item.pk = None
        item.template = other
        item.save()
    r = operator.post(
        TEMPLATES, {"action": "activate", "_selected_action": [other.pk]}, follow=True
    )
    assert said(r) == [
        "窓口が使うチェックリストは「desk」です。「desk-2027」はどの窓口でも使われません。"
        "何も変更していません。「desk」の版をコピーして編集してください。"
    ]
    assert active() == [("desk", 1)]


def test_revoking_a_credential_says_so_and_a_second_time_says_it_was_already(operator):
    terminal = factories.terminal()
    issued = terminal_services.credential_issue(terminal=terminal, actor=None)
    credential = TerminalCredential.objects.get(terminal=terminal)
    r = operator.post(
        CREDENTIALS, {"action": "revoke", "_selected_action": [credential.pk]}, follow=True
    )
    assert said(r) == [
        f"{credential} を失効させました。この端末の開いている窓口セッションは終了し、"
        "ブラウザーは新しい認証情報で登録し直す必要があります。"
    ]
    credential.refresh_from_db()
    revoked_at = credential.revoked_at
    assert revoked_at is not None
    assert issued.raw not in r.content.decode()
    r = operator.post(
        CREDENTIALS, {"action": "revoke", "_selected_action": [credential.pk]}, follow=True
    )
    assert said(r) == [f"{credential} はすでに失効しています。何も変更していません。"]
    credential.refresh_from_db()
    assert credential.revoked_at == revoked_at
    assert AuditEvent.objects.filter(event_name="terminals.credential_revoked").count() == 1


def _change_form(template, *, required=lambda item: item.required):
    """The admin's change form of `template` as sent back, every item as it is but for
    `required`."""
    items = list(template.items.order_by("order"))
    data = {
        "name": template.name,
        "version": template.version,
        "note": template.note,
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": str(len(items)),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for n, item in enumerate(items):
        data |= {
            f"items-{n}-id": str(item.pk),
            f"items-{n}-template": str(template.pk),
            f"items-{n}-order": str(item.order),
            f"items-{n}-code": item.code,
            f"items-{n}-label_ja": item.label_ja,
            f"items-{n}-label_en": item.label_en,
            f"items-{n}-stage": item.stage,
            f"items-{n}-procedures": json.dumps(item.procedures),
        }
        if required(item):
            data[f"items-{n}-required"] = "on"
    return data


def test_the_active_version_is_not_edited_into_one_that_checks_nothing(operator, checklist):
    """Before its first tick the active version can be edited in the admin: unticking 必須 on
    its before-completion items did there what making such a version active is refused for."""
    url = f"{TEMPLATES}{checklist.pk}/change/"
    required_before = set(
        checklist.items.filter(required=True, stage=Stage.BEFORE_COMPLETION).values_list(
            "code", flat=True
        )
    )
    r = operator.post(url, _change_form(checklist, required=lambda item: False))
    assert r.status_code == 200
    assert "次の手続きの確定前に確認が必須の項目がありません" in r.content.decode()
    assert (
        set(
            checklist.items.filter(required=True, stage=Stage.BEFORE_COMPLETION).values_list(
                "code", flat=True
            )
        )
        == required_before
    )
    # Unticking one of them, with others left required, is an edit like any other.
    first = sorted(required_before)[0]
    r = operator.post(
        url, _change_form(checklist, required=lambda i: i.required and i.code != first)
    )
    assert r.status_code == 302
    assert not checklist.items.get(code=first).required
    # A version not active is edited freely; making it active is where it is checked.
    v2 = services.template_new_version(template=checklist)
    r = operator.post(f"{TEMPLATES}{v2.pk}/change/", _change_form(v2, required=lambda i: False))
    assert r.status_code == 302
