"""Programmes and their versions (terms are versioned, never edited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.refusals import ByLanguage

from ..constants import (
    CategoryKind,
    Trigger,
)
from ..events import (
    BENEFITS_PROGRAMME_VERSION_CREATED,
)
from ..models import (
    Programme,
    ProgrammeVersion,
)
from .base import BenefitsRefused

# --- programmes ------------------------------------------------------------------------------


def validate_categories(categories: Any) -> list[ByLanguage]:
    """Problems with a version's categories (empty list if none), each in Japanese and
    English: the admin shows them in its language, a refusal in each of its own."""
    problems: list[ByLanguage] = []
    if not isinstance(categories, list) or not categories:
        return [
            ByLanguage(
                "区分（categories）は1件以上のリストにしてください",
                "categories must be a non-empty list",
            )
        ]
    codes = set()
    for c in categories:
        if not isinstance(c, dict) or not c.get("code") or not c.get("label_ja"):
            problems.append(
                ByLanguage(
                    "各区分には code と label_ja が必要です",
                    "each category needs a code and a label_ja",
                )
            )
            continue
        code = c["code"]
        if code in codes:
            problems.append(
                ByLanguage(f"区分 {code} が2回あります", f"category {code} appears twice")
            )
        codes.add(code)
        if c.get("trigger") not in Trigger.values:
            trigger = c.get("trigger")
            problems.append(
                ByLanguage(
                    f"区分 {code}：trigger {trigger!r} は不明です",
                    f"category {code}: unknown trigger {trigger!r}",
                )
            )
        if c.get("kind") == CategoryKind.FIXED:
            if not isinstance(c.get("points"), int) or c["points"] <= 0:
                problems.append(
                    ByLanguage(
                        f"区分 {code}：points は正の整数にしてください",
                        f"category {code}: points must be a positive integer",
                    )
                )
        elif c.get("kind") == CategoryKind.RATE:
            if (
                not isinstance(c.get("rate_percent"), int | float)
                or not 0 < c["rate_percent"] <= 100
            ):
                problems.append(
                    ByLanguage(
                        f"区分 {code}：rate_percent は 0 より大きく 100 以下にしてください",
                        f"category {code}: rate_percent must be in (0, 100]",
                    )
                )
            if not isinstance(c.get("cap"), int) or c["cap"] <= 0:
                problems.append(
                    ByLanguage(
                        f"区分 {code}：cap は正の整数にしてください",
                        f"category {code}: cap must be a positive integer",
                    )
                )
        else:
            problems.append(
                ByLanguage(
                    f"区分 {code}：kind は fixed か rate にしてください",
                    f"category {code}: kind must be fixed or rate",
                )
            )
    return problems


def problems_text(problems: list[ByLanguage]) -> ByLanguage:
    """The problems as one value, joined in each language."""
    return ByLanguage("、".join(p.ja for p in problems), "; ".join(p.en for p in problems))


def programme_version_create(
    programme: Programme,
    *,
    name_ja: str,
    opens_at: datetime,
    closes_at: datetime,
    categories: list[dict[str, Any]],
    name_en: str = "",
    note: str = "",
    actor: Any = None,
) -> ProgrammeVersion:
    """A new version of a programme's terms (versions are never edited)."""
    problems = validate_categories(categories)
    if closes_at <= opens_at:
        problems.append(
            ByLanguage(
                "受付終了は受付開始より後にしてください",
                "applications must close after they open",
            )
        )
    if problems:
        raise BenefitsRefused(
            "programme_invalid",
            _("The programme's settings are not valid: %(problems)s"),
            params={"problems": problems_text(problems)},
            status=400,
        )
    with transaction.atomic():
        locked = Programme.objects.select_for_update().get(pk=programme.pk)
        last = locked.versions.order_by("-number").first()
        version = ProgrammeVersion.objects.create(
            programme=locked,
            number=(last.number + 1) if last else 1,
            name_ja=name_ja,
            name_en=name_en,
            opens_at=opens_at,
            closes_at=closes_at,
            categories=categories,
            note=note,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit.record(
            BENEFITS_PROGRAMME_VERSION_CREATED,
            actor=actor,
            subject=version,
            payload={"programme": programme.code, "version": version.number},
        )
    return version


def category_points_text(category: dict[str, Any]) -> str:
    if category["kind"] == CategoryKind.RATE:
        return f"{category['label_ja']}: 決済額の{category['rate_percent']}%（上限{category['cap']:,}ポイント）"
    return f"{category['label_ja']}: {category['points']:,}ポイント"
