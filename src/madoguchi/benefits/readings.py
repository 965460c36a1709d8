"""Where a resident's kana name comes from.

A certified reading (氏名の振り仮名, certified since 26 May 2025) is used when an adapter is
configured (`BENEFITS_CERTIFIED_READING = "package.module:factory"`); otherwise the resident
types it and confirms it on screen. A reading guessed from kanji is never used.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from madoguchi.identity.models import HolderCertificate


class CertifiedReadings(Protocol):
    def reading_for(self, certificate: HolderCertificate) -> str | None:
        """The certified kana reading of the certificate holder's name, or None if unknown."""
        ...


class SimulatedCertifiedReadings:
    """Readings by certificate fingerprint, from `BENEFITS_SIM_CERTIFIED_READINGS` (a dict)."""

    def __init__(self, readings: dict[str, str] | None = None) -> None:
        self.readings = dict(
            readings
            if readings is not None
            else getattr(settings, "BENEFITS_SIM_CERTIFIED_READINGS", {})
        )

    def reading_for(self, certificate: HolderCertificate) -> str | None:
        return self.readings.get(certificate.fingerprint)


def certified_readings() -> CertifiedReadings | None:
    path = getattr(settings, "BENEFITS_CERTIFIED_READING", "")
    if not path:
        return None
    factory = import_string(path.replace(":", "."))
    adapter: CertifiedReadings = factory()
    return adapter
