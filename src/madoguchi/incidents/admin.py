from typing import Any

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from madoguchi.identity.admin_reads import ResidentReadsRecorded
from madoguchi.terminals.admin_scope import CityScoped, desks_of

from .access import visible_incidents_q
from .models import Incident
from .text import incident_text


@admin.register(Incident)
class IncidentAdmin(ResidentReadsRecorded, CityScoped, admin.ModelAdmin):
    holder_path = "visit__holder_id"  # an incident names its visit, whose holder it is
    # The incident's sentence in the page's language, where the list showed its reason code
    # (resident_not_me, EXACT_AFTER_NORMALISATION …); the code stays on the incident's page.
    list_display = ("occurred_at", "kind", "text", "severity", "terminal", "staff")
    list_filter = ("kind", "severity", ("terminal", admin.RelatedOnlyFieldListFilter))
    # The stored summary is the English the incident was recorded with: a Japanese page showed
    # it under 内容 beside the same sentence in Japanese (`text`, which falls back to it).
    exclude = ("summary",)
    readonly_fields = ["text", *(f.name for f in Incident._meta.fields if f.name != "summary")]

    def city_q(self, user: Any) -> Q:
        return visible_incidents_q(user, desks_of(user))  # the incident pages' own rule

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # recorded by incident_record only (kind, desk, organisation, audit)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("description"))
    def text(self, obj: Incident) -> str:
        return incident_text(obj)
