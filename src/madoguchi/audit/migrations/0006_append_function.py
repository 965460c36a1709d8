"""PostgreSQL: the audit append as one statement, a PL/pgSQL function (madoguchi.audit.append_function,
issue 15). SQLite: nothing (the append stays in Python there)."""

from django.db import migrations

from madoguchi.audit import append_function


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(append_function.UNLINKED_CREATE_SQL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(append_function.DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_columns_match_canonical")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
