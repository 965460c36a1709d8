"""Triggers that make the ledger tables refuse UPDATE and DELETE (PostgreSQL and SQLite).

The models refuse too (on every database); the triggers also stop raw SQL from the application.
TRUNCATE is not trapped (Django's test flush uses it): withhold the TRUNCATE privilege from the
application's role in production. As with the audit log, the tables' owner can lift them.
"""

from __future__ import annotations

from madoguchi import appendonly

TABLES = ("benefits_ledgertransfer", "benefits_ledgerentry")
PG_FUNCTION = "madoguchi_ledger_immutable"

_PG_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the points ledger is immutable: % on % is refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'Post a new (reversing) transfer instead.';
END
$$;
"""


SAID = "the points ledger is immutable"


def install_sql(vendor: str) -> list[str]:
    """PostgreSQL's (migration 0003); SQLite's are ``sqlite_install_sql`` (migration 0012)."""
    if vendor != "postgresql":
        return []
    return [_PG_FUNCTION_SQL] + [
        f"CREATE TRIGGER {t}_immutable BEFORE UPDATE OR DELETE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}();"
        for t in TABLES
    ]


def sqlite_install_sql() -> list[str]:
    """SQLite's (since round 19: the demo's and a pilot desk's ledger took raw UPDATEs). A
    later migration that rebuilds a ledger table on SQLite drops them: install them again."""
    return [sql for t in TABLES for sql in appendonly.trigger_sql("sqlite", t, SAID)]


def sqlite_uninstall_sql() -> list[str]:
    return [sql for t in TABLES for sql in appendonly.drop_sql("sqlite", t)]


def uninstall_sql(vendor: str) -> list[str]:
    if vendor != "postgresql":
        return []
    return [f"DROP TRIGGER IF EXISTS {t}_immutable ON {t};" for t in TABLES] + [
        f"DROP FUNCTION IF EXISTS {PG_FUNCTION}();"
    ]
