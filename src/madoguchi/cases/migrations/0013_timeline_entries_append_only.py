"""A case timeline entry refuses UPDATE and DELETE in the database too (madoguchi.appendonly):
an entry was rewritable by a queryset or raw SQL."""

from django.db import migrations

from madoguchi import appendonly

TABLE = "cases_timelineentry"
SAID = "a case timeline entry is never changed"


def install(apps, schema_editor):
    for sql in appendonly.trigger_sql(schema_editor.connection.vendor, TABLE, SAID):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    for sql in appendonly.drop_sql(schema_editor.connection.vendor, TABLE):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("cases", "0012_timeline_entry_labels")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
