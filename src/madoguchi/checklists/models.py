"""Versioned desk checklists and the ticks recorded against them.

A template version is frozen once any tick refers to it: a change is a new version, so a record
made under an old version keeps meaning what it meant. Ticks are appended, never edited; the
latest row per item in the visit's current completion round is its state (a tick can be
withdrawn by appending an unticked row; a completion starts a new round, so the next completion
in the same visit needs ticks of its own).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.language import english

from .constants import Stage, Withdrawal


class ChecklistTemplate(models.Model):
    name = models.CharField(_("name"), max_length=60, default="desk")
    version = models.PositiveIntegerField(_("version"))
    is_active = models.BooleanField(
        _("active"), default=False, help_text=_("The version new visits use (one per name).")
    )
    note = models.CharField(_("what changed"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="checklist_name_version"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(is_active=True), name="one_active_checklist_per_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    @property
    def is_frozen(self) -> bool:
        """Used by a recorded tick: its items can no longer change."""
        return ChecklistTick.objects.filter(item__template=self).exists()


class ChecklistItem(models.Model):
    template = models.ForeignKey(
        ChecklistTemplate,
        on_delete=models.PROTECT,
        related_name="items",
        verbose_name=_("checklist version"),
    )
    code = models.SlugField(_("code"), max_length=40)
    label_ja = models.CharField(_("label (Japanese)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    required = models.BooleanField(_("required"), default=True)
    procedures = models.JSONField(
        _("procedures"),
        default=list,
        blank=True,
        help_text=_("Procedure kinds this item applies to; empty: every visit."),
    )
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["template", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="checklist_item_code"),
        ]

    def __str__(self) -> str:
        return self.label

    def save(self, *args: object, **kwargs: object) -> None:
        if self.template_id and self.template.is_frozen:
            raise ValidationError(
                _("This checklist version is in use; create a new version to change it.")
            )
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        return self.label_en if english() else self.label_ja

    def applies_to(self, kinds: set[str]) -> bool:
        return not self.procedures or bool(kinds & set(self.procedures))

    def clean(self) -> None:
        if not isinstance(self.procedures, list) or not all(
            isinstance(k, str) for k in self.procedures
        ):
            raise ValidationError(
                {"procedures": _('A list of procedure kinds, e.g. ["test_link"].')}
            )


class ChecklistTick(models.Model):
    """One tick (or withdrawal) of one item in one visit, by whom and when. Append-only.

    `completion_round`: how many completions the visit had committed when the row was
    appended. A before-completion row is for the next completion, an after-completion row for
    the one just made; only the rows of the visit's current round (its number of completions)
    count. `staff` empty and `reason` set: the system withdrew the tick (`Withdrawal`)."""

    visit = models.ForeignKey(
        "desk.Visit",
        on_delete=models.PROTECT,
        related_name="checklist_ticks",
        verbose_name=_("visit"),
    )
    item = models.ForeignKey(
        ChecklistItem,
        on_delete=models.PROTECT,
        related_name="ticks",
        verbose_name=_("checklist item"),
    )
    ticked = models.BooleanField(_("ticked"), default=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
        help_text=_("Empty: the system withdrew the tick (see why)."),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    completion_round = models.PositiveIntegerField(
        _("completion round"),
        default=0,
        help_text=_(
            "Completions the visit had committed when this was recorded: before-completion "
            "items are for the next completion, after-completion items for the one just made."
        ),
    )
    reason = models.CharField(
        _("withdrawn because"), max_length=30, choices=Withdrawal.choices, blank=True
    )
    # What the staff member saw, kept with the record (the item is frozen too; belt and braces).
    label_ja = models.CharField(max_length=200, verbose_name=_("item as shown (Japanese)"))
    template_version = models.PositiveIntegerField(verbose_name=_("checklist version"))

    class Meta:
        verbose_name = _("checklist tick")
        verbose_name_plural = _("checklist ticks")
        ordering = ["pk"]
        constraints = [
            # A staff member's tick or withdrawal, or the system's withdrawal saying why.
            models.CheckConstraint(
                condition=Q(staff__isnull=False, reason="")
                | (Q(staff__isnull=True, ticked=False) & ~Q(reason="")),
                name="checklist_tick_by_staff_or_withdrawn_by_system",
            ),
        ]

    def __str__(self) -> str:
        # The item in the page's words (the admin's title of a tick read its code).
        return f"{self.item.label} {'✓' if self.ticked else '✗'}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValidationError("checklist ticks are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise ValidationError("checklist ticks are append-only")

    @property
    def by_system(self) -> bool:
        return self.staff_id is None

    @property
    def label(self) -> str:
        """The item in the reader's language: in Japanese as the staff member saw it, in English
        the frozen item's English label (the same version's item, so the same words)."""
        if english():
            return self.item.label_en
        return self.label_ja
