"""Reads about staff members."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import CharField, Value
from django.db.models.functions import Concat

from .models import User


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
    text: CharField[str, str] = CharField()
    name = Concat("content_type__app_label", Value("."), "codename", output_field=text)
    groups = Group.objects.filter(user=user).values_list(Value("g", output_field=text), "name")
    own = Permission.objects.filter(user=user).values_list(Value("u", output_field=text), name)
    via_groups = Permission.objects.filter(group__user=user).values_list(
        Value("p", output_field=text), name
    )
    parts = [qs.order_by() for qs in (groups, own, via_groups)]
    found: dict[str, set[str]] = {"g": set(), "u": set(), "p": set()}
    for which, value in parts[0].union(*parts[1:], all=True):
        found[which].add(value)
    user._roles_cache = found["g"]  # type: ignore[attr-defined]
    user._user_perm_cache = found["u"]  # type: ignore[attr-defined]
    user._group_perm_cache = found["p"]  # type: ignore[attr-defined]
    user._perm_cache = found["u"] | found["p"]  # type: ignore[attr-defined]
