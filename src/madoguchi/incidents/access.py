"""Who may see what in the incidents, reports and cases pages (one place)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from madoguchi.accounts.constants import Role


def has_any(user: Any, *roles: Role) -> bool:
    return bool(
        user.is_authenticated and (user.is_superuser or any(user.has_role(r) for r in roles))
    )


def roles_required(
    *roles: Role,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def deco(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_any(request.user, *roles):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        return wrapped

    return deco


def visible_terminal(user: Any, terminal: Any) -> bool:
    """Contractor staff see their contractor's desks; city officials their city's."""
    if user.is_superuser or user.organisation_id is None:
        return bool(user.is_superuser)
    org = user.organisation
    return bool(terminal.contractor_id == org.pk or terminal.contractor.city_id == org.pk)
