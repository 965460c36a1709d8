"""`check --deploy`: every trusted CA is J-LIS's user-authentication CA, with a fresh CRL, and
a card whose revocation cannot be told is refused.

A trust anchor is whom the desk believes about a card: every card a trusted CA issued is taken
as a resident's My Number card. `identity add-anchor` trusts any CA certificate it is given,
so the demo's test CA (O=JPKI-TEST, whose virtual cards anyone makes with `madoguchi vcard
issue`) or any other, added by mistake, let made-up cards sign completions on a deployment with
nothing said. The demo (`MADOGUCHI_DEMO`) trusts its test CA on purpose and is not asked.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.db import DatabaseError
from django.utils import timezone

from .models import RevocationList, TrustAnchor
from .tokens.anchors import JLIS_AUTH_CA_SUBJECT


def is_jlis_auth_ca(anchor: TrustAnchor) -> bool:
    """Whether the anchor's certificate is under J-LIS's user-authentication CA's name."""
    return _subject(anchor.certificate_pem) == JLIS_AUTH_CA_SUBJECT


def _subject(pem: str) -> x509.Name:
    return x509.load_pem_x509_certificate(pem.encode()).subject


@register(deploy=True)
def trust_anchors_are_jlis(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEMO:
        return []
    try:
        anchors = list(
            TrustAnchor.objects.filter(is_active=True)
            .order_by("name")
            .values_list("name", "fingerprint", "certificate_pem")
        )
    except DatabaseError:
        return []  # the checklist's check already says the database cannot be read
    found: list[CheckMessage] = []
    for name, fingerprint, pem in anchors:
        subject = _subject(pem)
        if subject == JLIS_AUTH_CA_SUBJECT:
            continue
        dn = subject.rfc4514_string()
        named = dn if name == dn else f"{name!r} ({dn})"  # added without --name: its subject
        found.append(
            Error(
                f"The trust anchor {named} is not J-LIS's "
                "user-authentication CA: every card it issued would be taken as a resident's "
                "My Number card and could sign completions.",
                hint=f"Stop trusting it: madoguchi identity deactivate-anchor {fingerprint[:16]} "
                "(audited). Trust only J-LIS's CA certificates (docs/tokens.md, \"Production "
                'trust anchors").',
                id="madoguchi.E105",
            )
        )
    return found


@register(deploy=True)
def trust_anchors_have_fresh_crls(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A trusted CA with no fresh CRL: every card it issued is refused at the desk
    (`revocation_unknown`, fail closed), which the server's start and the README's checks said
    nothing of until the first resident's card."""
    if settings.DEMO or not settings.IDENTITY_REJECT_UNKNOWN_REVOCATION:
        return []
    try:
        anchors = list(
            TrustAnchor.objects.filter(is_active=True)
            .order_by("name")
            .values_list("name", "subject_dn")
        )
        fresh = set(
            RevocationList.objects.filter(next_update__gt=timezone.now()).values_list(
                "issuer_dn", flat=True
            )
        )
    except DatabaseError:
        return []
    return [
        Warning(
            f"The trust anchor {name if name == dn else f'{name!r} ({dn})'} has no fresh "
            "revocation list: every card it issued is refused at the desk (revocation "
            "unknown) until one is imported.",
            hint="Import its CRL and keep it fresh: madoguchi identity import-crl FILE-OR-URL "
            "(--every SECONDS for a scheduled refresh; docs/tokens.md).",
            id="madoguchi.W108",
        )
        for name, dn in anchors
        if dn not in fresh
    ]


@register(deploy=True)
def unknown_revocation_refused(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """`IDENTITY_REJECT_UNKNOWN_REVOCATION` off lets a card through when no fresh CRL can say
    whether it was revoked: a lost or stolen card, revoked by its holder, signs completions
    while the CRL import is late, and nothing said so."""
    if settings.DEMO or settings.IDENTITY_REJECT_UNKNOWN_REVOCATION:
        return []
    return [
        Warning(
            "IDENTITY_REJECT_UNKNOWN_REVOCATION is off: a card is accepted when no fresh "
            "revocation list can say whether it was revoked, so a lost or stolen card its "
            "holder had revoked signs completions while the CRL import is late.",
            hint="Leave it on (the default) and keep the CRLs fresh: madoguchi identity "
            "import-crl --every SECONDS (docs/tokens.md).",
            id="madoguchi.W111",
        )
    ]
