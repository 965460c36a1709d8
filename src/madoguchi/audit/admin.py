"""Read-only views of the audit log: nothing can be added, changed or deleted here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import AuditCheckpoint, AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "time", "event_name", "text", "actor_label", "terminal_label"]
    list_filter = ["event_name"]
    search_fields = ["event_name", "actor_label", "terminal_label", "subject_id"]
    date_hierarchy = "time"
    readonly_fields = [
        "seq",
        "time",
        "event_id",
        "event_name",
        "text",
        "actor_id",
        "actor_label",
        "terminal_id",
        "terminal_label",
        "subject_type",
        "subject_id",
        "payload",
        "leaf_hash",
        "chain_hash",
    ]
    show_full_result_count = False

    @admin.display(description=_("description"))
    def text(self, obj: AuditEvent) -> str:
        return selectors.display(obj)


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["size", "root_hash", "origin", "key_name", "created_at"]
    readonly_fields = ["size", "root_hash", "origin", "key_name", "key_id", "note", "created_at"]
