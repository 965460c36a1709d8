from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as AuthUserChangeForm
from django.utils.translation import gettext_lazy as _

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
