from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from . import services
from .models import DeskSession, Terminal, TerminalCredential


class CredentialInline(admin.TabularInline):
    model = TerminalCredential
    fields = ("prefix", "created_at", "created_by", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Terminal)
class TerminalAdmin(admin.ModelAdmin):
    list_display = ("name", "location", "contractor", "is_active", "created_at")
    list_filter = ("contractor", "is_active")
    inlines = [CredentialInline]
    actions = ["issue_credential"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.terminal_register(
            name=obj.name, location=obj.location, contractor=obj.contractor, actor=request.user
        )
        obj.pk = created.pk

    @admin.action(description=_("Issue a new credential (shown once)"))
    def issue_credential(self, request: HttpRequest, queryset: QuerySet[Terminal]) -> HttpResponse:
        issued = [
            services.credential_issue(terminal=t, actor=request.user)  # type: ignore[arg-type]
            for t in queryset
        ]
        return TemplateResponse(
            request,
            "admin/terminals/issued_credentials.html",
            {
                **self.admin_site.each_context(request),
                "issued": issued,
                "title": _("New credentials"),
            },
        )


@admin.register(TerminalCredential)
class TerminalCredentialAdmin(admin.ModelAdmin):
    list_display = ("terminal", "prefix", "created_at", "revoked_at")
    readonly_fields = ("terminal", "prefix", "created_at", "created_by", "revoked_at")
    exclude = ("secret_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Revoke"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[TerminalCredential]) -> None:
        # The page said nothing either way; a credential revoked before stays as it was.
        for credential in queryset:
            if credential.revoked_at is not None:
                self.message_user(
                    request,
                    _("%(c)s was already revoked; nothing was changed.") % {"c": credential},
                    messages.WARNING,
                )
                continue
            services.credential_revoke(credential=credential, actor=request.user)  # type: ignore[arg-type]
            self.message_user(
                request,
                _(
                    "%(c)s is revoked: the terminal's open desk sessions are closed and its "
                    "browser must be enrolled again with a new credential."
                )
                % {"c": credential},
                messages.SUCCESS,
            )


@admin.register(DeskSession)
class DeskSessionAdmin(admin.ModelAdmin):
    list_display = ("terminal", "staff", "opened_at", "closed_at", "close_reason")
    list_filter = ("terminal", "close_reason")
    readonly_fields = ("terminal", "staff", "opened_at", "closed_at", "close_reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
