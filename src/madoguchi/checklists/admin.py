from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from madoguchi.terminals.admin_scope import CityScoped

from . import services
from .models import ChecklistItem, ChecklistTemplate, ChecklistTick


class ItemFormSet(BaseInlineFormSet):
    """The items of the active version, as they would be saved: refused when some procedure
    would have no required before-completion item (the active version edited in the admin
    before its first tick, where making such a version active is refused)."""

    def clean(self) -> None:
        super().clean()
        template = self.instance
        if template is None or template.pk is None or not template.is_active:
            return
        kept = [
            form.instance
            for form in self.forms
            if getattr(form, "cleaned_data", None) and not form.cleaned_data.get("DELETE")
        ]
        try:
            services.refuse_unchecked(template, kept)
        except services.ChecklistRefused as exc:
            raise ValidationError(exc.text()) from None


class ItemInline(admin.TabularInline):
    model = ChecklistItem
    formset = ItemFormSet
    fields = ("order", "code", "label_ja", "label_en", "stage", "required", "procedures")
    extra = 0

    def _editable(self, obj: ChecklistTemplate | None) -> bool:
        return obj is None or not obj.is_frozen

    def has_add_permission(
        self, request: HttpRequest, obj: ChecklistTemplate | None = None
    ) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(
        self, request: HttpRequest, obj: ChecklistTemplate | None = None
    ) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(
        self, request: HttpRequest, obj: ChecklistTemplate | None = None
    ) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "is_active", "note", "created_at", "created_by")
    list_filter = ("name", "is_active")
    readonly_fields = ("is_active", "created_at", "created_by")
    inlines = [ItemInline]
    actions = ["new_version", "activate"]

    def get_readonly_fields(self, request: HttpRequest, obj: ChecklistTemplate | None = None):
        if obj is not None and obj.is_frozen:
            return ("name", "version", "note", *self.readonly_fields)
        return self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Copy as a new version (to edit)"))
    def new_version(self, request: HttpRequest, queryset: QuerySet[ChecklistTemplate]) -> None:
        for t in queryset:
            copy = services.template_new_version(template=t, actor=request.user)
            self.message_user(request, _("Created %(t)s.") % {"t": copy}, messages.SUCCESS)

    @admin.action(description=_("Make this version the active one"))
    def activate(self, request: HttpRequest, queryset: QuerySet[ChecklistTemplate]) -> None:
        # One version is active: with several chosen each was made active in turn, and the
        # page said of each that it was now active, the last one alone being so.
        chosen = list(queryset)
        if len(chosen) != 1:
            self.message_user(
                request,
                _("Choose one version to make active (%(n)d were chosen); nothing was changed.")
                % {"n": len(chosen)},
                messages.ERROR,
            )
            return
        try:
            services.template_activate(template=chosen[0], actor=request.user)
        except services.ChecklistRefused as exc:
            self.message_user(request, exc.text(), messages.ERROR)
            return
        self.message_user(request, _("%(t)s is now active.") % {"t": chosen[0]}, messages.SUCCESS)


@admin.register(ChecklistTick)
class ChecklistTickAdmin(CityScoped, admin.ModelAdmin):
    desk_path = "visit__terminal"  # a tick of a visit at a desk of the reader's city
    list_display = (
        "at",
        "visit",
        "item",
        "ticked",
        "staff",
        "reason",
        "completion_round",
        "template_version",
    )
    list_filter = ("ticked", "reason", "template_version")
    readonly_fields = [f.name for f in ChecklistTick._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
