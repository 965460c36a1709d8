from typing import Any

from axes.utils import reset as axes_reset
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as AuthUserChangeForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit

from .events import LOCKOUT_LIFTED
from .models import Organisation, User
from .services import official_outside_a_city


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "city", "municipality_code")
    list_filter = ("kind",)


class UserChangeForm(AuthUserChangeForm):
    def clean_organisation(self) -> Any:
        organisation = self.cleaned_data.get("organisation")
        roles = self.instance.roles if self.instance.pk else set()
        if official_outside_a_city(roles, organisation):
            raise forms.ValidationError(
                _(
                    "A city official belongs to a city: choose the city's organisation, or "
                    "take the role away first (madoguchi staff revoke)."
                )
            )
        return organisation


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = UserChangeForm
    list_display = ("username", "display_name", "organisation", "is_active")
    list_filter = ("organisation", "groups", "is_active")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        (_("Desk"), {"fields": ("display_name", "organisation")}),
    )
    # Roles, groups, permissions and the admin and superuser flags are never changed here:
    # `madoguchi staff grant|revoke|flag --by NAME` does it, audited with who did it.
    readonly_fields = (
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
        "last_login",
        "date_joined",
    )

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        """The form for another member's password (an admin change, audited by its log entry)
        lifts a sign-in lockout on their name too, as `madoguchi staff password` does: the
        member who asked for a new password after failed tries signs in with it at once,
        not after the cool-off. A lockout lifted is `accounts.lockout_lifted`."""
        response = super().user_change_password(request, id, form_url)
        if request.method != "POST" or response.status_code != 302:
            return response
        member = self.get_object(request, unquote(id))
        operator: Any = request.user
        if member is None:
            return response
        with transaction.atomic():
            lifted = int(axes_reset(username=member.username) or 0)
            if lifted:
                audit.record(
                    LOCKOUT_LIFTED,
                    actor=operator,
                    terminal=None,
                    subject=member,
                    payload={
                        "username": member.username,
                        "by": operator.get_username(),
                        "attempts": lifted,
                        "with_password": True,
                    },
                )
        if lifted:
            messages.info(
                request,
                _("The lockout after failed sign-ins on %(name)s is lifted too.")
                % {"name": member.username},
            )
        return response
