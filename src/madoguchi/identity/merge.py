"""Merging the holder a renewed certificate became at first sight into the holder it renews.

A reissued card (or a renewed user authentication certificate) used at a desk before the
operator ran `madoguchi identity link-renewal` becomes a holder of its own at first sight (every
unknown certificate does). `identity.services.certificate_renewal_link` then merges that
*interim* holder into the old certificate's holder, but only when the interim holder holds
nothing a resident signed or was linked to: its visits (none with a signed completion), its
resident page sessions, its card record bindings and its certificates move; anything else that
refers to it (a payment link, a grant, a ledger account, a case, a notice, a completion signed
with its certificate, and any model added later with a foreign key to a holder) refuses the
merge, naming what it holds, for a case to decide.

The relations are read from the models' metadata, not imported: identity sits below the apps
that refer to holders (docs/adr/1002), and a new reference is refused until it is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError
from django.utils import translation

from .models import Holder, HolderCertificate

# References to a holder that follow the certificate to the old holder (app.Model.field).
MOVED_WITH_HOLDER = frozenset(
    {
        "desk.Visit.holder",
        "residents.ResidentSession.holder",
        "identity.HolderRecord.holder",
        "identity.HolderCertificate.holder",
    }
)
# References to one of its certificates that stay valid when the certificate moves: a visit
# started with it, a legal representative's authentication. A signed completion is not here.
KEPT_WITH_CERTIFICATE = frozenset(
    {
        "desk.Visit.certificate",
        "desk.Visit.companion_certificate",
        "benefits.VisitRepresentative.certificate",
    }
)


@dataclass
class Holdings:
    """What an interim holder holds that a merge would carry without a resident's say."""

    counts: dict[str, int] = field(default_factory=dict)  # "app.Model.field" -> rows
    names_en: list[str] = field(default_factory=list)
    names_ja: list[str] = field(default_factory=list)

    def add(self, rel: models.ForeignObjectRel, count: int) -> None:
        model = rel.related_model
        label = _label(rel)
        self.counts[label] = self.counts.get(label, 0) + count
        for lang, out, form in (
            ("en", self.names_en, "{name} ({count})"),
            ("ja", self.names_ja, "{name}（{count}件）"),
        ):
            with translation.override(lang):
                name = str(model._meta.verbose_name_plural)  # type: ignore[union-attr]
            out.append(form.format(name=name, count=count))

    def __bool__(self) -> bool:
        return bool(self.counts)


def _label(rel: models.ForeignObjectRel) -> str:
    meta = rel.related_model._meta  # type: ignore[union-attr]
    return f"{meta.app_label}.{meta.object_name}.{rel.field.name}"


def _references(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    return [
        f
        for f in model._meta.get_fields(include_hidden=True)
        if isinstance(f, models.ForeignObjectRel) and f.related_model is not None
    ]


def _rows(rel: models.ForeignObjectRel, targets: models.QuerySet[models.Model]) -> int:
    manager = rel.related_model._default_manager  # type: ignore[union-attr]
    return int(manager.filter(**{f"{rel.field.name}__in": targets}).count())


def holdings(interim: Holder) -> Holdings:
    """Everything referring to `interim` (or to its certificates) that a merge must not move."""
    out = Holdings()
    holder = Holder.objects.filter(pk=interim.pk)
    for rel in _references(Holder):
        if _label(rel) not in MOVED_WITH_HOLDER and (count := _rows(rel, holder)):
            out.add(rel, count)
    certificates = HolderCertificate.objects.filter(holder=interim)
    for rel in _references(HolderCertificate):
        if _label(rel) not in KEPT_WITH_CERTIFICATE and (count := _rows(rel, certificates)):
            out.add(rel, count)
    return out


def open_visits(interim: Holder) -> int:
    rel = next(r for r in _references(Holder) if _label(r) == "desk.Visit.holder")
    manager = rel.related_model._default_manager  # type: ignore[union-attr]
    return int(manager.filter(holder=interim, ended_at__isnull=True).count())


def move(interim: Holder, into: Holder) -> dict[str, int | bool]:
    """Move every reference `MOVED_WITH_HOLDER` lists from `interim` to `into`, then delete
    `interim` if nothing refers to it any more. Call inside the caller's transaction, after
    `holdings` found nothing; returns how many rows of each kind moved."""
    moved: dict[str, int | bool] = {}
    for rel in _references(Holder):
        label = _label(rel)
        if label not in MOVED_WITH_HOLDER:
            continue
        manager = rel.related_model._default_manager  # type: ignore[union-attr]
        moved[label] = int(
            manager.filter(**{rel.field.name: interim}).update(**{rel.field.name: into})
        )
    # PROTECT says whether anything still refers to it; if so it stays, empty of what moved.
    try:
        with transaction.atomic():
            interim.delete()
        moved["interim_deleted"] = True
    except (ProtectedError, IntegrityError):
        moved["interim_deleted"] = False
    return moved
