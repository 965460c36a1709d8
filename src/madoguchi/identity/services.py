"""Trust anchors, revocation lists, challenges and card token checks.

Challenges (nonces) are consumed *before* a token is examined, in their own transaction, so a
nonce is spent by any attempt, successful or not, and two racing attempts cannot both use it.

Over 400 lines on purpose: the trust anchors and CRLs are parsed and cached here for the token
validator built from them, and the checks that use the validator sit beside that cache.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.plaintext import fingerprint_hex
from madoguchi.prepared import Prepared, insert, raw
from madoguchi.refusals import ByLanguage, Refusal, Text
from madoguchi.terminals.models import DeskSession

from . import merge
from .constants import NoncePurpose
from .events import (
    CERTIFICATE_RENEWAL_LINKED,
    CRL_IMPORTED,
    NONCE_ISSUED,
    RENEWAL_REFUSED,
    TOKEN_REJECTED,
    TRUST_ANCHOR_ADDED,
    TRUST_ANCHOR_DEACTIVATED,
    TRUST_ANCHOR_RENAMED,
)
from .models import Holder, HolderCertificate, Nonce, RevocationList, TrustAnchor
from .tokens import (
    MESSAGES_EN,
    MESSAGES_JA,
    CRLRevocationChecker,
    NonceRecord,
    TokenValidationError,
    TokenValidator,
    ValidatedToken,
    generate_nonce,
)


class IdentityRefused(Refusal):
    """A refused card operation: the server's own bookkeeping, or the token library's reason.

    The token library (`identity.tokens`, no Django) keeps its own Japanese and English
    sentences; they are carried as a `ByLanguage` parameter.
    """

    code = "token_refused"
    message = _("The card token was refused.")
    status = 403
    # Refusals that belong to the server's own bookkeeping rather than to the token.
    messages: ClassVar[Mapping[str, tuple[Text, int]]] = {
        "nonce_unknown": (_("The challenge was never issued by this server."), 403),
        "nonce_other_session": (
            _("The challenge was issued to another terminal or desk session."),
            403,
        ),
        "nonce_wrong_purpose": (_("The challenge was issued for another purpose."), 403),
        "no_trust_anchor": (_("No trust anchor is configured."), 403),
        "crl_invalid": (_("The CRL cannot be parsed or is not signed by a trust anchor."), 403),
        "certificate_unknown": (_("No holder has this certificate."), 403),
        "fingerprint_malformed": (
            _(
                "This is not a certificate's SHA-256 fingerprint (64 hexadecimal digits, with or "
                "without colons); nothing was linked."
            ),
            400,
        ),
        "anchor_invalid": (_("Not a CA certificate."), 403),
        "anchor_unreadable": (_("No certificate can be read from the file (PEM expected)."), 400),
        "anchor_unknown": (_("No such trust anchor; nothing was changed."), 404),
        "renewal_unreadable": (_("The renewed certificate cannot be read (PEM expected)."), 400),
        "renewal_conflict": (
            _(
                "The renewed certificate already belongs to another holder, who has other "
                "certificates too; nothing was linked."
            ),
            409,
        ),
        "renewal_holder_holds": (
            _(
                "The renewed certificate became holder %(holder)s when the card was first used "
                "at a desk, and that holder holds what a resident signed or was linked to: "
                "%(holds)s. It is not merged into the old certificate's holder by this command; "
                "open a case for the city to decide whose these are. Nothing was linked."
            ),
            409,
        ),
        "renewal_visit_open": (
            _(
                "The renewed certificate's card is in an open visit at a desk; link it once that "
                "visit has ended. Nothing was linked."
            ),
            409,
        ),
    }

    def __init__(self, code: str, detail: str = "", **params: object) -> None:
        if code in self.messages:
            message, status = self.messages[code]
            super().__init__(code, message, status=status, detail=detail, params=params)
            return
        ja = MESSAGES_JA.get(code)  # type: ignore[call-overload]
        en = MESSAGES_EN.get(code)  # type: ignore[call-overload]
        if ja is None or en is None:
            super().__init__(code, detail=detail)
            return
        super().__init__(
            code, "%(reason)s", detail=detail, params={"reason": ByLanguage(str(ja), str(en))}
        )


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


# --- configuration: trust anchors and CRLs --------------------------------------------------


def _run_by(os_user: str) -> dict[str, str]:
    """The payload's `os_user` for a change a shell command makes (none from code)."""
    return {"os_user": os_user} if os_user else {}


def trust_anchor_add(*, pem: bytes, name: str = "", os_user: str = "") -> TrustAnchor:
    """Add (or re-activate) each CA certificate in a PEM bundle; returns the last one.
    `os_user`: the OS user who ran the shell command, named in its audit events."""
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise IdentityRefused(
            "anchor_unreadable",
            "the file holds no certificate, no '-----BEGIN CERTIFICATE-----' line; the shipped "
            "J-LIS bundle stays empty until J-LIS's certificates are added to it: "
            'docs/tokens.md, "Updating the bundle"',
        )
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        # cryptography's words end in a link to its FAQ and a Rust error's name.
        raise IdentityRefused(
            "anchor_unreadable", "a certificate in it is not a valid PEM block"
        ) from exc
    anchor = None
    added = []
    renamed: list[tuple[TrustAnchor, str, str]] = []
    with transaction.atomic():
        for cert in certs:
            bc = _basic_constraints(cert)
            if bc is None or not bc.ca:
                raise IdentityRefused("anchor_invalid", "basicConstraints CA is not set")
            fp = fingerprint(cert)
            known = TrustAnchor.objects.select_for_update().filter(fingerprint=fp).first()
            was_inactive = known is not None and not known.is_active
            # A CA trusted again keeps its name unless another is given (a re-add renamed it to
            # its subject, silently); a new name is audited.
            kept = known.name if known is not None else ""
            new_name = name or kept or cert.subject.rfc4514_string()
            if known is not None and new_name != kept:
                renamed.append((known, kept, new_name))
            anchor, created = TrustAnchor.objects.update_or_create(
                fingerprint=fp,
                defaults={
                    "name": new_name,
                    "subject_dn": cert.subject.rfc4514_string(),
                    "certificate_pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
                    "not_after": cert.not_valid_after_utc,
                    "is_active": True,
                },
            )
            if created or was_inactive:  # a deactivated anchor trusted again is audited too
                added.append((anchor, was_inactive))
        # Row locks first (update_or_create locks each known anchor), audit events last.
        for row, reactivated in added:
            audit.record(
                TRUST_ANCHOR_ADDED,
                actor=None,
                terminal=None,
                subject=row,
                payload={
                    "subject_dn": row.subject_dn,
                    "fingerprint": row.fingerprint,
                    **({"reactivated": True} if reactivated else {}),
                    **_run_by(os_user),
                },
            )
        for row, old_name, new_name in renamed:
            audit.record(
                TRUST_ANCHOR_RENAMED,
                actor=None,
                terminal=None,
                subject=row,
                payload={
                    "subject_dn": row.subject_dn,
                    "fingerprint": row.fingerprint,
                    "old_name": old_name,
                    "name": new_name,
                    **_run_by(os_user),
                },
            )
    if anchor is None:
        raise IdentityRefused("anchor_unreadable", "no certificate in the file")
    return anchor


def trust_anchor_deactivate(*, fingerprint_prefix: str, os_user: str = "") -> TrustAnchor:
    """Stop trusting the active anchor whose SHA-256 fingerprint starts with
    `fingerprint_prefix` (at least 16 hex digits, as `identity anchors` lists it, or with
    openssl's colons): no card it
    issued authenticates from the next validation on, in every process. Audited. The row stays
    (completions signed under it are still verified by the scan's export against it)."""
    # As `identity anchors` lists it, or as openssl prints it (AB:CD:…, upper case).
    prefix = "".join(fingerprint_prefix.split()).replace(":", "").lower()
    if len(prefix) < 16 or any(c not in "0123456789abcdef" for c in prefix):
        raise IdentityRefused(
            "anchor_unknown",
            "give the anchor's fingerprint, at least its first 16 hex digits as `madoguchi "
            "identity anchors` lists them",
        )
    with transaction.atomic():
        matches = list(
            TrustAnchor.objects.select_for_update().filter(
                fingerprint__startswith=prefix, is_active=True
            )[:2]
        )
        if not matches:
            raise IdentityRefused(
                "anchor_unknown", f"no active trust anchor's fingerprint starts with {prefix}"
            )
        if len(matches) > 1:
            raise IdentityRefused(
                "anchor_unknown", f"more than one trust anchor's fingerprint starts with {prefix}"
            )
        anchor = matches[0]
        anchor.is_active = False
        anchor.save(update_fields=["is_active"])
        audit.record(
            TRUST_ANCHOR_DEACTIVATED,
            actor=None,
            terminal=None,
            subject=anchor,
            payload={
                "subject_dn": anchor.subject_dn,
                "fingerprint": anchor.fingerprint,
                **_run_by(os_user),
            },
        )
    return anchor


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


# Parsed certificates and CRLs, per process (issue 15: every token validation parsed every
# anchor and CRL again; a production J-LIS CRL is megabytes). Keys name immutable content: an
# anchor's fingerprint; a CRL row's id with its import time (rows are never changed, and an id
# reused after a rollback comes with another import time), with the anchor that signed it.
_PARSED_ANCHORS: dict[str, x509.Certificate] = {}
_PARSED_CRLS: dict[tuple[int, datetime], x509.CertificateRevocationList] = {}
_CRL_SIGNED_BY: dict[tuple[int, datetime, bytes], bool] = {}
_CACHE_LIMIT = 256


def _remember(cache: dict, key: object, value: object) -> None:  # type: ignore[type-arg]
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _anchor_certificates(fingerprints: list[str] | None = None) -> list[x509.Certificate]:
    """The active anchors (or, given `fingerprints`, those anchors), parsed."""
    rows = (
        TrustAnchor.objects.filter(is_active=True)
        if fingerprints is None
        else TrustAnchor.objects.filter(fingerprint__in=fingerprints)
    )
    certificates = []
    for fingerprint, pem in rows.order_by("pk").values_list("fingerprint", "certificate_pem"):
        certificate = _PARSED_ANCHORS.get(fingerprint)
        if certificate is None:
            certificate = x509.load_pem_x509_certificate(pem.encode())
            _remember(_PARSED_ANCHORS, fingerprint, certificate)
        certificates.append(certificate)
    return certificates


def crl_import(*, data: bytes, source: str = "", os_user: str = "") -> RevocationList:
    """Store a CRL (PEM or DER) after checking that a trust anchor signed it."""
    try:
        crl = (
            x509.load_pem_x509_crl(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_crl(data)
        )
    except ValueError as exc:
        # The parser's own words name Rust's ASN.1 errors (ParseError { kind: ShortData … }).
        pem = data.lstrip().startswith(b"-----")
        raise IdentityRefused(
            "crl_invalid",
            "the PEM block holds no CRL that can be read"
            if pem
            else "the data is neither a PEM CRL (-----BEGIN X509 CRL-----) nor a DER one",
        ) from exc
    issuers = [c for c in _anchor_certificates() if c.subject == crl.issuer]
    if not any(crl.is_signature_valid(c.public_key()) for c in issuers):  # type: ignore[arg-type]
        issuer = crl.issuer.rfc4514_string()
        raise IdentityRefused(
            "crl_invalid",
            f"its signature does not verify with the key of the trust anchor {issuer}"
            if issuers
            else f"it is issued by {issuer}, which is no trust anchor: add that CA's "
            "certificate first (madoguchi identity add-anchor)",
        )
    with transaction.atomic():
        row = RevocationList.objects.create(
            issuer_dn=crl.issuer.rfc4514_string(),
            der=crl.public_bytes(serialization.Encoding.DER),
            this_update=crl.last_update_utc,
            next_update=crl.next_update_utc,
            entries=len(crl),
            source=source[:500],
        )
        audit.record(
            CRL_IMPORTED,
            actor=None,
            terminal=None,
            subject=row,
            payload={
                "issuer": row.issuer_dn,
                "count": row.entries,
                "source": source[:200],
                **_run_by(os_user),
            },
        )
    return row


# The validator's inputs (anchors, their chosen CRLs) for one trust state: which anchors are
# active and which CRL rows are fresh. Reading that state is one small query; the anchors and
# CRLs themselves are read again only when it changes (issue 15: every token validation read
# them, in two to four statements). Exact, not timed: an added, disabled or expired anchor or
# CRL changes the state at once, in every process.
_TrustState = tuple[tuple[str, str, str], ...]
_TRUST_INPUTS: dict[
    _TrustState, tuple[list[x509.Certificate], list[x509.CertificateRevocationList]]
] = {}


_VALIDATORS: dict[tuple[_TrustState, bool], TokenValidator] = {}


def _trust_state(*, every_anchor: bool = False) -> _TrustState:
    """The anchors (the active ones, or `every_anchor` ever trusted) and the fresh CRLs."""
    anchors = connection.ops.quote_name(TrustAnchor._meta.db_table)
    crls = connection.ops.quote_name(RevocationList._meta.db_table)
    which = "" if every_anchor else " WHERE is_active"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 'a', fingerprint, NULL FROM {anchors}{which} "  # noqa: S608
            f"UNION ALL SELECT 'c', CAST(id AS VARCHAR(20)), imported_at FROM {crls} "
            "WHERE next_update > %s",
            [connection.ops.adapt_datetimefield_value(timezone.now())],
        )
        return tuple(sorted((str(a), str(b), str(c)) for a, b, c in cursor.fetchall()))


def build_validator(*, every_anchor: bool = False) -> TokenValidator:
    """The validator for the current configuration (trust anchors and their newest CRLs).

    `every_anchor`: every anchor ever trusted, deactivated ones too, for signatures checked as
    of when they were made (the scan's export re-verifies stored completions): a CA no longer
    trusted (a J-LIS generation retired, `identity deactivate-anchor`) signed them while it
    was."""
    state = _trust_state(every_anchor=every_anchor)
    inputs = _TRUST_INPUTS.get(state)
    if inputs is None:
        # Exactly the rows the state names, so that what is kept for a state is what it says.
        anchors = _anchor_certificates([b for a, b, _ in state if a == "a"])
        crl_ids = [int(b) for a, b, _ in state if a == "c"]
        inputs = (anchors, _newest_crls(anchors, crl_ids) if anchors else [])
        _remember(_TRUST_INPUTS, state, inputs)
    anchors, crls = inputs
    if not anchors:
        raise IdentityRefused("no_trust_anchor")
    # One validator per trust state and setting, kept: it remembers per certificate what does
    # not change under them (the parsed certificate, which anchor signed it, its CRL lookups),
    # so a visit's card is checked in full once (issue 15, seventh round).
    reject_unknown = bool(settings.IDENTITY_REJECT_UNKNOWN_REVOCATION)
    validator = _VALIDATORS.get((state, reject_unknown))
    if validator is None:
        validator = TokenValidator(
            trust_anchors=anchors,
            revocation_checker=CRLRevocationChecker(crls),
            reject_unknown_revocation=reject_unknown,
        )
        _remember(_VALIDATORS, (state, reject_unknown), validator)
    return validator


def _newest_crls(
    anchors: list[x509.Certificate], ids: list[int] | None = None
) -> list[x509.CertificateRevocationList]:
    """For each trust anchor, the newest fresh CRL that anchor signed.

    CA generations can share one name (a JPKI rollover keeps the DN), so a CRL belongs to the
    anchor whose key verifies it, not to a name. Rows are read newest first until every anchor
    has one, so with regular imports only the newest few are parsed."""
    chosen: dict[int, x509.CertificateRevocationList] = {}
    rows = (
        RevocationList.objects.filter(next_update__gt=timezone.now())
        if ids is None
        else RevocationList.objects.filter(pk__in=ids)  # the fresh rows of a trust state
    ).order_by("-this_update", "-pk")
    keys = [anchor.fingerprint(hashes.SHA256()) for anchor in anchors]
    for pk, imported_at in list(rows.values_list("pk", "imported_at")):
        crl = _PARSED_CRLS.get((pk, imported_at))
        if crl is None:
            der = RevocationList.objects.filter(pk=pk).values_list("der", flat=True).first()
            if der is None:
                continue
            crl = x509.load_der_x509_crl(bytes(der))
            _remember(_PARSED_CRLS, (pk, imported_at), crl)
        for i, anchor in enumerate(anchors):
            if i not in chosen and crl.issuer == anchor.subject:
                signed = _CRL_SIGNED_BY.get((pk, imported_at, keys[i]))
                if signed is None:
                    try:
                        signed = crl.is_signature_valid(anchor.public_key())  # type: ignore[arg-type]
                    except (TypeError, ValueError):
                        signed = False
                    _remember(_CRL_SIGNED_BY, (pk, imported_at, keys[i]), signed)
                if signed:
                    chosen[i] = crl
        if len(chosen) == len(anchors):
            break
    return list(chosen.values())


# --- challenges -----------------------------------------------------------------------------


def nonce_issue(
    *,
    purpose: NoncePurpose,
    desk_session: DeskSession,
    visit_id: int | None = None,
    transaction_digest: str = "",
) -> Nonce:
    now = timezone.now()
    with audit.inner_atomic():  # no savepoint inside a caller's transaction (issue 15)
        nonce = insert(
            Nonce(
                value=generate_nonce(),  # 256 bits, base64 (Web eID form)
                purpose=purpose,
                desk_session=desk_session,
                terminal=desk_session.terminal,
                visit_id=visit_id,
                transaction_digest=transaction_digest,
                issued_at=now,
                expires_at=now + timedelta(seconds=settings.NONCE_LIFETIME_SECONDS),
            )
        )
        audit.record(
            NONCE_ISSUED,
            actor=desk_session.staff,
            terminal=desk_session.terminal,
            subject=nonce,
            payload={"purpose": str(purpose), "visit": visit_id},
        )
    return nonce


# The shape of a challenge: base64 text (generate_nonce() issues 44 characters of it).
_NONCE_SHAPE = re.compile(r"[A-Za-z0-9+/=_-]{1,128}")


def nonce_shaped(value: str) -> bool:
    """Whether `value` can be a challenge this server issued (the desk's or the resident
    page's); anything else is unknown without a look-up (a NUL would fail in PostgreSQL)."""
    return bool(_NONCE_SHAPE.fullmatch(value))


@dataclass(frozen=True)
class SpentNonce:
    nonce: Nonce
    record: NonceRecord  # as it was before this attempt spent it


def nonce_spend(*, value: str, purpose: NoncePurpose, desk_session: DeskSession) -> SpentNonce:
    """Mark a challenge used and return its state before this attempt: committed at once
    outside a transaction; inside one (the desk's completion: its commit's own transaction), the
    challenge's row stays locked until that transaction ends, and a rollback leaves it unspent.

    Only the desk session and terminal that asked for it can spend it: another's attempt is
    refused (`nonce_other_session`) and spends nothing. It was marked used before that check,
    so a challenge posted from another desk was burnt, and its own desk's genuine completion
    was then refused as a replay (`nonce_used`), ending that visit with an incident against it."""
    if not nonce_shaped(value):
        # Not a challenge this server issued; never sent to the database, where a NUL
        # character would be an error (a 500) rather than an unknown value.
        raise IdentityRefused("nonce_unknown")
    now = timezone.now()
    # The common case in one statement (issue 15): an unused challenge of this desk session and
    # terminal is marked used and read back at once. No row: unknown, already used (then read
    # as it is, and refused later) or another session's (refused below, left unspent).
    table = connection.ops.quote_name(Nonce._meta.db_table)  # the model's, not user input
    spend = (
        f"UPDATE {table} SET used_at = %s WHERE value = %s AND used_at IS NULL"  # noqa: S608
        " AND desk_session_id = %s AND terminal_id = %s RETURNING *"
    )
    spent = raw(
        Nonce,
        spend,
        [
            connection.ops.adapt_datetimefield_value(now),
            value,
            desk_session.pk,
            desk_session.terminal_id,
        ],
    )
    if spent:
        nonce = spent[0]
        record = NonceRecord(
            value=nonce.value, issued_at=nonce.issued_at, expires_at=nonce.expires_at, used=False
        )
    else:
        found = Nonce.objects.filter(value=value).first()
        if found is None:
            raise IdentityRefused("nonce_unknown")
        nonce = found
        record = NonceRecord(
            value=nonce.value,
            issued_at=nonce.issued_at,
            expires_at=nonce.expires_at,
            used=nonce.used_at is not None,
        )
    if nonce.desk_session_id != desk_session.pk or nonce.terminal_id != desk_session.terminal_id:
        raise IdentityRefused("nonce_other_session")
    if nonce.purpose != purpose:
        raise IdentityRefused("nonce_wrong_purpose")
    return SpentNonce(nonce=nonce, record=record)


# --- tokens -----------------------------------------------------------------------------------


def _rejected(exc: IdentityRefused, desk_session: DeskSession, purpose: str) -> IdentityRefused:
    with transaction.atomic():
        audit.record(
            TOKEN_REJECTED,
            actor=desk_session.staff,
            terminal=desk_session.terminal,
            subject=desk_session,
            payload={"code": exc.code, "purpose": purpose, "detail": exc.detail[:300]},
        )
    return exc


def authenticate(*, token: str, nonce_value: str, desk_session: DeskSession) -> HolderCertificate:
    """Check an authentication token; return the holder certificate it proves (created if new)."""
    try:
        spent = nonce_spend(
            value=nonce_value, purpose=NoncePurpose.AUTHENTICATION, desk_session=desk_session
        )
        validated = build_validator().validate_authentication(
            token, origin=settings.MADOGUCHI_ORIGIN, nonce=spent.record, now=timezone.now()
        )
    except TokenValidationError as exc:
        raise _rejected(
            IdentityRefused(str(exc.code), exc.detail), desk_session, "authentication"
        ) from exc
    except IdentityRefused as exc:
        raise _rejected(exc, desk_session, "authentication") from exc
    return holder_certificate_for(validated)


def verify_completion(
    *,
    token: str,
    spent: SpentNonce,
    desk_session: DeskSession,
    transaction_bytes: bytes,
) -> ValidatedToken:
    """Check a completion token against the transaction bytes the server is about to write.

    The caller spends the nonce first (`nonce_spend`), and keeps it spent after a refusal.
    """
    try:
        return build_validator().validate_completion(
            token,
            origin=settings.MADOGUCHI_ORIGIN,
            nonce=spent.record,
            transaction_bytes=transaction_bytes,
            now=timezone.now(),
        )
    except TokenValidationError as exc:
        raise _rejected(
            IdentityRefused(str(exc.code), exc.detail), desk_session, "completion"
        ) from exc


# Read on every card authentication; compiled once per process (issue 15, sixth round).
_CERTIFICATE = Prepared(
    lambda fingerprint: HolderCertificate.objects.filter(fingerprint=fingerprint)[:1],
    fingerprint="-fingerprint-",
)


def holder_certificate_for(validated: ValidatedToken) -> HolderCertificate:
    """The holder certificate for a validated token; a new holder on first sight."""
    with transaction.atomic():
        found = _CERTIFICATE(fingerprint=validated.fingerprint_sha256)
        if found:
            return found[0]
        holder = Holder.objects.create()
        return HolderCertificate.objects.create(
            holder=holder,
            issuer_dn=validated.issuer_dn,
            serial=format(validated.serial_number, "x"),
            fingerprint=validated.fingerprint_sha256,
            subject_cn=validated.subject_cn or "",
            not_after=validated.certificate.not_valid_after_utc,
        )


@dataclass(frozen=True)
class RenewalLinked:
    """What `certificate_renewal_link` did: `linked` is False when the certificate was already
    the old one's holder's; `merged` names the interim holder merged into it, if any."""

    certificate: HolderCertificate
    linked: bool
    merged: str = ""


def certificate_renewal_link(
    *, old_fingerprint: str, new_certificate_pem: bytes, actor: object = None, os_user: str = ""
) -> RenewalLinked:
    """Operator-imported renewal (J-LIS data): the new certificate joins the old one's holder.

    The new certificate passes the same checks as a card's token (validity, key usage,
    policy, chain, revocation) and must belong to nobody else, except the holder it became
    when the renewed card was first used at a desk before this link: that holder is merged into
    the old one's if it holds nothing signed or linked (`_merge_interim`), in the same
    transaction. Refusals are audited too.
    A certificate the old one's holder already has changes nothing and is not audited again
    (`linked` False).
    """
    # The old fingerprint as typed is the operator's text: only one in a fingerprint's shape is
    # looked up or audited (twelve digits, say, the audit log refuses as an individual number).
    old_hex = fingerprint_hex(old_fingerprint)
    try:
        if old_hex is None:
            raise IdentityRefused("fingerprint_malformed")
        return _renewal_link(old_hex, new_certificate_pem, actor, os_user)
    except IdentityRefused as exc:
        with transaction.atomic():
            audit.record(
                RENEWAL_REFUSED,
                actor=actor,
                terminal=None,
                subject=None,
                payload={
                    "old": old_hex or "",
                    "code": exc.code,
                    "detail": exc.detail[:300],
                    **_run_by(os_user),
                },
            )
        raise


def _renewal_link(
    old_fingerprint: str, pem: bytes, actor: object, os_user: str = ""
) -> RenewalLinked:
    old = HolderCertificate.objects.filter(fingerprint=old_fingerprint).first()
    if old is None:
        raise IdentityRefused("certificate_unknown", old_fingerprint[:16])
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise IdentityRefused("renewal_unreadable", str(exc)[:200]) from exc
    try:
        build_validator().validate_certificate(cert, now=timezone.now())
    except TokenValidationError as exc:
        raise IdentityRefused(str(exc.code), exc.detail) from exc
    fp = fingerprint(cert)
    with transaction.atomic():
        existing = HolderCertificate.objects.select_for_update().filter(fingerprint=fp).first()
        merged: dict[str, object] = {}
        if existing is not None and existing.holder_id != old.holder_id:
            merged = _merge_interim(existing.holder, old.holder)
        elif existing is not None:  # linked before (the same command again): nothing to do
            return RenewalLinked(existing, linked=False)
        new, _ = HolderCertificate.objects.update_or_create(
            fingerprint=fp,
            defaults={
                "holder": old.holder,
                "issuer_dn": cert.issuer.rfc4514_string(),
                "serial": format(cert.serial_number, "x"),
                "subject_cn": _cn(cert),
                "not_after": cert.not_valid_after_utc,
            },
        )
        audit.record(
            CERTIFICATE_RENEWAL_LINKED,
            actor=actor,
            terminal=None,
            subject=old.holder,
            payload={"old": old_fingerprint, "new": fp, **merged, **_run_by(os_user)},
        )
    return RenewalLinked(new, linked=True, merged=str(merged.get("merged_holder_ref", ""))[:8])


def _merge_interim(interim: Holder, into: Holder) -> dict[str, object]:
    """The holder the renewed certificate became at first sight, merged into the old one's
    holder (`identity.merge`): refused while its card is at a desk, or when it holds anything
    signed or linked. Earlier audit events keep its id; the renewal's event names it."""
    # Both rows locked (in one order): a visit started meanwhile waits, then meets the merge.
    list(Holder.objects.select_for_update().filter(pk__in=[interim.pk, into.pk]).order_by("pk"))
    if HolderCertificate.objects.filter(holder=interim).count() > 1:
        # Not a holder made by one first sight: one with renewals of its own is a resident's.
        raise IdentityRefused("renewal_conflict", f"holder {interim.pk} has other certificates")
    if merge.open_visits(interim):
        raise IdentityRefused("renewal_visit_open", f"holder {interim.pk} has an open visit")
    held = merge.holdings(interim)
    if held:
        raise IdentityRefused(
            "renewal_holder_holds",
            f"holder {interim.pk} holds {', '.join(f'{k}={v}' for k, v in held.counts.items())}",
            holder=str(interim),
            holds=ByLanguage("、".join(held.names_ja), ", ".join(held.names_en)),
        )
    interim_id, interim_ref = interim.pk, str(interim.public_id)
    moved = merge.move(interim, into)
    return {
        "merged_holder": str(interim_id),
        "merged_holder_ref": interim_ref,
        "moved": {k: v for k, v in moved.items() if k != "interim_deleted"},
        "merged_holder_deleted": moved["interim_deleted"],
    }


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    if not names:
        return ""
    value = names[0].value
    return value if isinstance(value, str) else value.decode()


def expires_in(nonce: Nonce, now: datetime | None = None) -> int:
    return max(0, int((nonce.expires_at - (now or timezone.now())).total_seconds()))
