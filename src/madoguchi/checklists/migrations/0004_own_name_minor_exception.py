"""The "in the resident's own name" item says what it asks in the exception for a minor using
a legal representative's account: there the account is the representative's, in their own
name, and staff had to tick that it was the resident's.

The desk checklist's active version is changed only where its item still has the wording this
project installed (a city's own wording is left as the city wrote it). A version no tick uses
yet is changed in place (a fresh installation keeps its version 1); one in use keeps what its
ticks meant, and a new version, copied from it with the new wording, becomes the active one.
"""

from django.db import migrations

OWN_NAME = "payment_card_in_name"
OLD_JA = "提示された決済カード・通帳・保険証が来庁者本人の名義である"
OLD_EN = "The payment card, bank book or health insurance card shown is in the resident's name"
# Frozen copy of the item's wording in checklists.constants.DEFAULT_ITEMS as of this migration.
NEW_JA = (
    "提示された決済カード・通帳・保険証が来庁者本人の名義である"
    "（未成年者が法定代理人の口座を使う例外では、その法定代理人本人の名義である）"
)
NEW_EN = (
    "The payment card, bank book or health insurance card shown is in the resident's name (in "
    "the exception of a minor using a legal representative's account: in that "
    "representative's own name)"
)


def reword(apps, schema_editor):
    Template = apps.get_model("checklists", "ChecklistTemplate")
    Item = apps.get_model("checklists", "ChecklistItem")
    Tick = apps.get_model("checklists", "ChecklistTick")
    active = Template.objects.filter(name="desk", is_active=True).first()
    if active is None:
        return  # no desk checklist in use: nothing to reword
    own = Item.objects.filter(template=active, code=OWN_NAME, label_ja=OLD_JA).first()
    if own is None:
        return  # the city's own wording, or no such item
    if not Tick.objects.filter(item__template=active).exists():
        Item.objects.filter(pk=own.pk).update(label_ja=NEW_JA, label_en=NEW_EN)
        return
    latest = Template.objects.filter(name="desk").order_by("-version").first()
    copy = Template.objects.create(
        name="desk",
        version=latest.version + 1,
        is_active=False,
        note="own-name item: the exception of a minor using a legal representative's account",
    )
    for item in Item.objects.filter(template=active).order_by("order", "pk"):
        ja, en = (NEW_JA, NEW_EN) if item.pk == own.pk else (item.label_ja, item.label_en)
        Item.objects.create(
            template=copy, code=item.code, label_ja=ja, label_en=en, stage=item.stage,
            required=item.required, procedures=item.procedures, order=item.order,
        )  # fmt: skip
    Template.objects.filter(pk=active.pk).update(is_active=False)
    Template.objects.filter(pk=copy.pk).update(is_active=True)


class Migration(migrations.Migration):
    dependencies = [("checklists", "0003_field_verbose_names")]
    operations = [migrations.RunPython(reword, migrations.RunPython.noop)]
