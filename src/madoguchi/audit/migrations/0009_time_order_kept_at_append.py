"""Each event keeps the previous event's seq and time; on PostgreSQL two constraints check them
against that event, so that no event's time is earlier than the previous one's, whoever inserts
it (madoguchi.audit.timeorder, docs/adr/1507-audit-time-order-kept-at-append.md).

PostgreSQL, in order:
1. the append function that fills the two columns (committed first: every append from then on
   fills them);
2. the unique index on (seq, time) the foreign key refers to (a SHARE lock while it is built:
   appends wait);
3. under the log's head lock (no append between reading the head and adding the CHECK), the
   CHECK, which lets the events up to the head have no previous event recorded (they were
   appended before the columns existed; the log is never updated to fill them in, and their
   canonical bytes hold no such thing), and the foreign key, both NOT VALID (brief locks);
4. each validated in its own transaction while appends go on. If one cannot be validated, it
   stays NOT VALID, the migration still succeeds, and `audit verify` tests every event's time
   itself, as before.
An append whose call began before step 1 and reached the head lock only after step 3 (the old
function, which leaves the columns empty) is refused by the CHECK and its transaction rolled
back; run migrations with the application stopped, as for any.
SQLite: the two columns only (the append in Python fills them; verify tests every event's time).
"""

import sys

from django.db import DatabaseError, migrations, models, transaction

from madoguchi.audit import append_function, timeorder

# audit.services.ADVISORY_LOCK_KEY when this migration was written (the log's head lock).
_HEAD_LOCK = 0x6D61646F61756474


def link(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    alias = schema_editor.connection.alias
    with transaction.atomic(using=alias):
        schema_editor.execute(append_function.CREATE_SQL, params=None)
    with transaction.atomic(using=alias):
        schema_editor.execute(timeorder.index_sql(), params=None)
    with transaction.atomic(using=alias):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock({_HEAD_LOCK:d})")
            cursor.execute(f"SELECT coalesce(max(seq), 1) FROM {timeorder.TABLE}")  # noqa: S608
            (head,) = cursor.fetchone()
        for sql in timeorder.add_sql(max(int(head), 1)):
            schema_editor.execute(sql, params=None)
    for sql in timeorder.validate_sql():
        try:
            with transaction.atomic(using=alias):
                schema_editor.execute(sql, params=None)
        except DatabaseError as exc:
            sys.stderr.write(
                f"\nWARNING: {sql.rsplit(' ', 1)[-1]} could not be validated ({exc}). "
                "`madoguchi audit verify` tests every event's time while it is not validated.\n"
            )


def unlink(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in timeorder.drop_sql():
        schema_editor.execute(sql, params=None)
    schema_editor.execute(append_function.UNLINKED_CREATE_SQL, params=None)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0008_payload_rules")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="previous_seq",
            field=models.BigIntegerField(
                editable=False, null=True, verbose_name="previous sequence number"
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="previous_time",
            field=models.DateTimeField(
                editable=False, null=True, verbose_name="previous event's time"
            ),
        ),
        migrations.RunPython(link, unlink, elidable=False),
    ]
