"""Card holders, trust anchors, revocation lists and single-use challenges.

A resident is a *holder* known only by the user authentication certificates their card
presented (issuer + serial, fingerprint). Nothing else the card holds is stored here.
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .constants import NoncePurpose


class TrustAnchor(models.Model):
    """A CA certificate that may issue user authentication certificates (J-LIS, or the test CA)."""

    name = models.CharField(_("name"), max_length=200)
    subject_dn = models.CharField(_("subject"), max_length=500)
    fingerprint = models.CharField(_("SHA-256 fingerprint"), max_length=64, unique=True)
    certificate_pem = models.TextField(_("certificate (PEM)"))
    not_after = models.DateTimeField(_("valid until"))
    is_active = models.BooleanField(_("active"), default=True)
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)

    class Meta:
        verbose_name = _("trust anchor")
        verbose_name_plural = _("trust anchors")

    def __str__(self) -> str:
        return self.name


class RevocationList(models.Model):
    """An imported CRL. The newest usable one per issuer is what validation consults."""

    issuer_dn = models.CharField(_("issuer"), max_length=500)
    der = models.BinaryField(_("CRL (DER)"))
    this_update = models.DateTimeField(_("this update"))
    next_update = models.DateTimeField(_("next update"), null=True)
    entries = models.PositiveIntegerField(_("revoked certificates"))
    source = models.CharField(_("source"), max_length=500, blank=True)
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("revocation list")
        verbose_name_plural = _("revocation lists")
        ordering = ["-this_update"]

    def __str__(self) -> str:
        return f"{self.issuer_dn} @ {timezone.localtime(self.this_update):%Y-%m-%d %H:%M}"


class Holder(models.Model):
    """A resident, as identified by their card's authentication certificate(s)."""

    public_id = models.UUIDField(_("reference"), default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        verbose_name = _("card holder")
        verbose_name_plural = _("card holders")

    def __str__(self) -> str:
        return str(self.public_id)[:8]


class HolderRecord(models.Model):
    """A card's basic four (input-support EF0002), known by a keyed hash of the SHA-256 its
    EF0003 records, bound to the holder whose authenticated card it was first verified with.

    Nothing on the card binds the input-support record to the JPKI authentication certificate
    (docs/security.md, round 9), so the server binds them itself: a record bound to one holder
    is refused in another holder's visit (`desk.services.cards.visit_basic_four`). Only the
    keyed hash is kept, never an attribute and nothing derived from the individual number."""

    digest = models.CharField(_("keyed hash of the record"), max_length=64, unique=True)
    holder = models.ForeignKey(Holder, on_delete=models.PROTECT, related_name="records")
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        verbose_name = _("card record binding")
        verbose_name_plural = _("card record bindings")

    def __str__(self) -> str:
        return self.digest[:16]


class HolderCertificate(models.Model):
    """One user authentication certificate of a holder (renewal adds another)."""

    holder = models.ForeignKey(Holder, on_delete=models.PROTECT, related_name="certificates")
    issuer_dn = models.CharField(_("issuer"), max_length=500)
    serial = models.CharField(_("serial number"), max_length=64)
    fingerprint = models.CharField(_("SHA-256 fingerprint"), max_length=64, unique=True)
    subject_cn = models.CharField(_("subject CN"), max_length=200, blank=True)
    not_after = models.DateTimeField(_("valid until"))
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)

    class Meta:
        verbose_name = _("holder certificate")
        verbose_name_plural = _("holder certificates")
        constraints = [
            models.UniqueConstraint(
                fields=["issuer_dn", "serial"], name="certificate_issuer_serial"
            )
        ]

    def __str__(self) -> str:
        return self.fingerprint[:16]


class Nonce(models.Model):
    """A single-use challenge, bound to the desk session and terminal that asked for it."""

    value = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(max_length=20, choices=NoncePurpose.choices)
    desk_session = models.ForeignKey(
        "terminals.DeskSession", on_delete=models.PROTECT, related_name="nonces"
    )
    terminal = models.ForeignKey("terminals.Terminal", on_delete=models.PROTECT, related_name="+")
    # For completion challenges: the visit and the digest of the transaction it was issued for.
    visit_id = models.BigIntegerField(null=True, blank=True)
    transaction_digest = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("challenge")
        verbose_name_plural = _("challenges")

    def __str__(self) -> str:
        return f"{self.purpose} {timezone.localtime(self.issued_at):%H:%M:%S}"
