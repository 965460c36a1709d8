"""Cases opened by "this was not me" before cases kept their programme: the reported item's."""

from django.db import migrations


def forwards(apps, schema_editor):
    NotMeReport = apps.get_model("residents", "NotMeReport")
    Case = apps.get_model("cases", "Case")
    for kind in ("public_fund", "health_insurance"):
        cases = NotMeReport.objects.filter(item_kind=kind).values("case_id")
        Case.objects.filter(pk__in=cases).update(programme=kind)


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0002_resident_session_terminal"),
        ("cases", "0002_case_programme"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
