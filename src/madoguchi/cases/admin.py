from typing import Any

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest

from madoguchi.accounts.models import Organisation
from madoguchi.identity.admin_reads import ResidentReadsRecorded
from madoguchi.terminals.admin_scope import CityScoped, server_wide

from .models import Case, CityContact, LegacyLink, TimelineEntry
from .selectors import visible_cases


def served_city(user: Any) -> Organisation | None:
    """The city `user`'s organisation is or serves (None: a member of no city)."""
    org = getattr(user, "organisation", None)
    return org.served_city if org is not None else None


@admin.register(CityContact)
class CityContactAdmin(CityScoped, admin.ModelAdmin):
    """A city's contact block is printed on its cases' reports and its residents' letters: an
    operator lists, adds and changes their own city's only (another city's answers 404, the
    form offers their city alone), and sees the blocks naming no city (the deployment's
    default, every city's without its own), which only the superuser flag changes: another
    city's operator added or changed the block a second city printed (side doors, round 20)."""

    list_display = ("city", "department", "phone", "fax", "created_at")
    list_filter = ("city",)

    def city_q(self, user: Any) -> Q:
        city = served_city(user)
        shared = Q(city__isnull=True)
        return shared | Q(city=city) if city is not None else shared

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "city" and not server_wide(request.user):
            city = served_city(request.user)
            everyone = Organisation.objects.all()
            kwargs["queryset"] = everyone.filter(pk=city.pk) if city else everyone.none()
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _shared(self, request: HttpRequest, obj: Any) -> bool:
        return obj is not None and obj.city_id is None and not server_wide(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._shared(request, obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._shared(request, obj) and super().has_delete_permission(request, obj)


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
