from typing import Any

from axes.utils import reset as axes_reset
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import UserChangeForm as AuthUserChangeForm
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.terminals.admin_scope import CityScoped, organisation_q, server_wide
from madoguchi.terminals.models import Terminal

from .constants import Role
from .events import LOCKOUT_LIFTED
from .models import Organisation, User
from .services import official_outside_a_city

# Why an organisation's kind and city are not changed once it (or a contractor serving it) has
# desks (the form's hint).
CITY_FIXED = _(
    "Fixed once the organisation, or a contractor serving it, has terminals: its desks' visits, incidents, cases and "
    "daily reports belong to the city it serves, and another city (or kind) here would take "
    "them all to that city's officials. A contractor that starts serving another city is "
    "added as a new organisation (madoguchi organisation add)."
)


def has_desks(organisation: Organisation) -> bool:
    """Whether any terminal's history is read through `organisation`'s kind or city: its own
    terminals, or those of a contractor serving it."""
    return Terminal.objects.filter(
        Q(contractor=organisation) | Q(contractor__city=organisation)
    ).exists()


class OrganisationForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ("name", "kind", "city", "municipality_code")
        help_texts = {"city": CITY_FIXED, "kind": CITY_FIXED}


@admin.register(Organisation)
class OrganisationAdmin(CityScoped, admin.ModelAdmin):
    form = OrganisationForm
    list_display = ("name", "kind", "city", "municipality_code")
    list_filter = ("kind",)

    def city_q(self, user: Any) -> Any:
        return organisation_q(user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Every page reads a desk's city from its contractor's `city` (a city runs its own
        # desks by `kind`): changed here, the desks' whole history moved to another city
        # (side doors, round 20). A city's own desks are usually its contractors': made a
        # contractor (or another city's), its officials lost them all, so the desks of the
        # contractors serving it count too.
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and has_desks(obj):
            return (*fields, "kind", "city")
        return fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "city" and not server_wide(request.user):
            # A contractor added by a city's operator serves that city.
            kwargs["queryset"] = Organisation.objects.filter(
                organisation_q(request.user), kind="city"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


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


class RoleFilter(admin.SimpleListFilter):
    """Members by role, named in words: the groups' own filter listed their names, which are
    the roles' codes (desk_staff, city_official)."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Role.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(groups__name=value) if value else queryset


def _roles_in_words(fieldsets: Any) -> list[Any]:
    """Django's user fieldsets with the groups (named by the roles' codes) read as the roles in
    words (`UserAdmin.roles_shown`)."""
    return [
        (
            name,
            {
                **opts,
                "fields": tuple("roles_shown" if f == "groups" else f for f in opts["fields"]),
            },
        )
        for name, opts in fieldsets
    ]


@admin.register(User)
class UserAdmin(CityScoped, BaseUserAdmin):
    form = UserChangeForm
    list_display = ("username", "display_name", "organisation", "roles_shown", "is_active")
    # The organisations of the members listed (every organisation was offered).
    list_filter = (("organisation", admin.RelatedOnlyFieldListFilter), RoleFilter, "is_active")
    # The roles in words where Django's page listed the groups by their names (the roles'
    # codes, desk_staff).
    fieldsets = (
        *_roles_in_words(BaseUserAdmin.fieldsets or ()),
        (_("Desk"), {"fields": ("display_name", "organisation")}),
    )
    # A member added here is put in an organisation at once (the reader's city's: a member of
    # none would be the superuser flag's alone to see).
    add_fieldsets = (
        *(BaseUserAdmin.add_fieldsets or ()),
        (_("Desk"), {"fields": ("display_name", "organisation")}),
    )
    # Roles, groups, permissions and the admin and superuser flags are never changed here:
    # `madoguchi staff grant|revoke|flag --by NAME` does it, audited with who did it.
    readonly_fields = (
        "roles_shown",
        "is_staff",
        "is_superuser",
        "groups",
        "user_permissions",
        "last_login",
        "date_joined",
    )

    def city_q(self, user: Any) -> Any:
        # The city's members and its contractors' (a member of no organisation, as the resident
        # page's system account, is the superuser flag's to see).
        return organisation_q(user, "organisation__")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organisation" and not server_wide(request.user):
            # A member is put in the reader's own city or its contractors only.
            kwargs["queryset"] = Organisation.objects.filter(organisation_q(request.user))
            kwargs["required"] = True
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("roles"))
    def roles_shown(self, obj: User) -> str:
        """The member's roles in words (their groups are named by the roles' codes)."""
        labels = dict(Role.choices)
        names = obj.groups.values_list("name", flat=True)
        return "、".join(str(labels.get(name, name)) for name in sorted(names)) or "—"

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
