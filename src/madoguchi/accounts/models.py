import re

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from madoguchi.municipality import check_digit
from madoguchi.plaintext import plain_name  # migration 0003 names it as this module's

from .constants import ROLES_REQUIRING_TOTP, OrganisationKind, Role


def municipality_code_check(value: str) -> None:
    """A 全国地方公共団体コード: five digits and their check digit (madoguchi.municipality), so
    a mistyped code, which would show the city's officials no scan finding, is refused."""
    if not re.fullmatch(r"[0-9]{6}", value):
        raise ValidationError(
            _("A municipality code is six digits (全国地方公共団体コード, e.g. 131016)."),
            code="invalid",
        )
    check = check_digit(value[:5])
    if value[5] != check:
        raise ValidationError(
            _(
                "%(code)s is not a municipality code: its last digit is a check digit, which "
                "for %(first)s is %(check)s (%(first)s%(check)s). Check the code."
            ),
            code="check_digit",
            params={"code": value, "first": value[:5], "check": check},
        )


class Organisation(models.Model):
    """The city, or a contractor that runs desks for it."""

    name = models.CharField(_("name"), max_length=200, unique=True, validators=[plain_name])
    kind = models.CharField(_("kind"), max_length=20, choices=OrganisationKind.choices)
    city = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contractors",
        limit_choices_to={"kind": OrganisationKind.CITY},
        verbose_name=_("city served"),
    )
    # The city's 全国地方公共団体コード (six digits, with its check digit), as the forensic
    # scan's input names a link's municipality: a city official sees the scan findings of
    # this code only, and none while it is blank (scans.selectors.visible_findings).
    municipality_code = models.CharField(
        _("municipality code"),
        max_length=6,
        blank=True,
        validators=[municipality_code_check],
        help_text=_(
            "The city's 全国地方公共団体コード (six digits). Its officials see the forensic "
            "scan's findings of this municipality only, and none while it is blank."
        ),
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["municipality_code"],
                condition=~models.Q(municipality_code=""),
                name="accounts_organisation_one_per_municipality_code",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def served_city(self) -> "Organisation | None":
        """The city this organisation is or serves: itself when a city, else the city it runs
        desks for (None when it serves none)."""
        return self if self.kind == OrganisationKind.CITY else self.city

    def clean(self) -> None:
        super().clean()
        if self.municipality_code and self.kind != OrganisationKind.CITY:
            raise ValidationError(
                {
                    "municipality_code": _(
                        "Only a city carries a municipality code; a contractor's officials "
                        "follow the city it serves."
                    )
                }
            )


class User(AbstractUser):
    """Staff member. Residents are never users: they are card holders (identity app)."""

    display_name = models.CharField(
        _("display name"), max_length=100, blank=True, validators=[plain_name]
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("organisation"),
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")

    def __str__(self) -> str:
        return self.display_name or self.username

    def has_role(self, role: Role) -> bool:
        cached = self.__dict__.get("_roles_cache")  # accounts.selectors.load_roles_and_permissions
        if cached is not None:
            return role.value in cached
        return self.groups.filter(name=role.value).exists()

    @property
    def roles(self) -> set[str]:
        cached = self.__dict__.get("_roles_cache")  # accounts.selectors.load_roles_and_permissions
        if cached is not None:
            return set(cached)
        return set(self.groups.values_list("name", flat=True))

    @property
    def requires_totp(self) -> bool:
        """City officials, operators and anyone who may see the admin sign in with TOTP."""
        if self.is_staff or self.is_superuser:
            return True
        return bool(self.roles & {r.value for r in ROLES_REQUIRING_TOTP})
