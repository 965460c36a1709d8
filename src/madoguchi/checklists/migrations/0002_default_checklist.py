"""Install the desk manual's checklist: a fresh installation is never without one.

Where a `desk` checklist already exists, its active version is kept, except that the "in the
resident's own name" item is extended to health-insurance registration (issue 11) by a new
version copied from the active one.
"""

from django.db import migrations

OWN_NAME = "payment_card_in_name"
OWN_NAME_JA = "提示された決済カード・通帳・保険証が来庁者本人の名義である"
OWN_NAME_EN = "The payment card, bank book or health insurance card shown is in the resident's name"
OWN_NAME_KINDS = ["point_application", "public_fund_account", "health_insurance_use", "test_link"]

# Frozen copy of checklists.constants.DEFAULT_ITEMS as of this migration.
ITEMS = [
    ("card_face_matches", "カードの顔写真が来庁者本人であることを確認した",
     "The photo on the card matches the person at the desk", "before_completion", []),
    ("pin_by_resident", "暗証番号は来庁者本人が入力した（職員は入力していない）",
     "The resident typed the PIN themselves (staff did not)", "before_completion", []),
    (OWN_NAME, OWN_NAME_JA, OWN_NAME_EN, "before_completion", OWN_NAME_KINDS),
    ("summary_confirmed", "確定内容を来庁者本人が画面で確認した",
     "The resident confirmed the summary on screen", "before_completion", []),
    ("receipt_handed", "控え（受付票）を来庁者に渡した",
     "The receipt was handed to the resident", "after_completion", []),
    ("visit_ended", "カードを返却し、受付を終了した",
     "The card was returned and the visit ended", "after_completion", []),
]  # fmt: skip


def install(apps, schema_editor):
    Template = apps.get_model("checklists", "ChecklistTemplate")
    Item = apps.get_model("checklists", "ChecklistItem")
    templates = Template.objects.filter(name="desk")
    if not templates.exists():
        template = Template.objects.create(
            name="desk", version=1, is_active=True, note="desk manual (installed by migration)"
        )
        for order, (code, ja, en, stage, kinds) in enumerate(ITEMS):
            Item.objects.create(
                template=template, code=code, label_ja=ja, label_en=en, stage=stage,
                required=True, procedures=kinds, order=order * 10,
            )  # fmt: skip
        return
    active = templates.filter(is_active=True).first()
    if active is None:
        return  # an operator switched every version off on purpose; completions are refused
    own = Item.objects.filter(template=active, code=OWN_NAME).first()
    if own is None or not own.procedures or "health_insurance_use" in own.procedures:
        return
    latest = templates.order_by("-version").first()
    copy = Template.objects.create(
        name="desk",
        version=latest.version + 1,
        is_active=False,
        note="own-name item applies to health-insurance registration",
    )
    for item in Item.objects.filter(template=active).order_by("order", "pk"):
        kinds = list(item.procedures)
        ja, en = item.label_ja, item.label_en
        if item.code == OWN_NAME:
            kinds = [*kinds, "health_insurance_use"]
            ja, en = OWN_NAME_JA, OWN_NAME_EN
        Item.objects.create(
            template=copy, code=item.code, label_ja=ja, label_en=en, stage=item.stage,
            required=item.required, procedures=kinds, order=item.order,
        )  # fmt: skip
    templates.filter(is_active=True).update(is_active=False)
    Template.objects.filter(pk=copy.pk).update(is_active=True)


class Migration(migrations.Migration):
    dependencies = [("checklists", "0001_initial")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
