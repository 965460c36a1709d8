"""Append-only triggers on the audit tables (PostgreSQL: UPDATE, DELETE, TRUNCATE; SQLite:
UPDATE, DELETE). A later migration that rebuilds these tables on SQLite must reinstall them."""

from django.db import migrations

from madoguchi.audit import triggers


def install(apps, schema_editor):
    for sql in triggers.install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def uninstall(apps, schema_editor):
    for sql in triggers.uninstall_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
