"""A case keeps the organisation that opened it, as at opening (`Case.organisation`): a case
without a desk was read as the city of its opener's *current* organisation, so a member moved
to another city's contractor took the case to that city's officials. Existing cases take the
opener's organisation as it is now, the best this migration knows of the time they were
opened."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    User = apps.get_model("accounts", "User")
    opener = User.objects.filter(pk=OuterRef("opened_by_id")).values("organisation_id")[:1]
    Case.objects.filter(organisation__isnull=True).update(organisation_id=Subquery(opener))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_municipality_code_check_digit"),
        ("cases", "0013_timeline_entries_append_only"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="organisation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.organisation",
                verbose_name="opened by organisation",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
