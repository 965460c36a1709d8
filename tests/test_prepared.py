"""`madoguchi.prepared`: a queryset compiled once gives, for other values, what the queryset
built for those values gives (objects, related objects, annotations), in one statement."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from madoguchi.prepared import Prepared
from tests.compiling import compiled_inserts, compiled_updates


def _permissions(app_label, codename_prefix_free):
    return (
        Permission.objects.select_related("content_type")
        .filter(content_type__app_label=app_label, codename=codename_prefix_free)
        .annotate(groups_n=Count("group"))
        .order_by("pk")
    )


def _rows(objs):
    return [(p.pk, p.codename, p.content_type.app_label, p.groups_n) for p in objs]


@pytest.mark.django_db
def test_prepared_rows_are_the_querysets_for_each_value():
    prepared = Prepared(_permissions, app_label="-stand-in-app-", codename_prefix_free="-code-")
    cases = [
        ("auth", "add_group"),
        ("auth", "view_user"),
        ("accounts", "add_user"),
        ("auth", "no_such_code"),
    ]
    for app_label, codename in cases:
        expected = _rows(_permissions(app_label, codename))
        with CaptureQueriesContext(connection) as queries:
            got = prepared(app_label=app_label, codename_prefix_free=codename)
            rows = _rows(got)  # related objects and annotations read without a query
        assert rows == expected
        assert len(queries) == 1
    assert any(_rows(prepared(app_label="auth", codename_prefix_free="add_group")))


@pytest.mark.django_db
def test_a_value_django_rewrites_cannot_be_a_stand_in():
    prepared = Prepared(lambda name: Permission.objects.filter(name__icontains=name), name="-x-")
    with pytest.raises(ValueError, match="not passed through"):
        prepared(name="Can add")


def test_values_must_name_exactly_the_stand_ins():
    prepared = Prepared(lambda pk: Permission.objects.filter(pk=pk), pk=-1)
    with pytest.raises(TypeError):
        prepared(other=1)
    with pytest.raises(ValueError, match="distinct"):
        Prepared(lambda a, b: Permission.objects.filter(pk__in=[a, b]), a=-1, b=-1)


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_is_refused_outside_a_transaction_as_django_refuses_it():
    prepared = Prepared(lambda pk: Permission.objects.select_for_update().filter(pk=pk), pk=-1)
    pk = Permission.objects.order_by("pk").first().pk
    with transaction.atomic():
        assert [p.pk for p in prepared(pk=pk)] == [pk]
    if connection.features.has_select_for_update:
        with pytest.raises(TransactionManagementError):
            prepared(pk=pk)


def _names(app_label):
    own = Permission.objects.filter(content_type__app_label=app_label).values_list("codename")
    groups = Permission.objects.filter(
        content_type__app_label=app_label, group__isnull=False
    ).values_list("name")
    return own.order_by().union(groups.order_by(), all=True)


@pytest.mark.django_db
def test_prepared_values_list_rows_are_the_querysets_tuples():
    prepared = Prepared(_names, app_label="-stand-in-app-")
    for app_label in ("auth", "accounts", "no_such_app"):
        expected = sorted(_names(app_label))
        with CaptureQueriesContext(connection) as queries:
            got = prepared.rows(app_label=app_label)
        assert sorted(got) == expected
        assert len(queries) == 1
    assert prepared.rows(app_label="auth")
    assert all(type(row) is tuple for row in prepared.rows(app_label="auth"))


@pytest.mark.django_db(transaction=True)
def test_converted_columns_are_converted_on_every_call_and_every_connection(monkeypatch):
    """The converters (a JSON payload, a time) are worked out once per connection (issue 15,
    eighth round) and still applied to every row, in another thread's connection too."""
    import threading

    from django.db import connections
    from django.db.models.sql.compiler import SQLCompiler

    from madoguchi.audit import services as audit
    from madoguchi.audit.models import AuditEvent

    with transaction.atomic():
        events = [audit.record("accounts.signed_in", payload={"n": n, "s": "x"}) for n in (1, 2)]
    worked_out = []
    own = SQLCompiler.get_converters
    monkeypatch.setattr(
        SQLCompiler, "get_converters", lambda self, e: worked_out.append(1) or own(self, e)
    )
    prepared = Prepared(
        lambda name: AuditEvent.objects.filter(event_name=name).order_by("seq"), name="-stand-in-"
    )

    def read() -> list:
        return [(e.payload, e.time, e.seq) for e in prepared(name=events[0].event_name)]

    expected = [(e.payload, e.time, e.seq) for e in AuditEvent.objects.order_by("seq")]
    assert read() == expected
    assert read() == expected  # the second run with the kept converters
    assert isinstance(expected[0][0], dict)
    assert len(worked_out) == 1 + 1  # the ORM's own query above, then once for `prepared`
    elsewhere = []
    thread = threading.Thread(target=lambda: (elsewhere.extend(read()), connections.close_all()))
    thread.start()
    thread.join()
    assert elsewhere == expected
    assert len(worked_out) == 3  # once more, for the other thread's connection


def _incident(terminal, n):
    from madoguchi.incidents.constants import IncidentKind, Severity
    from madoguchi.incidents.models import Incident

    return Incident(
        kind=IncidentKind.CHECKLIST_UNTICKED,
        reason_code=f"reason-{n}",
        severity=Severity.choices[0][0],
        summary=f"summary {n}",
        terminal=terminal,
        detail={"items": ["a", "b"], "n": n},
    )


def _columns(obj, skip=("id", "occurred_at")):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields} | {
        name: None for name in skip
    }


@pytest.mark.django_db
def test_insert_writes_the_row_that_save_writes_and_returns_its_columns():
    """`insert()` (issue 15, fifteenth round) saves a new instance as `save()` does: the same
    values in the row, the primary key and the database's defaults set on the instance, the
    instance no longer new; the second insert of a model compiles no INSERT."""
    from madoguchi.incidents.models import Incident
    from madoguchi.prepared import insert
    from tests import factories

    terminal = factories.terminal()
    saved = _incident(terminal, 1)
    saved.save()
    inserted = insert(_incident(terminal, 1))
    assert inserted.pk is not None
    assert inserted.pk != saved.pk
    assert inserted._state.adding is False
    assert inserted.occurred_at is not None  # auto_now_add, as save() sets it
    assert _columns(Incident.objects.get(pk=inserted.pk)) == _columns(
        Incident.objects.get(pk=saved.pk)
    )
    assert Incident.objects.get(pk=inserted.pk).occurred_at == inserted.occurred_at
    with compiled_inserts() as compiled:
        again = insert(_incident(terminal, 2))
    assert compiled == []
    assert Incident.objects.get(pk=again.pk).detail == {"items": ["a", "b"], "n": 2}


@pytest.mark.django_db
def test_insert_sends_the_save_signals_and_leaves_expressions_to_the_orm():
    from django.db.models import Value, signals

    from madoguchi.incidents.models import Incident
    from madoguchi.prepared import insert
    from tests import factories

    seen = []

    def pre(sender, instance, **kwargs):
        seen.append(("pre", instance.pk, kwargs["raw"]))

    def post(sender, instance, created, **kwargs):
        seen.append(("post", instance.pk, created))

    signals.pre_save.connect(pre, sender=Incident)
    signals.post_save.connect(post, sender=Incident)
    try:
        incident = insert(_incident(factories.terminal(), 3))
    finally:
        signals.pre_save.disconnect(pre, sender=Incident)
        signals.post_save.disconnect(post, sender=Incident)
    assert seen == [("pre", None, False), ("post", incident.pk, True)]
    with_expression = _incident(incident.terminal, 4)
    with_expression.summary = Value("from an expression")
    insert(with_expression)
    assert Incident.objects.get(pk=with_expression.pk).summary == "from an expression"

    def expression(sender, instance, **kwargs):  # a receiver that puts an expression in
        seen.append(("pre", instance.pk, kwargs["raw"]))
        instance.summary = Value("from a receiver")

    seen.clear()
    signals.pre_save.connect(expression, sender=Incident)
    try:
        by_receiver = insert(_incident(incident.terminal, 5))
    finally:
        signals.pre_save.disconnect(expression, sender=Incident)
    assert seen == [("pre", None, False)]  # sent once
    assert by_receiver.pk is not None
    assert Incident.objects.get(pk=by_receiver.pk).summary == "from a receiver"


@pytest.mark.django_db
def test_an_insert_that_fails_marks_the_transaction_for_rollback_as_save_does():
    from django.db import IntegrityError

    from madoguchi.prepared import insert
    from tests import factories

    bad = _incident(factories.terminal(), 5)
    bad.summary = None  # NOT NULL: the database refuses the row
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert(bad)
        assert transaction.get_rollback() is True


@pytest.mark.django_db
def test_insert_many_writes_the_rows_bulk_create_writes_in_order():
    """`insert_many()` is `bulk_create()` with its SQL written once per row count: the same
    rows, the primary keys set in order, nothing compiled once warm."""
    from madoguchi.incidents.models import Incident
    from madoguchi.prepared import insert_many
    from tests import factories

    terminal = factories.terminal()
    made = Incident.objects.bulk_create([_incident(terminal, n) for n in (10, 11, 12)])
    inserted = insert_many([_incident(terminal, n) for n in (10, 11, 12)])
    assert [i.reason_code for i in inserted] == ["reason-10", "reason-11", "reason-12"]
    for mine, theirs in zip(inserted, made, strict=True):
        assert mine._state.adding is False
        stored = Incident.objects.get(pk=mine.pk)
        assert stored.reason_code == mine.reason_code
        assert _columns(stored) == _columns(Incident.objects.get(pk=theirs.pk))
    assert insert_many([]) == []
    with compiled_inserts() as compiled:
        again = insert_many([_incident(terminal, n) for n in (13, 14, 15)])
    if connection.features.can_return_rows_from_bulk_insert:
        assert compiled == []
    assert [Incident.objects.get(pk=i.pk).detail["n"] for i in again] == [13, 14, 15]


def test_insert_goes_around_no_save_of_a_models_own():
    """A model with a `save()` of its own (the append-only ticks refuse a second save) is saved
    by `insert` through that `save()`; `insert_many`, as `bulk_create`, never calls it."""
    from madoguchi.checklists.models import ChecklistTick
    from madoguchi.incidents.models import Incident
    from madoguchi.prepared import _own_save

    assert _own_save(ChecklistTick) is True
    assert _own_save(Incident) is False


def _saved_statement(instance, fields, save):
    with CaptureQueriesContext(connection) as q:
        save(instance, fields)
    statements = [x["sql"] for x in q.captured_queries if x["sql"].startswith("UPDATE")]
    assert len(statements) == 1, q.captured_queries
    return statements[0]


@pytest.mark.django_db
def test_update_fields_sends_the_update_save_sends_and_compiles_none_once_warm():
    """`update_fields()` (issue 15, sixteenth round) is `save(update_fields=...)` with the
    UPDATE's SQL written once: the same statement with the same values (a JSON value, a
    foreign key named by its field or its column), the row updated, nothing compiled once
    warm."""
    from madoguchi.incidents.models import Incident
    from madoguchi.prepared import update_fields
    from tests import factories

    first, second = factories.terminal(), factories.terminal()
    a, b = _incident(first, 1), _incident(first, 1)
    a.save()
    b.save()
    for row in (a, b):
        row.summary = "changed"
        row.detail = {"items": ["c"], "n": 9}
        row.terminal = second
    names = ["summary", "detail", "terminal"]
    by_save = _saved_statement(a, names, lambda i, f: i.save(update_fields=f))
    by_us = _saved_statement(b, names, update_fields)
    # The same statement and values; only the row's primary key, the last parameter, differs.
    assert by_save.endswith(f" = {a.pk}")
    assert by_us.endswith(f" = {b.pk}")
    assert by_us.rsplit(" = ", 1)[0] == by_save.rsplit(" = ", 1)[0]
    assert _columns(Incident.objects.get(pk=b.pk)) == _columns(Incident.objects.get(pk=a.pk))
    assert Incident.objects.get(pk=b.pk).terminal_id == second.pk
    b.summary, b.terminal_id = "again", first.pk
    with compiled_updates() as compiled:
        update_fields(b, ["summary", "terminal_id"])
    assert compiled == []
    stored = Incident.objects.get(pk=b.pk)
    assert (stored.summary, stored.terminal_id, stored.detail) == ("again", first.pk, b.detail)


@pytest.mark.django_db
def test_update_fields_refuses_and_signals_as_save_does():
    """The save signals are sent with the fields named; an update that finds no row is the
    DatabaseError `save()` raises; a name that is no field is save()'s ValueError; no names
    is no statement; an expression value goes to the ORM."""
    from django.db import DatabaseError
    from django.db.models import Value, signals

    from madoguchi.incidents.models import Incident
    from madoguchi.prepared import update_fields
    from tests import factories

    row = _incident(factories.terminal(), 2)
    row.save()
    seen = []

    def pre(sender, instance, update_fields, **kwargs):
        seen.append(("pre", instance.pk, update_fields, kwargs["raw"]))

    def post(sender, instance, created, update_fields, **kwargs):
        seen.append(("post", instance.pk, update_fields, created))

    signals.pre_save.connect(pre, sender=Incident)
    signals.post_save.connect(post, sender=Incident)
    try:
        row.summary = "signalled"
        update_fields(row, ["summary"])
    finally:
        signals.pre_save.disconnect(pre, sender=Incident)
        signals.post_save.disconnect(post, sender=Incident)
    assert seen == [
        ("pre", row.pk, frozenset({"summary"}), False),
        ("post", row.pk, frozenset({"summary"}), False),
    ]
    with pytest.raises(ValueError, match="do not exist"):
        update_fields(row, ["no_such_field"])
    with CaptureQueriesContext(connection) as q:
        update_fields(row, [])
    assert q.captured_queries == []
    row.summary = Value("from an expression")
    update_fields(row, ["summary"])
    assert Incident.objects.get(pk=row.pk).summary == "from an expression"
    gone = Incident.objects.get(pk=row.pk)
    Incident.objects.filter(pk=row.pk).delete()
    gone.summary = "nothing to update"
    with transaction.atomic():
        with pytest.raises(DatabaseError, match="did not affect any rows"):
            update_fields(gone, ["summary"])
        assert transaction.get_rollback() is True


@pytest.mark.django_db
def test_raw_gives_the_instances_raw_querysets_give_and_works_out_columns_once(monkeypatch):
    """`raw()` (issue 15, sixteenth round) gives what `Model.objects.raw` gives: the model's
    columns as its fields (converted: a JSON value, a time), the other columns as attributes,
    the fields not selected deferred; the columns' work is done once per model and columns."""
    from django.core.exceptions import FieldDoesNotExist

    from madoguchi import prepared
    from madoguchi.incidents.models import Incident
    from tests import factories

    terminal = factories.terminal()
    rows = [_incident(terminal, n) for n in (20, 21)]
    for row in rows:
        row.save()
    table = connection.ops.quote_name(Incident._meta.db_table)
    sql = (
        f"SELECT id, detail, occurred_at, summary, id * 2 AS doubled FROM {table} "
        "WHERE terminal_id = %s ORDER BY id"
    )
    theirs = list(Incident.objects.raw(sql, [terminal.pk]))
    ours = prepared.raw(Incident, sql, [terminal.pk])

    def seen(objs):
        return [
            (o.pk, o.detail, o.occurred_at, o.summary, o.doubled, o.get_deferred_fields())
            for o in objs
        ]

    assert seen(ours) == seen(theirs)
    assert ours[1].detail == {"items": ["a", "b"], "n": 21}
    assert "kind" in ours[0].get_deferred_fields()
    assert ours[0]._state.adding is False
    worked = []
    real = prepared._RAW.get
    monkeypatch.setattr(prepared, "_RAW", type("Seen", (dict,), {})(prepared._RAW))
    monkeypatch.setattr(prepared._RAW, "get", lambda key: worked.append(key) or real(key))
    again = prepared.raw(Incident, sql, [terminal.pk])
    assert seen(again) == seen(theirs)
    assert len(worked) == 1
    assert worked[0] in prepared._RAW  # found, not worked out again
    assert prepared.raw(Incident, sql, [-1]) == []
    with pytest.raises(FieldDoesNotExist, match="primary key"):
        prepared.raw(Incident, f"SELECT summary FROM {table}", [])
