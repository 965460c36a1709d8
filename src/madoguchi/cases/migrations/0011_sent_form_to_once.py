"""The case pages' one-time keys move to `madoguchi.once` (shared with the complaint form): the
keys already kept are copied over, so a case form shown before the move is still recorded once."""

from django.db import migrations


def copy_keys(apps, schema_editor):
    old = apps.get_model("cases", "SentForm")
    new = apps.get_model("once", "SentForm")
    new.objects.bulk_create(
        new(model="cases.case", key=s.key, object_id=s.case_id, sent_at=s.sent_at)
        for s in old.objects.all().iterator()
    )


def copy_back(apps, schema_editor):
    old = apps.get_model("cases", "SentForm")
    new = apps.get_model("once", "SentForm")
    cases = apps.get_model("cases", "Case")
    kept = set(cases.objects.values_list("pk", flat=True))
    old.objects.bulk_create(
        old(key=s.key, case_id=s.object_id, sent_at=s.sent_at)
        for s in new.objects.filter(model="cases.case").iterator()
        if s.object_id in kept
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_sent_form"),
        ("once", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_keys, copy_back),
        migrations.DeleteModel(name="SentForm"),
    ]
