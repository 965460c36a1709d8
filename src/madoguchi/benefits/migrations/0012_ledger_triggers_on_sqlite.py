"""The ledger's append-only triggers on SQLite too (see benefits/triggers.py): raw UPDATE and
DELETE on the demo's or a pilot desk's ledger were taken."""

from django.db import migrations

from madoguchi.benefits import triggers


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in triggers.sqlite_install_sql():
            schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for sql in triggers.sqlite_uninstall_sql():
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("benefits", "0011_admin_labels")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
