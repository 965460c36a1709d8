"""PostgreSQL: a CHECK constraint that every event's columns are the document in its stored
canonical bytes (madoguchi.audit.constraint, docs/adr/1503-audit-columns-checked-by-the-database.md).

Added NOT VALID (a brief lock, no scan), then validated in its own transaction while appends go
on. If an existing row's columns disagree with its stored bytes (a row changed behind the
triggers), validation fails: the constraint stays NOT VALID, the migration still succeeds, and
`audit verify` compares columns row by row as before and names the row.
SQLite: nothing (verify rebuilds every row from its columns there).
"""

import sys

from django.db import DatabaseError, migrations, transaction

from madoguchi.audit import constraint


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(constraint.add_sql(), params=None)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute(constraint.validate_sql(), params=None)
    except DatabaseError as exc:
        sys.stderr.write(
            f"\nWARNING: {constraint.NAME} could not be validated ({exc}). Some audit event's "
            "columns differ from its stored canonical bytes: run `madoguchi audit verify`, "
            "which checks the columns row by row while the constraint is not validated.\n"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(constraint.drop_sql(), params=None)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0004_event_canonical_bytes")]

    operations = [migrations.RunPython(add, drop, elidable=False)]
