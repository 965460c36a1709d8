"""Querysets compiled once per process and database, run again with other parameter values.

Building and compiling a queryset (filters, joins, subqueries, select_related) costs more CPU
than most of the desk's requests spend on anything else (issue 15: about 40% of the server's
Python time on the completion path). For a hot query whose shape never changes, `Prepared`
builds the queryset once from stand-in values, keeps Django's compiled SQL and its compiler
(which knows how to turn rows into model instances, related objects and annotations), and on
every call only puts the call's values in place of the stand-ins. The rows are turned into
objects by Django's own `ModelIterable`, exactly as the queryset would have been.

A values_list queryset (its rows are tuples, not objects) runs with `rows()`: the same
compiled SQL, the rows as the queryset's `ValuesListIterable` gives them.

`insert(instance)` saves a new instance with the INSERT's SQL written once per process and
database, as `save()` would save it (issue 15, fifteenth round).

`update_fields(instance, fields)` is `instance.save(update_fields=fields)` with the UPDATE's
SQL written once per process, database and fields; `raw(model, sql, params)` is
`list(model.objects.raw(sql, params))` with the work on the statement's columns (which is
which field, their converters) done once (issue 15, sixteenth round).

Only values that Django passes through to the database unchanged may vary: integers and
strings compared for equality (ids, codes). Each stand-in must appear among the compiled
parameters as given (checked when compiling); anything else in the query (constants, booleans,
NULL tests) is compiled in and never varies.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Model, QuerySet, signals
from django.db.models.sql import Query
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
# compiler, SQL, parameters, {parameter index: stand-in name}, (iterable class, fields)
_Entry = tuple[Any, str, tuple[Any, ...], dict[int, str], tuple[Any, Any]]


class _Compiled:
    """What `QuerySet` needs of a query to run it: the compiler; anything else is read from
    the query it was compiled from (e.g. `select_for_update`)."""

    def __init__(self, compiler: Any) -> None:
        self.compiler = compiler

    def get_compiler(self, using: str | None = None, **kwargs: Any) -> Any:
        return self.compiler

    def __getattr__(self, name: str) -> Any:
        return getattr(self.compiler.query, name)


class Prepared(Generic[M]):
    """`build(**stand_ins)` returns the queryset; `prepared(**values)` its rows for `values`
    (the same names). Stand-ins must be distinct, of the type of the values, and unlike any
    constant of the query (e.g. negative ids, strings no one uses)."""

    def __init__(self, build: Callable[..., QuerySet[M]], **stand_ins: int | str) -> None:
        if len({(type(v), v) for v in stand_ins.values()}) != len(stand_ins):
            raise ValueError("stand-ins must be distinct")
        self._build = build
        self._stand_ins = stand_ins
        self._compiled: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Entry:
        queryset = self._build(**self._stand_ins)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots: dict[int, str] = {}
        for i, param in enumerate(params):
            for name, stand_in in self._stand_ins.items():
                if type(param) is type(stand_in) and param == stand_in:
                    slots[i] = name
        missing = set(self._stand_ins) - set(slots.values())
        if missing:
            raise ValueError(f"stand-ins not passed through as parameters: {sorted(missing)}")
        # How the queryset turns rows into results (objects, or a values_list's tuples).
        iterable = (queryset._iterable_class, queryset._fields)  # type: ignore[attr-defined]
        return compiler, sql, tuple(params), slots, iterable

    def __call__(self, using: str = "default", **values: int | str) -> list[M]:
        """The objects the queryset built for `values` gives."""
        return list(self._queryset(using, values))

    def rows(self, using: str = "default", **values: int | str) -> list[Any]:
        """What a values_list queryset built for `values` gives (its tuples)."""
        return list(self._queryset(using, values))

    def _converters(self, compiler: Any, connection: Any) -> Callable[[Any], Any]:
        """The compiler's `get_converters`, answered from what it gave the first time on this
        connection (issue 15, eighth round: Django works them out again for every column on
        every run, ~60 columns for the open visit's read). The selected columns are compiled
        in and never change; the converters are kept per connection object (each thread has
        its own), as the backend's converters belong to it. Other columns are worked out."""
        per_connection = connection.__dict__.setdefault("_madoguchi_prepared_converters", {})
        own = compiler.get_converters

        def get_converters(expressions: Any) -> Any:
            key = (id(self), tuple(map(id, expressions)))
            found = per_connection.get(key)
            if found is None:
                found = per_connection[key] = own(expressions)
            return found

        return get_converters

    def _queryset(self, using: str, values: dict[str, int | str]) -> QuerySet[Any]:
        if values.keys() != self._stand_ins.keys():
            raise TypeError(f"values for exactly {sorted(self._stand_ins)}")
        compiled = self._compiled.get(using)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(using) or self._compile(using)
                self._compiled[using] = compiled
        template, sql, params, slots, (iterable_class, fields) = compiled
        connection = connections[using]
        if (
            template.query.select_for_update
            and connection.features.has_select_for_update
            and connection.get_autocommit()
        ):  # as Django's compiler refuses it
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        bound = list(params)
        for i, name in slots.items():
            bound[i] = values[name]
        compiler = copy.copy(template)  # this thread's connection, this call's parameters
        compiler.connection = connection
        compiler.as_sql = lambda *args, **kwargs: (sql, tuple(bound))
        compiler.get_converters = self._converters(compiler, connection)
        model = cast("type[M]", template.query.model)
        queryset: QuerySet[Any] = QuerySet(
            model=model, query=cast(Any, _Compiled(compiler)), using=using
        )
        queryset._iterable_class = iterable_class
        queryset._fields = fields  # type: ignore[attr-defined]
        return queryset


# --- inserts -------------------------------------------------------------------------------

# Per (model, database alias): the INSERT's SQL, its fields and the fields it returns.
_INSERTS: dict[tuple[type[Model], str], tuple[str, list[Any], list[Any]] | None] = {}


def _insert_sql(model: type[Model], using: str) -> tuple[str, list[Any], list[Any]] | None:
    """The INSERT Django's `save()` of a new `model` instance (no primary key set) sends, as
    SQL text written once per process and database; None where Django's path is kept (a model
    with parents, or a database that cannot return the new row's columns)."""
    key = (model, using)
    if key in _INSERTS:
        return _INSERTS[key]
    connection = connections[using]
    meta = model._meta
    entry: tuple[str, list[Any], list[Any]] | None = None
    if connection.features.can_return_columns_from_insert and not meta.parents:
        fields = [
            f
            for f in meta.local_concrete_fields
            if f is not meta.auto_field and not getattr(f, "generated", False)
        ]
        returning = list(meta.db_returning_fields)
        quote = connection.ops.quote_name
        # The model's table and column names (never user input); every value is a parameter.
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            quote(meta.db_table),
            ", ".join(quote(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
        )
        clause, _params = connection.ops.return_insert_columns(returning)
        entry = (f"{sql} {clause}", fields, returning)
    _INSERTS[key] = entry
    return entry


def _converted(value: Any, field: Any, connection: Any) -> Any:
    for converter in field.get_db_converters(connection):
        value = converter(value, field, connection)
    return value


@functools.cache
def _own_save(model: type[Model]) -> bool:
    """Whether the model (or an abstract parent) has a `save()` of its own, which `insert`
    must not go around."""
    return any(
        "save" in vars(klass) or "save_base" in vars(klass)
        for klass in model.__mro__
        if klass is not Model and issubclass(klass, Model)
    )


def _saved(
    instance: Model, using: str, *, created: bool, update_fields: frozenset[str] | None
) -> None:
    """What `save()` does after its statement: the instance saved on `using`, `post_save`."""
    instance._state.adding = False
    instance._state.db = using
    model = type(instance)
    if signals.post_save.has_listeners(model):
        signals.post_save.send(
            sender=model,
            instance=instance,
            created=created,
            update_fields=update_fields,
            raw=False,
            using=using,
        )


def insert(instance: M, using: str = "default") -> M:
    """Save a new instance as `instance.save()` would (the same INSERT, the same values, its
    primary key and other returned columns set, `pre_save`/`post_save` sent), with the
    statement's SQL written once per process instead of compiled by the ORM on every save
    (issue 15, fifteenth round: an INSERT's compiling was the larger part of a `create()` on
    the completion path). A value that is an expression, or a model this cannot serve, takes
    Django's own `save()`."""
    model = type(instance)
    entry = _insert_sql(model, using)
    if (
        entry is None
        or _own_save(model)
        or instance.pk is not None
        or any(hasattr(getattr(instance, f.attname), "resolve_expression") for f in entry[1])
    ):  # e.g. F() or Now() as a value: compiled by the ORM
        instance.save(using=using, force_insert=True)
        return instance
    sql, fields, returning = entry
    connection = connections[using]
    instance._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    if signals.pre_save.has_listeners(model):
        signals.pre_save.send(
            sender=model, instance=instance, raw=False, using=using, update_fields=None
        )
    values: list[Any] | None = []
    for field in fields:
        value = field.pre_save(instance, True)
        if hasattr(value, "resolve_expression"):  # put there by a pre_save receiver
            values = None
            break
        values.append(field.get_db_prep_save(value, connection))  # type: ignore[union-attr]
    with transaction.mark_for_rollback_on_error(using):
        if values is None:  # the ORM's INSERT, compiled, as `save()` sends it
            row = model._base_manager._insert(  # type: ignore[attr-defined]
                [instance], fields=fields, returning_fields=returning, using=using
            )[0]
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, values)
                row = connection.ops.fetch_returned_insert_columns(cursor, returning)
            row = [
                _converted(value, field, connection)
                for field, value in zip(returning, row, strict=True)
            ]
    for field, value in zip(returning, row, strict=True):
        setattr(instance, field.attname, value)
    _saved(instance, using, created=True, update_fields=None)
    return instance


_MANY: dict[tuple[type[Model], str, int], str] = {}


def insert_many(instances: list[M], using: str = "default") -> list[M]:
    """`bulk_create(instances)` for new instances of one model (one multi-row INSERT, no save
    signals, the primary keys and other returned columns set), its SQL written once per
    process, model, database and row count instead of compiled on every call (issue 15,
    fifteenth round: the checklist's ticks). As `bulk_create`, it does not call the model's
    `save()`. An expression value, a model with parents, or a database that cannot return the
    rows of a multi-row INSERT takes `bulk_create`."""
    if not instances:
        return instances

    model = type(instances[0])
    entry = _insert_sql(model, using)
    connection = connections[using]
    if (
        entry is None
        or not connection.features.can_return_rows_from_bulk_insert
        or any(type(i) is not model or i.pk is not None for i in instances)
        or any(
            hasattr(getattr(i, f.attname), "resolve_expression")
            for i in instances
            for f in entry[1]
        )
    ):
        return model._base_manager.using(using).bulk_create(instances)
    single, fields, returning = entry
    key = (model, using, len(instances))
    sql = _MANY.get(key)
    if sql is None:
        head, _values, tail = single.partition(" VALUES ")
        row = "({})".format(", ".join(["%s"] * len(fields)))
        sql = _MANY[key] = f"{head} VALUES {', '.join([row] * len(instances))}{tail[len(row) :]}"
    params: list[Any] = []
    for instance in instances:
        instance._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
        params.extend(
            field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
        )
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if len(rows) != len(instances):  # pragma: no cover (RETURNING gives one row per row)
        raise RuntimeError(f"{len(rows)} rows returned for {len(instances)} inserted")
    for instance, values in zip(instances, rows, strict=True):
        for field, value in zip(returning, values, strict=True):
            setattr(instance, field.attname, _converted(value, field, connection))
        instance._state.adding = False
        instance._state.db = using
    return instances


# --- updates -------------------------------------------------------------------------------

# Per (model, database alias, the fields named): the UPDATE's SQL and its fields, or None
# where `save()` is kept (a name `save()` would refuse, a field with its own placeholder).
_UPDATES: dict[tuple[type[Model], str, tuple[str, ...]], tuple[str, list[Any]] | None] = {}


def _update_sql(
    model: type[Model], using: str, names: tuple[str, ...]
) -> tuple[str, list[Any]] | None:
    """The UPDATE `save(update_fields=names)` sends for `model` (the named fields, in the
    model's order, by primary key), as SQL text written once per process, database and names."""
    key = (model, using, names)
    if key in _UPDATES:
        return _UPDATES[key]
    meta = model._meta
    connection = connections[using]
    fields = [
        f
        for f in meta.local_concrete_fields
        if not f.primary_key
        and not getattr(f, "generated", False)
        and (f.name in names or f.attname in names)
    ]
    known = {f.name for f in fields} | {f.attname for f in fields}
    entry: tuple[str, list[Any]] | None = None
    if (
        not meta.parents
        and fields
        and set(names) <= known
        and not any(hasattr(f, "get_placeholder") for f in fields)
    ):
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        # The model's table and column names (never user input); every value is a parameter.
        entry = (
            "UPDATE {} SET {} WHERE {}.{} = %s".format(  # noqa: S608
                table,
                ", ".join(f"{quote(f.column)} = %s" for f in fields),
                table,
                quote(meta.pk.column),
            ),
            fields,
        )
    _UPDATES[key] = entry
    return entry


def update_fields(instance: Model, fields: list[str], using: str | None = None) -> None:
    """`instance.save(update_fields=fields)` for a saved instance (the same UPDATE, the
    same values, each field's `pre_save` (`auto_now`), `pre_save`/`post_save` sent, the
    DatabaseError of an update that found no row), with the statement's SQL written once per
    process instead of compiled by the ORM on every save (issue 15, sixteenth round). A model
    with its own `save()`, a value that is an expression or a model instance, or a field this
    cannot serve takes Django's own `save()`."""
    model = type(instance)
    using = using or router.db_for_write(model, instance=instance)
    names = tuple(fields)
    entry = _update_sql(model, using, names) if names else None
    meta = model._meta
    if (
        entry is None
        or _own_save(model)
        or instance.pk is None
        or meta.proxy
        or meta.select_on_save
    ):
        instance.save(using=using, update_fields=fields)
        return
    sql, columns = entry
    connection = connections[using]
    instance._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
    frozen = frozenset(names)
    if signals.pre_save.has_listeners(model):
        signals.pre_save.send(
            sender=model, instance=instance, raw=False, using=using, update_fields=frozen
        )
    values: list[Any] = []
    for field in columns:
        value = field.pre_save(instance, False)
        if hasattr(value, "resolve_expression") or hasattr(value, "prepare_database_save"):
            # An expression or an instance put there after all: the ORM's own path.
            instance.save(using=using, update_fields=fields)
            return
        values.append(field.get_db_prep_save(value, connection))
    values.append(meta.pk.get_db_prep_value(instance.pk, connection, prepared=False))
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, values)
        if cursor.rowcount == 0:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    _saved(instance, using, created=False, update_fields=frozen)


# --- raw SQL's rows as instances ------------------------------------------------------------

# Per (model, database alias, the columns' names): the model's field names and their places
# among the columns, the other columns (set on the instance as attributes), the columns'
# fields (for their converters).
_RAW: dict[tuple[type[Model], str, tuple[str, ...]], tuple[list[str], list[int], Any, Any]] = {}


def _raw_columns(
    model: type[Model], using: str, columns: tuple[str, ...]
) -> tuple[list[str], list[int], Any, Any]:
    """What `RawQuerySet` works out from a statement's columns on every run
    (`resolve_model_init_order`, the fields' columns for their converters), once."""
    key = (model, using, columns)
    found = _RAW.get(key)
    if found is not None:
        return found
    converter = connections[using].introspection.identifier_converter
    model_fields = {converter(f.column): f for f in model._meta.fields}
    init = [f for f in model._meta.fields if converter(f.column) in columns]
    names = [f.attname for f in init]
    positions = [columns.index(converter(f.column)) for f in init]
    others = [(column, i) for i, column in enumerate(columns) if column not in model_fields]
    fields = [model_fields.get(c) for c in columns]
    if model._meta.pk.attname not in names:
        raise FieldDoesNotExist("Raw query must include the primary key")
    found = _RAW[key] = (names, positions, others, fields)
    return found


def raw(model: type[M], sql: str, params: list[Any], using: str = "default") -> list[M]:
    """`list(model.objects.raw(sql, params))`: the statement's rows as instances of `model`
    (its fields' columns converted as the ORM converts them, any other column set as an
    attribute), with what `RawQuerySet` works out from the columns on every run (which column
    is which field, the fields' converters) done once per process, model and columns (issue 15,
    sixteenth round: the visit's locked touch and the nonce's spend)."""
    connection = connections[using]
    adapt = connection.ops.adapt_unknown_value
    converter = connection.introspection.identifier_converter
    with connection.cursor() as cursor:
        cursor.execute(sql, tuple(adapt(value) for value in params))
        columns = tuple(converter(c[0]) for c in cursor.description)
        rows = cursor.fetchall()
    names, positions, others, fields = _raw_columns(model, using, columns)
    # The converters belong to the connection (each thread has its own): kept on it.
    per_connection = connection.__dict__.setdefault("_madoguchi_raw_converters", {})
    made = per_connection.get((model, columns))
    if made is None:
        compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, using)
        cols: list[Any] = [f.get_col(f.model._meta.db_table) if f else None for f in fields]
        converted = compiler.get_converters(cols)
        composite = cols if compiler.has_composite_fields(cols) else None
        made = per_connection[(model, columns)] = (compiler, converted, composite)
    compiler, converters, composite = made
    if converters:
        rows = list(compiler.apply_converters(rows, converters))
    if composite is not None:
        rows = list(compiler.composite_fields_to_tuples(rows, composite))
    objects = []
    for values in rows:
        instance = model.from_db(using, names, [values[i] for i in positions])
        for column, i in others:
            setattr(instance, column, values[i])
        objects.append(instance)
    return objects
