"""Versioned desk checklists and the ticks recorded against them.

A template version is frozen once any tick refers to it: a change is a new version, so a record
made under an old version keeps meaning what it meant. Ticks are appended, never edited; the
latest row per item is its state (a tick can be withdrawn by appending an unticked row).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from madoguchi.language import english

from .constants import Stage


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
    """One tick (or withdrawal) of one item in one visit, by whom and when. Append-only."""

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
        related_name="+",
        verbose_name=_("staff member"),
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    # What the staff member saw, kept with the record (the item is frozen too; belt and braces).
    label_ja = models.CharField(max_length=200, verbose_name=_("item as shown (Japanese)"))
    template_version = models.PositiveIntegerField(verbose_name=_("checklist version"))

    class Meta:
        verbose_name = _("checklist tick")
        verbose_name_plural = _("checklist ticks")
        ordering = ["pk"]

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
    def label(self) -> str:
        """The item in the reader's language: in Japanese as the staff member saw it, in English
        the frozen item's English label (the same version's item, so the same words)."""
        if english():
            return self.item.label_en
        return self.label_ja
