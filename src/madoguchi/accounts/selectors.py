"""Reads about staff members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Concat

from madoguchi.prepared import Prepared

from .models import User


def _roles_and_permissions(user_id: int) -> QuerySet[Any]:
    """("g", group name), ("u", own permission), ("p", permission through a group) rows."""
    text: CharField[str, str] = CharField()
    name = Concat("content_type__app_label", Value("."), "codename", output_field=text)
    groups = Group.objects.filter(user=user_id).values_list(Value("g", output_field=text), "name")
    own = Permission.objects.filter(user=user_id).values_list(Value("u", output_field=text), name)
    via_groups = Permission.objects.filter(group__user=user_id).values_list(
        Value("p", output_field=text), name
    )
    parts = [qs.order_by() for qs in (groups, own, via_groups)]
    return parts[0].union(*parts[1:], all=True)


# Compiled once per process: building and compiling this union was ~7% of the server's CPU on
# the completion path (issue 15, sixth round).
_ROLES_AND_PERMISSIONS = Prepared(_roles_and_permissions, user_id=-21)


def load_roles_and_permissions(user: User) -> None:
    """Read `user`'s roles (group names) and permissions in one query and keep them on the
    object for the rest of the request: what `user.roles` and Django's permission checks
    (`has_perm`, a template's ``perms``) would read with three (issue 15).

    The permissions are cached where Django's ModelBackend keeps them (``_user_perm_cache``,
    ``_group_perm_cache``, ``_perm_cache``), in its format (``app_label.codename``). Not for a
    superuser, an inactive or an unsaved user: those stay on Django's own path. Read once per
    object: a second call reads nothing."""
    if user.pk is None or user.is_superuser or not user.is_active:
        return
    if "_roles_cache" in user.__dict__:
        return
    found: dict[str, set[str]] = {"g": set(), "u": set(), "p": set()}
    for which, value in _ROLES_AND_PERMISSIONS.rows(user_id=user.pk):
        found[which].add(value)
    user._roles_cache = found["g"]  # type: ignore[attr-defined]
    user._user_perm_cache = found["u"]  # type: ignore[attr-defined]
    user._group_perm_cache = found["p"]  # type: ignore[attr-defined]
    user._perm_cache = found["u"] | found["p"]  # type: ignore[attr-defined]
