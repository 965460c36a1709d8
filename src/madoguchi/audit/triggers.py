"""Database triggers that make the audit tables append-only for the application's role.

They stop UPDATE, DELETE (and on PostgreSQL TRUNCATE) through any code path, including raw SQL.
They do not stop a database superuser or the tables' owner, who can disable or drop them; the hash
chain and the signed checkpoints kept outside the database are what make such tampering evident.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

TABLES = ("audit_auditevent", "audit_auditcheckpoint")
PG_FUNCTION = "madoguchi_audit_append_only"

_PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'Record a new audit event instead of changing or removing one.';
END
$$;
"""


def _pg_install(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}();",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}();",
    ]


def _sqlite_install(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} on {table} is refused'); "
        "END;"
        for op in ("UPDATE", "DELETE")
    ]


def _sqlite_names(table: str) -> list[str]:
    return [f"{table}_no_update", f"{table}_no_delete"]


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [_PG_FUNCTION_SQL] + [sql for t in TABLES for sql in _pg_install(t)]
    if vendor == "sqlite":
        return [sql for t in TABLES for sql in _sqlite_install(t)]
    return []


def uninstall_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        drops = [
            f"DROP TRIGGER IF EXISTS {t}_{suffix} ON {t};"
            for t in TABLES
            for suffix in ("append_only", "no_truncate")
        ]
        return [*drops, f"DROP FUNCTION IF EXISTS {PG_FUNCTION}();"]
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name};" for t in TABLES for name in _sqlite_names(t)]
    return []


@contextmanager
def suspended(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Lift the triggers for a whole-database flush (``madoguchi flush``) and put them back.

    Needs the rights of the tables' owner, which is exactly what the triggers cannot stop.
    """
    if connection.vendor == "sqlite":
        # SQLite's flush DELETEs every row: every append-only table's triggers (the ledger's,
        # the reports', the cases' timeline, madoguchi.appendonly) are lifted and put back
        # as they were stored.
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            stored = cursor.fetchall()
            for name, _sql in stored:
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}";')
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for _name, sql in stored:
                    cursor.execute(sql)
        return
    existing = set(connection.introspection.table_names()) & set(TABLES)
    if not existing:
        yield
        return
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for table in existing:
            if vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER;")
            elif vendor == "sqlite":
                for name in _sqlite_names(table):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name};")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for table in existing:
                if vendor == "postgresql":
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER;")
                elif vendor == "sqlite":
                    for sql in _sqlite_install(table):
                        cursor.execute(sql)
