from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from madoguchi.identity.admin_reads import ResidentReadsRecorded
from madoguchi.incidents.selectors import visit_holder_ids
from madoguchi.terminals.admin_scope import CityScoped

from .models import DailyReport


@admin.register(DailyReport)
class DailyReportAdmin(ResidentReadsRecorded, CityScoped, admin.ModelAdmin):
    desk_path = "terminal"
    list_display = ("day", "terminal", "contractor", "submitted_by", "submitted_at")
    readonly_fields = [f.name for f in DailyReport._meta.fields]
    # A submitted report's page shows its content as submitted: the day's incidents, with the
    # residents' visits in them (the officials' report page asks why and records the reads).
    holder_path = ""
    list_shows_residents = False

    def holder_ids(self, pks: list[Any]) -> list[Any]:
        incidents = [
            i["id"]
            for report in DailyReport.objects.filter(pk__in=pks)
            for i in (report.snapshot or {}).get("incidents", [])
            if i.get("visit")
        ]
        return visit_holder_ids(incidents)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
