from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from . import services
from .admin_scope import CityScoped, desks_of, organisation_q, server_wide
from .models import DeskSession, Terminal, TerminalCredential

# Why a terminal's contractor is not changed once registered (the form's hint, and the page's
# words beside the contractor it shows).
CONTRACTOR_FIXED = _(
    "Fixed once the terminal is registered: its desk sessions, visits, incidents and daily "
    "reports belong to its contractor's city, and a new contractor would take them all to "
    "another organisation (or city). A terminal handed to another contractor is registered "
    "again under a new name (madoguchi terminal register) and this one made inactive."
)


class TerminalForm(forms.ModelForm):
    class Meta:
        model = Terminal
        fields = ("name", "location", "contractor", "is_active")
        help_texts = {"contractor": CONTRACTOR_FIXED}


class CredentialInline(admin.TabularInline):
    model = TerminalCredential
    fields = ("prefix", "created_at", "created_by", "revoked_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Terminal)
class TerminalAdmin(CityScoped, admin.ModelAdmin):
    form = TerminalForm
    list_display = ("name", "location", "contractor", "is_active", "created_at")
    # The contractors of the desks listed (every organisation was offered, another city's too).
    list_filter = (("contractor", admin.RelatedOnlyFieldListFilter), "is_active")
    inlines = [CredentialInline]
    actions = ["issue_credential"]

    def city_q(self, user: Any) -> Q:
        return Q(pk__in=desks_of(user))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Every page reads a visit's, incident's, case's and report's city from its desk's
        # contractor: changed here, a desk's whole history moved to another city's officials
        # (side doors, round 20).
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "contractor") if obj is not None else fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "contractor" and not server_wide(request.user):
            # A new desk is registered to the reader's own city or its contractors.
            kwargs["queryset"] = db_field.remote_field.model._default_manager.filter(
                organisation_q(request.user)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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
class TerminalCredentialAdmin(CityScoped, admin.ModelAdmin):
    desk_path = "terminal"
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
class DeskSessionAdmin(CityScoped, admin.ModelAdmin):
    desk_path = "terminal"
    list_display = ("terminal", "staff", "opened_at", "closed_at", "close_reason")
    list_filter = (("terminal", admin.RelatedOnlyFieldListFilter), "close_reason")
    readonly_fields = ("terminal", "staff", "opened_at", "closed_at", "close_reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
