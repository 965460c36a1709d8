"""Who may see what in the incidents, reports and cases pages (one place)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import resolve, reverse

from madoguchi.accounts.constants import OrganisationKind, Role
from madoguchi.accounts.services import second_factor_lapse
from madoguchi.terminals.selectors import visible_terminals


def has_any(user: Any, *roles: Role) -> bool:
    return bool(
        user.is_authenticated and (user.is_superuser or any(user.has_role(r) for r in roles))
    )


def second_factor_check(request: HttpRequest) -> None:
    """Raise `SessionLapsed` (the staff session limits' middleware ends the session and says
    why) when a page of a role that signs in with an authenticator is asked with a session
    whose second factor is not the member's current one: an authenticator replaced after a
    lost phone, or a role given while signed in without a code (side doors, round 7)."""
    lapsed = second_factor_lapse(request)
    if lapsed is not None:
        raise lapsed


def roles_required(
    *roles: Role,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def deco(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            second_factor_check(request)
            if not has_any(request.user, *roles):
                raise PermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        # Read by `may_open` (the navigation shows only the pages the reader may open); the
        # decorators above this one copy it with functools.wraps.
        wrapped.allowed_roles = roles  # type: ignore[attr-defined]
        return login_required(wrapped)

    return deco


def visible_terminal(user: Any, terminal: Any) -> bool:
    """Whether `user` may see this desk: the rule of `visible_terminals` (contractor staff
    their contractor's desks, city officials their city's)."""
    return visible_terminals(user).filter(pk=terminal.pk).exists()


def visible_incident(user: Any, incident: Any) -> bool:
    """The one rule for reading an incident: one with a desk follows the desk
    (`visible_terminal`); one without (complaints, a case's suspension the insurer refused,
    payout failures) is visible to the organisation that recorded it and to the city it
    serves (a city's own incidents to that city only). One recorded by no organisation names
    no resident and no city (a payout batch's failure, a registration at the insurer this
    server never asked for): every city's officials read it. An incident about a resident's
    record is always recorded with its desk or its city (`incident_record`'s callers)."""
    terminal = incident.terminal or (incident.visit.terminal if incident.visit_id else None)
    if terminal is not None:
        return visible_terminal(user, terminal)
    if user.is_superuser:
        return True
    if user.organisation_id is None:
        return False
    org = user.organisation
    recorded = incident.organisation
    if recorded is None:
        return bool(org.kind == OrganisationKind.CITY)
    return bool(recorded.pk == org.pk or recorded.city_id == org.pk)


def visible_incidents_q(user: Any, terminals: Any) -> Q:
    """The same rule as a filter for lists (`terminals`: the desks the user may see)."""
    q = Q(terminal__in=terminals) | Q(visit__terminal__in=terminals)
    if user.is_superuser:
        return Q()
    if user.organisation_id is None:
        return q
    org = user.organisation
    deskless = Q(terminal__isnull=True, visit__isnull=True)
    q |= deskless & (Q(organisation=org) | Q(organisation__city=org))
    if org.kind == OrganisationKind.CITY:
        q |= deskless & Q(organisation__isnull=True)
    return q


def may_open(user: Any, url_name: str) -> bool:
    """Whether `user`'s roles let them open the page named `url_name` (its `roles_required`);
    a page without that decorator is anyone's who is signed in."""
    roles = getattr(resolve(reverse(url_name)).func, "allowed_roles", None)
    return roles is None or has_any(user, *roles)
