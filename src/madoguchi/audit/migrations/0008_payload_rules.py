"""PostgreSQL: a CHECK constraint that every event's payload keeps the rules `record()`
enforces (madoguchi.audit.rules: a JSON object, no key that looks like a PIN or the individual
number, no 12-digit string value), so that an event inserted by other means cannot carry one,
and `audit verify` need not look into every payload (it checks the catalog once).

Added NOT VALID (a brief lock, no scan), then validated in its own transaction while appends go
on. If an existing row breaks a rule (an event inserted by other means), validation fails: the
constraint stays NOT VALID, the migration still succeeds, and `audit verify` checks the payloads
row by row while it is not validated, and names the row.
SQLite: nothing (verify checks every row's payload there).
"""

import sys

from django.db import DatabaseError, migrations, transaction

from madoguchi.audit import rules


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(rules.add_sql(), params=None)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute(rules.validate_sql(), params=None)
    except DatabaseError as exc:
        sys.stderr.write(
            f"\nWARNING: {rules.CONSTRAINT} could not be validated ({exc}). Some audit event's "
            "payload breaks the rules record() enforces: run `madoguchi audit verify`, which "
            "names it.\n"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(rules.drop_sql(), params=None)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0007_append_function_time")]

    operations = [migrations.RunPython(add, drop, elidable=False)]
