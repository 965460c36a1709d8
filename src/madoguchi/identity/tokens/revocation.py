"""Revocation status of a card's authentication certificate.

J-LIS gives revocation data only to registered verifiers (or through accredited platforms) and
there is no public OCSP service for JPKI authentication certificates, so the main source is
imported CRLs (:class:`CRLRevocationChecker`). :class:`OCSPRevocationChecker` is an adapter for
an OCSP responder reached through a caller-supplied :class:`OCSPTransport`; madoguchi ships no
transport for a real service.

A checker answers ``True`` (revoked), ``False`` (checked and not revoked) or ``None`` (status
unknown: no usable, fresh, correctly signed data). The validator treats ``None`` as a refusal
(``revocation_unknown``) unless configured otherwise: it never fails open by default.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID


def utc_now() -> datetime:
    return datetime.now(UTC)


_MEMO_LIMIT = 4096


def _remember(memo: dict, key: object, value: object) -> None:  # type: ignore[type-arg]
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value


@runtime_checkable
class RevocationChecker(Protocol):
    """Answers whether ``cert`` (issued by ``issuer``) is revoked: True, False, or None = unknown."""

    def is_revoked(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool | None: ...


def _signature_valid(
    key: object, signature: bytes, data: bytes, hash_algorithm: hashes.HashAlgorithm | None
) -> bool:
    if hash_algorithm is None:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


class CRLRevocationChecker:
    """Revocation from a set of imported CRLs.

    A CRL is used only if its issuer name equals the certificate issuer's subject, its signature
    verifies with that issuer's key, and ``thisUpdate <= now < nextUpdate`` (a CRL without
    nextUpdate is never considered fresh). If no CRL is usable the answer is ``None``.
    Delta CRLs and partitioned CRLs (issuing distribution points) are not supported: JPKI
    publishes full CRLs per CA.
    """

    def __init__(
        self,
        crls: Iterable[x509.CertificateRevocationList],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._crls = tuple(crls)
        self._clock = clock
        # Answers that stay true for these CRLs (issue 15, seventh round: one card is checked
        # at its authentication and again at its completion): whether a CRL's signature
        # verifies with an issuer's key, and whether a serial number is listed in a CRL.
        # Freshness (thisUpdate, nextUpdate) is checked on every call.
        self._signed: dict[tuple[int, bytes], bool] = {}
        self._listed: dict[tuple[int, int], bool] = {}

    def _signed_by(
        self, i: int, crl: x509.CertificateRevocationList, issuer: x509.Certificate
    ) -> bool:
        key = (i, issuer.fingerprint(hashes.SHA256()))
        signed = self._signed.get(key)
        if signed is None:
            try:
                signed = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                signed = False
            _remember(self._signed, key, signed)
        return signed

    def _lists(self, i: int, crl: x509.CertificateRevocationList, serial: int) -> bool:
        listed = self._listed.get((i, serial))
        if listed is None:
            listed = crl.get_revoked_certificate_by_serial_number(serial) is not None
            _remember(self._listed, (i, serial), listed)
        return listed

    def _usable(self, issuer: x509.Certificate) -> list[tuple[int, x509.CertificateRevocationList]]:
        """The CRLs from ``issuer``, correctly signed by it and fresh now (by index)."""
        at = self._clock()
        usable = []
        for i, crl in enumerate(self._crls):
            if crl.issuer != issuer.subject:
                continue
            if not self._signed_by(i, crl, issuer):
                continue
            next_update = crl.next_update_utc
            if next_update is None or not crl.last_update_utc <= at < next_update:
                continue
            usable.append((i, crl))
        return usable

    def is_revoked(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool | None:
        usable = self._usable(issuer)
        if not usable:
            return None
        return any(self._lists(i, crl, cert.serial_number) for i, crl in usable)


class OCSPTransport(Protocol):
    """Sends a DER OCSP request to a responder and returns the DER response (RFC 6960 over HTTP).

    Implementations raise any exception on transport failure; the checker maps it to unknown.
    """

    def post(self, url: str, request_der: bytes) -> bytes: ...


class OCSPRevocationChecker:
    """Revocation by OCSP through a caller-supplied transport (none is shipped for JPKI).

    The response must be SUCCESSFUL, about this certificate (serial and issuer key hash), signed
    by the issuer or by a responder certificate the issuer signed with the OCSPSigning extended
    key usage, echo our nonce if it carries one, and be fresh: ``thisUpdate <= now + skew`` and
    ``now < nextUpdate`` (or, without nextUpdate, ``thisUpdate`` within ``max_age``).
    GOOD -> False, REVOKED -> True, UNKNOWN or anything unverifiable -> None.
    """

    def __init__(
        self,
        transport: OCSPTransport,
        responder_url: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        max_age: timedelta = timedelta(minutes=15),
        allowed_skew: timedelta = timedelta(minutes=2),
    ) -> None:
        self._transport = transport
        self._url = responder_url
        self._clock = clock
        self._max_age = max_age
        self._skew = allowed_skew

    def is_revoked(self, cert: x509.Certificate, issuer: x509.Certificate) -> bool | None:
        nonce = secrets.token_bytes(16)
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(cert, issuer, hashes.SHA256())
            .add_extension(x509.OCSPNonce(nonce), critical=False)
            .build()
        )
        try:
            raw = self._transport.post(self._url, request.public_bytes(serialization.Encoding.DER))
            response = ocsp.load_der_ocsp_response(raw)
        except Exception:
            return None
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None
        if not self._signed_by_issuer_or_delegate(response, issuer):
            return None
        single = next(
            (s for s in response.responses if s.serial_number == cert.serial_number), None
        )
        if single is None or single.issuer_key_hash != request.issuer_key_hash:
            return None
        try:
            echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        except x509.ExtensionNotFound:
            echoed = None
        if echoed is not None and echoed != nonce:
            return None
        now = self._clock()
        if single.this_update_utc > now + self._skew:
            return None
        next_update = single.next_update_utc
        if next_update is None:
            if now - single.this_update_utc > self._max_age:
                return None
        elif now >= next_update:
            return None
        if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return False
        if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            return True
        return None

    def _signed_by_issuer_or_delegate(
        self, response: ocsp.OCSPResponse, issuer: x509.Certificate
    ) -> bool:
        tbs, sig, alg = (
            response.tbs_response_bytes,
            response.signature,
            response.signature_hash_algorithm,
        )
        if _signature_valid(issuer.public_key(), sig, tbs, alg):
            return True
        for responder in response.certificates:
            try:
                responder.verify_directly_issued_by(issuer)
                eku = responder.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
                continue
            if ExtendedKeyUsageOID.OCSP_SIGNING not in eku:
                continue
            now = self._clock()
            if not responder.not_valid_before_utc <= now <= responder.not_valid_after_utc:
                continue
            if _signature_valid(responder.public_key(), sig, tbs, alg):
                return True
        return False
