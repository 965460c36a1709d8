"""A submitted daily report refuses UPDATE and DELETE in the database too (madoguchi.appendonly):
its snapshot and hash were rewritable together by a queryset or raw SQL."""

from django.db import migrations

from madoguchi import appendonly

TABLE = "reports_dailyreport"
SAID = "a submitted daily report is frozen"


def install(apps, schema_editor):
    for sql in appendonly.trigger_sql(schema_editor.connection.vendor, TABLE, SAID):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    for sql in appendonly.drop_sql(schema_editor.connection.vendor, TABLE):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_field_verbose_names")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
