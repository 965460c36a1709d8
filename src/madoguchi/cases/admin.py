from typing import Any

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest

from madoguchi.identity.admin_reads import ResidentReadsRecorded
from madoguchi.terminals.admin_scope import CityScoped

from .models import Case, CityContact, LegacyLink, TimelineEntry
from .selectors import visible_cases


@admin.register(CityContact)
class CityContactAdmin(admin.ModelAdmin):
    list_display = ("city", "department", "phone", "fax", "created_at")
    list_filter = ("city",)


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in TimelineEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ResidentReadsRecorded, CityScoped, admin.ModelAdmin):
    list_display = ("reference", "title", "resident_label", "opened_at")
    readonly_fields = [f.name for f in Case._meta.fields]
    inlines = [TimelineInline]

    def city_q(self, user: Any) -> Q:
        return Q(pk__in=visible_cases(user).values("pk"))  # the cases pages' own rule

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # opened and recorded by the case services only (audited, checked)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LegacyLink)
class LegacyLinkAdmin(ResidentReadsRecorded, CityScoped, admin.ModelAdmin):
    list_display = ("resident_label", "provider_name", "account_last4", "linked_on")
    readonly_fields = [f.name for f in LegacyLink._meta.fields]

    def city_q(self, user: Any) -> Q:
        # A legacy link is recorded on a case: the city's whose case it is.
        return Q(pk__in=visible_cases(user).values("legacy_link_id"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # opened and recorded by the case services only (audited, checked)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
