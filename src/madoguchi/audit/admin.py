"""Read-only views of the audit log: nothing can be added, changed or deleted here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from madoguchi.language import page_language

from . import events, selectors
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


def event_words(name: str) -> str:
    """An event name ("accounts.signed_in") as what kind of event it is in the page's language,
    its code beside (operators search the log and the docs by it); an unknown name as stored."""
    try:
        event_type = events.get(name)
    except events.UnknownEventError:
        return name
    return f"{event_type.title(page_language())} ({name})"


class EventNameFilter(admin.SimpleListFilter):
    """The event names in words, each with its code, in the registry's order."""

    title = _("event")
    parameter_name = "event_name"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(e.name, event_words(e.name)) for e in events.all_events()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(event_name=value) if value else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "time", "event", "text", "actor_label", "terminal_label"]
    list_filter = [EventNameFilter]
    search_fields = ["event_name", "actor_label", "terminal_label", "subject_id"]
    date_hierarchy = "time"
    readonly_fields = [
        "seq",
        "time",
        "event_id",
        "event",
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
    fields = tuple(
        readonly_fields
    )  # the event's name in words (`event`), not its stored code alone
    show_full_result_count = False

    @admin.display(description=_("event"), ordering="event_name")
    def event(self, obj: AuditEvent) -> str:
        return event_words(obj.event_name)

    @admin.display(description=_("description"))
    def text(self, obj: AuditEvent) -> str:
        return selectors.display(obj)


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["size", "root_hash", "origin", "key_name", "created_at"]
    readonly_fields = ["size", "root_hash", "origin", "key_name", "key_id", "note", "created_at"]
