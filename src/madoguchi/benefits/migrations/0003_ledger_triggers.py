"""Immutable ledger tables on PostgreSQL (see benefits/triggers.py)."""

from django.db import migrations

from madoguchi.benefits import triggers


def install(apps, schema_editor):
    for sql in triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    for sql in triggers.uninstall_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("benefits", "0002_national_programme")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
