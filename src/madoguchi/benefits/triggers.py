"""PostgreSQL triggers that make the ledger tables refuse UPDATE and DELETE.

The models refuse too (on every database); the triggers also stop raw SQL from the application.
TRUNCATE is not trapped (Django's test flush uses it): withhold the TRUNCATE privilege from the
application's role in production. As with the audit log, the tables' owner can lift them.
"""

from __future__ import annotations

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


def install_sql(vendor: str) -> list[str]:
    if vendor != "postgresql":
        return []
    return [_PG_FUNCTION_SQL] + [
        f"CREATE TRIGGER {t}_immutable BEFORE UPDATE OR DELETE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}();"
        for t in TABLES
    ]


def uninstall_sql(vendor: str) -> list[str]:
    if vendor != "postgresql":
        return []
    return [f"DROP TRIGGER IF EXISTS {t}_immutable ON {t};" for t in TABLES] + [
        f"DROP FUNCTION IF EXISTS {PG_FUNCTION}();"
    ]
