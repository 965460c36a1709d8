"""`load_roles_and_permissions` reads in one query what `roles` and Django's permission checks
read in three, with the same answers (issue 15)."""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from madoguchi.accounts.constants import Role
from madoguchi.accounts.models import User
from madoguchi.accounts.selectors import load_roles_and_permissions
from tests import factories

pytestmark = pytest.mark.django_db


def _django_path(pk: int) -> tuple[set[str], set[str], set[str], set[str]]:
    user = User.objects.get(pk=pk)
    return (
        user.roles,
        user.get_user_permissions(),
        user.get_group_permissions(),
        user.get_all_permissions(),
    )


@pytest.mark.parametrize("role", [Role.DESK_STAFF, Role.SUPERVISOR, Role.OPERATOR])
def test_the_same_roles_and_permissions_in_one_query(role):
    staff = factories.staff(role)
    staff.groups.add(factories.staff(Role.CITY_OFFICIAL).groups.get())  # two roles
    staff.user_permissions.add(Permission.objects.get(codename="view_incident"))
    expected = _django_path(staff.pk)
    user = User.objects.get(pk=staff.pk)
    with CaptureQueriesContext(connection) as queries:
        load_roles_and_permissions(user)
        got = (
            user.roles,
            user.get_user_permissions(),
            user.get_group_permissions(),
            user.get_all_permissions(),
        )
        assert user.has_perm("incidents.view_incident")
        assert user.has_role(Role.CITY_OFFICIAL)
        assert not user.has_perm("accounts.delete_user") or role == Role.OPERATOR
    assert len(queries) == 1
    assert got == expected
    assert expected[0] == {role.value, Role.CITY_OFFICIAL.value}
    assert "incidents.view_incident" in expected[1]
    assert expected[2]  # the city official's group has permissions


def test_a_user_without_roles_or_permissions():
    staff = factories.staff()
    staff.groups.clear()
    user = User.objects.get(pk=staff.pk)
    load_roles_and_permissions(user)
    with CaptureQueriesContext(connection) as queries:
        assert user.roles == set()
        assert user.get_all_permissions() == set()
        assert not user.has_role(Role.DESK_STAFF)
    assert len(queries) == 0


def test_a_superuser_keeps_djangos_path():
    staff = factories.staff()
    staff.is_superuser = True
    staff.save()
    user = User.objects.get(pk=staff.pk)
    load_roles_and_permissions(user)
    assert user.get_all_permissions() == {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.select_related("content_type")
    }


@pytest.mark.django_db(transaction=True)
def test_a_flush_sets_every_roles_permissions_once(monkeypatch):
    """post_migrate is sent once per app: the roles were set after each of them (19 times a
    flush, most of every transactional test's teardown). Now once, after the last app's
    permissions exist, with every permission each role lists."""
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from madoguchi.accounts import roles

    calls = []
    real = roles.ensure_roles
    monkeypatch.setattr(roles, "ensure_roles", lambda: (calls.append(1), real())[1])
    call_command("flush", interactive=False, verbosity=0)
    assert calls == [1]
    for role, perms in roles.ROLE_PERMISSIONS.items():
        got = Group.objects.get(name=role.value).permissions.select_related("content_type")
        assert {f"{p.content_type.app_label}.{p.codename}" for p in got} == set(perms), role
