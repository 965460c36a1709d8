"""The queries Django's ORM compiles meanwhile: a hot read that should run SQL compiled once per
process (`madoguchi.prepared.Prepared`) compiles none once warm, nor does a hot write that
should run SQL written once (`madoguchi.prepared.insert`, `insert_many`, `update_fields`) (issue 15)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler, SQLUpdateCompiler


@contextmanager
def _compiled(compiler: type[SQLCompiler]) -> Iterator[list[Any]]:
    compiled: list[Any] = []
    real = compiler.as_sql

    def counting(self: SQLCompiler, *args: Any, **kwargs: Any) -> Any:
        compiled.append(self.query.model)
        return real(self, *args, **kwargs)

    compiler.as_sql = counting  # type: ignore[method-assign]
    try:
        yield compiled
    finally:
        compiler.as_sql = real  # type: ignore[method-assign]


@contextmanager
def compiled_queries() -> Iterator[list[Any]]:
    """The model of each SELECT compiled inside the block, in order."""
    with _compiled(SQLCompiler) as compiled:
        yield compiled


@contextmanager
def compiled_inserts() -> Iterator[list[Any]]:
    """The model of each INSERT compiled inside the block, in order."""
    with _compiled(SQLInsertCompiler) as compiled:
        yield compiled


@contextmanager
def compiled_updates() -> Iterator[list[Any]]:
    """The model of each UPDATE compiled inside the block, in order."""
    with _compiled(SQLUpdateCompiler) as compiled:
        yield compiled
