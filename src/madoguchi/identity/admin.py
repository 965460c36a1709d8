"""The audit log's admin, as the residents' records' admins are: an event about a resident's
record is read as that record is, and every event is kept to the reader's city.

The audit app sits below the apps whose records its events name, so its admin
(`audit.admin.AuditEventAdmin`) knows nothing of residents or desks: it showed a resident's
link events (the masked account, the visit, the name check's outcome) with no reason asked and
no read recorded, where the link's own admin page asks and records (side doors, round 20). It
is registered again here, above them (the admin loads the apps' admin modules in
INSTALLED_APPS order, `audit` first).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse

from madoguchi.accounts.models import User
from madoguchi.audit.admin import AuditEventAdmin
from madoguchi.audit.models import AuditEvent
from madoguchi.terminals.admin_scope import CityScoped, desks_of, organisation_q

from .admin_reads import ResidentReadsRecorded
from .selectors import event_holder_id


class ResidentAuditEventAdmin(ResidentReadsRecorded, CityScoped, AuditEventAdmin):
    """One event's page: an event about a resident's record (its subject the resident, or a
    record of theirs: a link, a registration, a visit, a case, an incident) asks why first and
    records the read, naming the event, on the resident's page (`admin.audit.auditevent`).
    The list shows each event's sentence and is not counted (it would ask why of every look
    at the log); an event's own page is. A reader without the superuser flag sees the events
    of their city: at its desks (whoever made them), or at no desk by its members now (the
    organisations of `organisation_q`); the system's and the shell's events are the superuser
    flag's."""

    holder_path = "subject"  # one resident an event (`holder_ids`)
    list_shows_residents = False

    def holder_ids(self, pks: list[Any]) -> list[int | None]:
        return [event_holder_id(event) for event in AuditEvent.objects.filter(pk__in=pks)]

    def city_q(self, user: Any) -> Q:
        desks = desks_of(user).annotate(key=Cast("pk", CharField())).values("key")
        members = (
            User.objects.filter(organisation_q(user, "organisation__"))
            .annotate(key=Cast("pk", CharField()))
            .values("key")
        )
        # An event at a desk is that desk's city's, whoever made it; one at no desk (a sign-in,
        # an official's or an operator's change) is the city of its actor's organisation now.
        # By the actor alone, a member moved to another city took every event they had made at
        # their old city's desks to the new city's operator (side doors, round 20).
        return Q(terminal_id__in=desks) | (Q(terminal_id="") & Q(actor_id__in=members))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        event = self.get_object(request, unquote(object_id))
        if event is not None and event_holder_id(event) is None:
            # Not about a resident (a sign-in, a setting): shown as it was, nothing asked.
            return AuditEventAdmin.change_view(self, request, object_id, form_url, extra_context)
        return super().change_view(request, object_id, form_url, extra_context)


admin.site.unregister(AuditEvent)
admin.site.register(AuditEvent, ResidentAuditEventAdmin)
