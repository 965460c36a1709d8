"""Cases opened from findings before cases kept their programme: the finding's."""

from django.db import migrations

_PROGRAMME = {"public_fund": "public_fund", "health_insurance": "health_insurance"}


def forwards(apps, schema_editor):
    FindingCase = apps.get_model("scans", "FindingCase")
    Case = apps.get_model("cases", "Case")
    for link in FindingCase.objects.select_related("finding"):
        programme = _PROGRAMME.get(link.finding.programme)
        if programme:
            Case.objects.filter(pk=link.case_id).update(programme=programme)


class Migration(migrations.Migration):
    dependencies = [
        ("scans", "0002_finding_account"),
        ("cases", "0002_case_programme"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
