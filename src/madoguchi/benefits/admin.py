"""Admin: programmes (each save is a new version) and providers are editable; links,
registrations, grants and the ledger are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from madoguchi.identity.admin_reads import ResidentReadsRecorded
from madoguchi.language import page_language
from madoguchi.namecheck.reasons import Outcome, Reason, outcome_text, reason_text
from madoguchi.terminals.admin_scope import CityScoped, desks_of, server_wide

from . import services
from .constants import CALL_WORDS, INSURER_ANSWER_WORDS, ProgrammeScope
from .models import (
    Grant,
    HealthInsuranceRegistration,
    LedgerEntry,
    LedgerTransfer,
    OutsideCall,
    PaymentLink,
    PayoutBatch,
    Programme,
    ProgrammeVersion,
    Provider,
    PublicFundAccount,
)

# The card holder of a link's or account's legal representative (made for a minor into their
# own account, under the minor-representative exception): its page shows their account too.
REPRESENTATIVE_HOLDER = "representative__certificate__holder_id"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def name_outcome_words(code: str) -> str:
    """A stored name-check outcome ("match") in words of the page's language; an empty one
    empty, an unknown one as stored."""
    if code not in Outcome.__members__.values():
        return code
    return outcome_text(Outcome(code), page_language())


def name_reason_words(code: str) -> str:
    """A stored name-check reason code ("EXACT_AFTER_NORMALISATION") as the desk's sentence in
    the page's language; an empty one empty, an unknown one as stored."""
    if code not in Reason.__members__.values():
        return code
    return reason_text(Reason(code), page_language())


class CodesInWords(admin.ModelAdmin):
    """Stored codes in words, on the list and on each row's page: `WORDS` maps a field to the
    method that shows it, in its place."""

    WORDS: dict[str, str] = {}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return (*super().get_readonly_fields(request, obj), *self._shown_here())

    def _shown_here(self) -> list[str]:
        names = {f.name for f in self.model._meta.concrete_fields}
        return [shown for field, shown in self.WORDS.items() if field in names]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        shown = self._shown_here()
        fields = [f for f in super().get_fields(request, obj) if f not in shown]
        words = {field: word for field, word in self.WORDS.items() if word in shown}
        return [words.get(f, f) if isinstance(f, str) else f for f in fields]


def code_words(words: dict[str, Any], code: str) -> str:
    """A stored code in words of the page's language with the code beside (operators find it so
    in the logs and the docs); an empty one empty, an unknown one as stored."""
    return f"{words[code]} ({code})" if code in words else code


class NameCheckWords(CodesInWords):
    """The name check's outcome and reason codes in words, on the list and on each row's page
    (in the place of the stored codes, which the admin showed as they are)."""

    WORDS = {
        "name_outcome": "name_outcome_shown",
        "name_reason": "name_reason_shown",
        "representative_outcome": "representative_outcome_shown",
        "representative_reason": "representative_reason_shown",
    }

    @admin.display(description=_("name check"), ordering="name_outcome")
    def name_outcome_shown(self, obj: Any) -> str:
        return name_outcome_words(obj.name_outcome)

    @admin.display(description=_("name check reason"))
    def name_reason_shown(self, obj: Any) -> str:
        return name_reason_words(obj.name_reason)

    @admin.display(description=_("representative name check"))
    def representative_outcome_shown(self, obj: Any) -> str:
        return name_outcome_words(obj.representative_outcome)

    @admin.display(description=_("representative reason"))
    def representative_reason_shown(self, obj: Any) -> str:
        return name_reason_words(obj.representative_reason)


class NameCheckReadOnlyAdmin(NameCheckWords, ReadOnlyAdmin):
    pass


def city_names(user: Any) -> list[str]:
    """The words a programme's `municipality` names `user`'s city by (its organisation's name,
    its municipality code): none for a member of no city."""
    org = getattr(user, "organisation", None)
    city = org.served_city if org is not None else None
    return [n for n in (city.name, city.municipality_code) if n] if city is not None else []


def programmes_q(user: Any, prefix: str = "") -> Q:
    """The programmes `user`'s city takes (`prefix`: the lookup to the programme): the
    national programme and a municipal add-on naming no city, every city's; an add-on naming
    a city (by its organisation's name or its municipality code, as the desks' rule reads it,
    `procedures.common.refuse_another_citys_programme`), that city's only."""
    names = city_names(user)
    return (
        ~Q(**{f"{prefix}scope": ProgrammeScope.MUNICIPAL})
        | Q(**{f"{prefix}municipality": ""})
        | Q(**{f"{prefix}municipality__in": names})
    )


def committed_in_city(user: Any, *paths: str) -> Q:
    """The records committed at a desk of `user`'s city, by any of the lookups `paths` to a
    signed completion's visit (a grant by its completion or its link)."""
    desks = desks_of(user)
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{path}__terminal__in": desks})
    return q


class VersionInline(admin.TabularInline):
    model = ProgrammeVersion
    extra = 0
    fields = ("number", "name_ja", "opens_at", "closes_at", "created_at", "created_by", "note")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def one_citys(scope: str, municipality: str) -> bool:
    """Whether a programme of `scope` naming `municipality` is one city's own (else every
    city's desks take it, `procedures.common.refuse_another_citys_programme`)."""
    return scope == ProgrammeScope.MUNICIPAL and bool(municipality.strip())


class ProgrammeForm(forms.ModelForm):
    """An operator's programme names their own city or none: the list hid another city's
    add-ons, but the form made (or re-pointed) one (side doors, round 20). `reader` is set by
    `ProgrammeAdmin.get_form` (None: the superuser flag, unrestricted)."""

    reader: Any = None

    class Meta:
        model = Programme
        fields = ("code", "scope", "municipality", "is_active")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.reader is None:
            return cleaned
        scope = str(cleaned.get("scope") or "")
        municipality = str(cleaned.get("municipality") or "").strip()
        if not one_citys(scope, municipality):
            return cleaned
        names = city_names(self.reader)
        if municipality not in names:
            self.add_error(
                "municipality",
                _(
                    "A municipal programme added or changed here names your own city "
                    "(%(names)s) or no city. Another city's programme is that city's "
                    "operator's to add."
                )
                % {"names": "、".join(names) or "—"},
            )
        elif self.instance.pk and not one_citys(
            self.instance.scope, self.instance.municipality or ""
        ):
            self.add_error(
                "municipality",
                _(
                    "Every city's desks take this programme: it is not made one city's own "
                    "here. Add a municipal programme of your city's instead."
                ),
            )
        return cleaned


@admin.register(Programme)
class ProgrammeAdmin(CityScoped, admin.ModelAdmin):
    form = ProgrammeForm
    list_display = ("code", "__str__", "scope", "municipality", "is_active")
    inlines = [VersionInline]

    def city_q(self, user: Any) -> Q:
        return programmes_q(user)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        reader = None if server_wide(request.user) else request.user
        return type(form.__name__, (form,), {"reader": reader})


class ProgrammeVersionForm(forms.ModelForm):
    class Meta:
        model = ProgrammeVersion
        fields = ("programme", "name_ja", "name_en", "opens_at", "closes_at", "categories", "note")

    def clean_categories(self) -> Any:
        categories = self.cleaned_data["categories"]
        problems = services.validate_categories(categories)
        if problems:
            raise forms.ValidationError(str(services.problems_text(problems)))
        return categories


@admin.register(ProgrammeVersion)
class ProgrammeVersionAdmin(CityScoped, admin.ModelAdmin):
    """Saving an existing version saves a new version with the edited terms."""

    form = ProgrammeVersionForm
    list_display = ("programme", "number", "name_ja", "opens_at", "closes_at", "created_at")
    list_filter = (("programme", admin.RelatedOnlyFieldListFilter),)

    def city_q(self, user: Any) -> Q:
        return programmes_q(user, "programme__")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "programme" and not request.user.is_superuser:
            kwargs["queryset"] = Programme.objects.filter(programmes_q(request.user))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        created = services.programme_version_create(
            form.cleaned_data["programme"],
            name_ja=obj.name_ja,
            name_en=obj.name_en,
            opens_at=obj.opens_at,
            closes_at=obj.closes_at,
            categories=obj.categories,
            note=obj.note,
            actor=request.user,
        )
        obj.pk = created.pk
        obj._state.adding = False


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("code", "display_name_ja", "is_active")


class NameOutcomeFilter(admin.SimpleListFilter):
    """The name check's outcomes by the desk's words (the field's own filter listed the stored
    codes, `match`, on the Japanese page)."""

    title = _("name check")
    parameter_name = "name_outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(o.value, name_outcome_words(o.value)) for o in Outcome]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(name_outcome=value) if value else queryset


@admin.register(PaymentLink)
class PaymentLinkAdmin(ResidentReadsRecorded, CityScoped, NameCheckReadOnlyAdmin):
    desk_path = "visit__terminal"
    # A link made under the minor-representative exception is into the representative's own
    # account (its last 4, and them as its representative): their read too.
    other_holder_paths = (REPRESENTATIVE_HOLDER,)
    list_display = (
        "created_at",
        "programme",
        "provider",
        "masked_account_shown",
        "status",
        "name_outcome_shown",
        "name_reason_shown",
        "name_exception",
    )
    list_filter = ("status", "provider", NameOutcomeFilter, "name_exception")
    exclude = ("account_hash",)

    # The property's own header read MASKED ACCOUNT on the Japanese page.
    @admin.display(description=_("account (last 4)"))
    def masked_account_shown(self, obj: PaymentLink) -> str:
        return obj.masked_account


@admin.register(PublicFundAccount)
class PublicFundAccountAdmin(ResidentReadsRecorded, CityScoped, NameCheckReadOnlyAdmin):
    desk_path = "visit__terminal"
    other_holder_paths = (REPRESENTATIVE_HOLDER,)  # as a link's
    list_display = (
        "created_at",
        "bank_code",
        "branch_code",
        "account_last4",
        "status",
        "name_outcome_shown",
    )
    exclude = ("account_hash",)


@admin.register(HealthInsuranceRegistration)
class HealthInsuranceRegistrationAdmin(ResidentReadsRecorded, CityScoped, NameCheckReadOnlyAdmin):
    desk_path = "visit__terminal"
    WORDS = {**NameCheckWords.WORDS, "insurer_status": "insurer_status_shown"}
    list_display = (
        "created_at",
        "insurer_number",
        "insured_last4",
        "state",
        "insurer_status_shown",
        "status",
    )
    list_filter = ("state",)
    exclude = ("insured_hash",)

    @admin.display(description=_("insurer's answer"), ordering="insurer_status")
    def insurer_status_shown(self, obj: HealthInsuranceRegistration) -> str:
        return code_words(INSURER_ANSWER_WORDS, obj.insurer_status)


class CallFilter(admin.SimpleListFilter):
    title = _("call")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code_words(CALL_WORDS, code)) for code in CALL_WORDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(kind=value) if value else queryset


class CategoryFilter(admin.SimpleListFilter):
    """The categories granted so far, each by its name in the programme version of one of its
    grants, its code beside."""

    title = _("category")
    parameter_name = "category"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        lang = page_language()
        codes = Grant.objects.order_by("category").values_list("category", flat=True).distinct()
        found = []
        for code in codes:
            grant = Grant.objects.select_related("programme", "programme_version")
            text = grant.filter(category=code).latest("pk").category_text(lang)
            found.append((code, code_words({code: text}, code)))
        return found

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(category=value) if value else queryset


@admin.register(OutsideCall)
class OutsideCallAdmin(ResidentReadsRecorded, CityScoped, CodesInWords, ReadOnlyAdmin):
    """The outbox, for operators. The request is not shown: until the insurer answered it holds
    the insured numbers, which are never displayed. A call's page shows the registration it
    carries or cancels (insurer number, masked insured number) and the insurer's answer (its
    reference): a read of that resident's, asked why first as the registration's own page is.
    The list (kind, key, state, attempts) shows no resident and asks nothing."""

    list_shows_residents = False

    WORDS = {"kind": "kind_shown"}
    list_display = (
        "created_at",
        "kind_shown",
        "key",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = (CallFilter, "state")
    exclude = ("payload",)

    def city_q(self, user: Any) -> Q:
        # A desk procedure's or registration's call, or a case's suspension of one, of a
        # desk of the city.
        return committed_in_city(user, "registration__visit", "cancels__visit", "procedure__visit")

    def holder_ids(self, pks: list[Any]) -> list[int | None]:
        """The resident of the registration a call carries, or cancels, or of its procedure's
        visit (the same resident)."""
        rows = OutsideCall.objects.filter(pk__in=pks).values_list(
            "registration__holder_id", "cancels__holder_id", "procedure__visit__holder_id"
        )
        return [next((pk for pk in row if pk is not None), None) for row in rows]

    @admin.display(description=_("call"), ordering="kind")
    def kind_shown(self, obj: OutsideCall) -> str:
        return code_words(CALL_WORDS, obj.kind)


@admin.register(Grant)
class GrantAdmin(ResidentReadsRecorded, CityScoped, CodesInWords, ReadOnlyAdmin):
    WORDS = {"category": "category_shown"}
    list_display = ("created_at", "programme", "category_shown", "points", "status", "link")
    list_filter = (("programme", admin.RelatedOnlyFieldListFilter), CategoryFilter, "status")
    list_select_related = ("programme", "programme_version", "link")
    # The grant's link is shown by its account's last 4: a representative's own, for a link
    # made for a minor under the exception.
    other_holder_paths = (f"link__{REPRESENTATIVE_HOLDER}",)

    def city_q(self, user: Any) -> Q:
        return committed_in_city(user, "completion__visit", "link__visit")

    @admin.display(description=_("category"), ordering="category")
    def category_shown(self, obj: Grant) -> str:
        return code_words({obj.category: obj.category_text(page_language())}, obj.category)


class EntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    readonly_fields = ("account", "amount")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LedgerTransfer)
class LedgerTransferAdmin(ResidentReadsRecorded, CityScoped, ReadOnlyAdmin):
    list_display = ("created_at", "kind", "programme", "idempotency_key", "memo")
    list_filter = ("kind", ("programme", admin.RelatedOnlyFieldListFilter))
    inlines = [EntryInline]

    def city_q(self, user: Any) -> Q:
        # A resident's points move by their link or grant, committed at a desk of the city.
        return committed_in_city(
            user, "link__visit", "grant__completion__visit", "grant__link__visit"
        )


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "provider", "batch_id", "status", "sent_at", "payout_ref")
