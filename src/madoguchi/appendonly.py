"""Rows that are appended and never changed: the querysets and the database triggers that
refuse to change or delete them.

A model's own ``save()``/``delete()`` refuse an existing row; a queryset's ``update()``,
``delete()``, ``bulk_update()`` and an upsert (``bulk_create(update_conflicts=True)``) went
around them (round 19). The triggers also stop raw SQL from the application's role, on
PostgreSQL and on SQLite; the tables' owner can lift them, and TRUNCATE is not trapped (the
tests' flush on PostgreSQL uses it; on SQLite ``audit.triggers.suspended`` lifts them for a
flush).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import migrations, models


class AppendOnlyQuerySet(models.QuerySet[Any]):
    """A queryset whose writes to existing rows raise ``error`` (saying ``changed`` or
    ``deleted``); a model's queryset subclasses it, naming the three."""

    error: type[Exception] = Exception
    changed = "these rows are never changed"
    deleted = "these rows are never deleted"

    def update(self, **kwargs: Any) -> int:
        raise self.error(self.changed)

    def delete(self) -> Any:
        raise self.error(self.deleted)

    def bulk_update(self, objs: Iterable[Any], fields: Any, batch_size: Any = None) -> int:
        raise self.error(self.changed)

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        if kwargs.get("update_conflicts"):
            raise self.error(self.changed)
        return super().bulk_create(objs, *args, **kwargs)


def trigger_sql(vendor: str, table: str, said: str) -> list[str]:
    """The statements installing the trigger that refuses UPDATE and DELETE on ``table``,
    saying ``said`` (no quote character in it)."""
    if vendor == "postgresql":
        function = f"{table}_append_only"
        return [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    RAISE EXCEPTION '{said}: % on % is refused', TG_OP, TG_TABLE_NAME;\n"
            "END\n$$;",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}();",
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{said}: {op} on {table} is refused'); END;"
            for op in ("UPDATE", "DELETE")
        ]
    return []


def drop_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
            f"DROP FUNCTION IF EXISTS {table}_append_only();",
        ]
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_{op};" for op in ("update", "delete")]
    return []


def migration(table: str, said: str) -> Any:
    """The migration operation installing ``table``'s triggers on the database migrated
    (``trigger_sql``), and dropping them when it is reversed."""

    def install(apps: Any, schema_editor: Any) -> None:
        for sql in trigger_sql(schema_editor.connection.vendor, table, said):
            schema_editor.execute(sql, params=None)

    def uninstall(apps: Any, schema_editor: Any) -> None:
        for sql in drop_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)

    return migrations.RunPython(install, uninstall, elidable=False)
