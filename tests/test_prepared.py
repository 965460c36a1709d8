"""`madoguchi.prepared`: a queryset compiled once gives, for other values, what the queryset
built for those values gives (objects, related objects, annotations), in one statement."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from madoguchi.prepared import Prepared


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
