from django.contrib import admin
from django.http import HttpRequest

from .models import Incident


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "kind", "reason_code", "severity", "terminal", "staff")
    list_filter = ("kind", "severity", "terminal")
    readonly_fields = [f.name for f in Incident._meta.fields]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
