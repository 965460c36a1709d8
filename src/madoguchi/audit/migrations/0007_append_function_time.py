"""PostgreSQL: the audit append function takes the application's time and keeps it from going
back along seq (never earlier than the head's); it formats the time into the canonical bytes
itself. Replaces 0006's function, which took the time's canonical JSON as an argument."""

from django.db import migrations

from madoguchi.audit import append_function

_FIRST_SIGNATURE = (
    "bigint, timestamptz, bytea, bytea[], bytea[], integer[], "
    "text[], text[], text[], text[], text[], text[], text[], jsonb[]"
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"DROP FUNCTION IF EXISTS {append_function.NAME}({_FIRST_SIGNATURE});", params=None
        )
        schema_editor.execute(append_function.UNLINKED_CREATE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_append_function")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
