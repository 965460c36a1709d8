"""The Django admin kept to the reader's city, as the officials' pages are.

An operator belongs to an organisation (README, "Setting up a city": `staff add operator1 --role
operator --organisation 'Sakai City'`), and on the officials' pages sees that city's desks
only (`selectors.visible_terminals`). The admin listed, showed and changed every city's
records on the same server: another city's residents' payment links, its desks and its staff
(side doors, round 20). An admin that mixes in `CityScoped` lists and opens only the records of
the reader's city, by the same rule: the records of a desk its city may see, members and
organisations of the city and of the contractors serving it. Another city's record answers
as a missing one does, 404, on its page, its history and its deletion. The superuser flag,
the server's own, sees every city's.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from .models import Terminal
from .selectors import visible_terminals


def server_wide(user: Any) -> bool:
    """Whether `user` reads every city's records in the admin: the superuser flag only."""
    return bool(getattr(user, "is_superuser", False))


def organisation_q(user: Any, prefix: str = "") -> Q:
    """The organisations of `user`'s city, as a filter on an organisation (`prefix`: the lookup
    to it, "organisation__"): a city and the contractors serving it for a city's member, the
    contractor alone for a contractor's (the rule of `visible_terminals`), none without an
    organisation."""
    org = getattr(user, "organisation", None)
    if org is None:
        return Q(**{f"{prefix}pk__in": []})
    if org.kind == "city":
        return Q(**{f"{prefix}pk": org.pk}) | Q(**{f"{prefix}city": org.pk})
    return Q(**{f"{prefix}pk": org.pk})


def desks_of(user: Any) -> QuerySet[Terminal]:
    """The desks of `user`'s city (every desk for the superuser flag)."""
    return visible_terminals(user)


class CityScoped:
    """Mix in before `admin.ModelAdmin` (after `ResidentReadsRecorded`, which asks why before
    a record is looked up). `desk_path`: the lookup from the model to its desk (`terminal`,
    `visit__terminal`); a model kept to the city otherwise overrides `city_q`. `scoped_choices`:
    the foreign keys whose choices in the form are kept to the city too (field name to the
    lookup from the chosen model to its desk, or an override of `choices_in_city`)."""

    desk_path = ""

    def city_q(self, user: Any) -> Q:
        """The records of `user`'s city (not called for the superuser flag)."""
        if not self.desk_path:
            raise NotImplementedError(f"{type(self).__name__} says how its records are kept")
        return Q(**{f"{self.desk_path}__in": desks_of(user)})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        if server_wide(request.user):
            return qs
        # Each rule follows foreign keys forward (or names its rows by `pk__in`): a row once.
        return qs.filter(self.city_q(request.user))

    def _missing_unless_in_city(self, request: HttpRequest, object_id: str) -> None:
        """Another city's record, as a missing one: 404 (the admin's own answer to a missing
        record, a redirect to its index saying so, told the two apart)."""
        if self.get_object(request, unquote(object_id)) is None:  # type: ignore[attr-defined]
            raise Http404("No such record.")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._missing_unless_in_city(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._missing_unless_in_city(request, object_id)
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._missing_unless_in_city(request, object_id)
        return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
