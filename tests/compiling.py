"""The queries Django's ORM compiles meanwhile: a hot read that should run SQL compiled once per
process (`madoguchi.prepared.Prepared`) compiles none once warm (issue 15)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models.sql.compiler import SQLCompiler


@contextmanager
def compiled_queries() -> Iterator[list[Any]]:
    """The model of each SELECT compiled inside the block, in order."""
    compiled: list[Any] = []
    real = SQLCompiler.as_sql

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        compiled.append(self.query.model)
        return real(self, *args, **kwargs)

    SQLCompiler.as_sql = counting  # type: ignore[method-assign]
    try:
        yield compiled
    finally:
        SQLCompiler.as_sql = real  # type: ignore[method-assign]
