"""Reads of residents' records in the Django admin, recorded as the officials' pages record
theirs (`access.record_read`), so the resident sees them under "who looked at my records".

The operator's admin lists and shows payment links, accounts, registrations, grants, the
ledger, cases, legacy links and incidents: before this, opening them left no trace (an admin
GET is no change, so no audit event), while the officials' pages that show the same records
ask why and record each read. Now the admin asks why as they do, first (`access.ask_reason`:
once for a list, kept for its filters and pages; for each record's page), and a list records
one read per resident on the page shown; one record's page, one read naming that record. A
record that shows another card holder's data too (a link made for a minor into their legal
representative's own account) is recorded for that holder as well (`other_holder_paths`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from .access import REASON_PARAM, ask_reason, chosen_reason, record_read, record_reads


def admin_page(model: Any) -> str:
    """The page code a read in the admin is recorded with (`access.READ_PAGES`)."""
    return f"admin.{model._meta.label_lower}"


class ResidentReadsRecorded:
    """Mix in before `admin.ModelAdmin`. `holder_path`: the lookup from the model to its card
    holder's id (`holder_id`, `visit__holder_id`); a record of several residents overrides
    `holder_ids` instead. `list_shows_residents`: False where the list shows none of them (a
    daily report's list: its day and desk), so only a record's page asks and records."""

    holder_path = "holder_id"
    list_shows_residents = True
    # Lookups from the model to other card holders its records show besides their resident: a
    # legal representative whose own account a link or public-fund account made for a minor
    # is (`representative__certificate__holder_id`). Each read is recorded for them too.
    other_holder_paths: tuple[str, ...] = ()

    def holder_ids(self, pks: list[Any]) -> list[int | None]:
        """The card holders whose data the records `pks` show."""
        model: Any = self.model  # type: ignore[attr-defined]
        return list(
            model._default_manager.filter(pk__in=pks).values_list(self.holder_path, flat=True)
        )

    def other_holder_ids(self, pks: list[Any]) -> list[int | None]:
        """The other card holders the records `pks` show (`other_holder_paths`)."""
        if not self.other_holder_paths:
            return []
        model: Any = self.model  # type: ignore[attr-defined]
        rows = model._default_manager.filter(pk__in=pks).values_list(*self.other_holder_paths)
        return [pk for row in rows for pk in row]

    def _reason_first(self, request: HttpRequest) -> HttpResponse | None:
        """For a GET: the page asking why, or, once a reason was just given, the same address
        without it (the admin's list reads every parameter of its address as a filter, and
        an unknown one sends it to its error page; the reason is kept for the address in the
        sign-in's session, as on the officials' pages); None when a reason is known."""
        if request.method != "GET":
            return None
        asked = ask_reason(request)
        if asked is not None or REASON_PARAM not in request.GET:
            return asked
        query = request.GET.copy()
        query.pop(REASON_PARAM)
        return HttpResponseRedirect(request.path + (f"?{query.urlencode()}" if query else ""))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.list_shows_residents:
            return super().changelist_view(request, extra_context)  # type: ignore[misc]
        first = self._reason_first(request)
        if first is not None:
            return first
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and response.status_code == 200 and changelist is not None:
            shown = [obj.pk for obj in changelist.result_list]
            record_reads(
                request,
                [*self.holder_ids(shown), *self.other_holder_ids(shown)],
                page=admin_page(self.model),  # type: ignore[attr-defined]
                reason=chosen_reason(request),
            )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        first = self._reason_first(request)
        if first is not None:
            return first
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        # The record the page shows, as the admin's change form found it (no second read).
        obj = (getattr(response, "context_data", None) or {}).get("original")
        if request.method == "GET" and response.status_code == 200 and obj is not None:
            self._record(request, obj)
        return response

    def _record(self, request: HttpRequest, obj: Any) -> None:
        """The read of one record's page: of its resident, naming the record; of each of its
        residents for a record of several (a daily report's incidents)."""
        page = admin_page(self.model)  # type: ignore[attr-defined]
        reason = chosen_reason(request)
        holders = self.holder_ids([obj.pk])
        others = self.other_holder_ids([obj.pk])
        if self.holder_path:
            (holder,) = holders or [None]
            shown = ("identity.holder", str(holder)) if holder is not None else None
            record_read(request, shown, page=page, reason=reason, subject=obj, others=others)
        else:
            record_reads(request, [*holders, *others], page=page, reason=reason)
