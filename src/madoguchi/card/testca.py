"""A look-alike of the JPKI user-authentication CA hierarchy, with `O=JPKI-TEST`.

Several CA generations can be valid at once (rollover), as with the real J-LIS CAs. Each
generation is a self-signed RSA-2048 CA with a 10-year life; all share the same name and are told
apart by their keys (Authority/Subject Key Identifier). State lives in a directory:

    ca-<n>.key.pem, ca-<n>.cert.pem   one pair per generation
    support.key.pem                   the input-support root key (plays the J-LIS key that
                                      signs EF0004 certificates; key ID `SUPPORT_ROOT_KEY_ID`)
    support-signer.key.pem            the key EF0004 certifies; it signs EF0003 records
    state.json                        current generation, next serial, revocations
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from madoguchi.card.cvcert import KeyTable, build_cv_certificate

AUTH_POLICY_OID = x509.ObjectIdentifier("1.2.392.200149.8.5.1.3.30")
#: Key IDs of the test input-support keys (16 bytes, readable so nobody mistakes them for J-LIS's).
SUPPORT_ROOT_KEY_ID = b"JPKI-TEST-ROOT01"
SUPPORT_SIGNER_KEY_ID = b"JPKI-TEST-SIGN01"
JST = timezone(timedelta(hours=9))
CA_LIFETIME = timedelta(days=3652)


def ca_name() -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "JPKI-TEST"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "JPKI for user authentication"),
            x509.NameAttribute(
                NameOID.ORGANIZATIONAL_UNIT_NAME,
                "Japan Agency for Local Authority Information Systems",
            ),
        ]
    )


def generate_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def fifth_birthday_after(birth: date, issued: date) -> date:
    """The holder's 5th birthday after `issued` (a birthday on the issue day does not count).

    A 29 February birthday falls on 28 February in common years.
    """

    def birthday_in(year: int) -> date:
        try:
            return birth.replace(year=year)
        except ValueError:
            return date(year, 2, 28)

    first = birthday_in(issued.year)
    if first <= issued:
        first = birthday_in(issued.year + 1)
    return birthday_in(first.year + 4)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA key")
    return key


@dataclass
class CAGeneration:
    number: int
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate


@dataclass
class TestCA:
    """The test CA hierarchy stored in `directory`."""

    directory: Path
    generations: list[CAGeneration]
    support_key: rsa.RSAPrivateKey
    current: int
    next_serial: int
    revoked: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    """generation number (as str) -> [(serial, revocation time ISO)]"""

    __test__ = False  # not a pytest test class

    # --- persistence ----------------------------------------------------------------------------

    @classmethod
    def load_or_create(cls, directory: Path | str, now: datetime | None = None) -> TestCA:
        """Load the CA in `directory`, creating it (one generation) when absent."""
        path = Path(directory)
        if (path / "state.json").exists():
            return cls.load(path)
        path.mkdir(parents=True, exist_ok=True)
        ca = cls(path, [], generate_rsa_key(), 0, 1)
        (path / "support.key.pem").write_bytes(_pem_key(ca.support_key))
        (path / "support.key.pem").chmod(0o600)
        ca.rollover(now)
        return ca

    @classmethod
    def load(cls, directory: Path | str) -> TestCA:
        path = Path(directory)
        state = json.loads((path / "state.json").read_text())
        generations = []
        for number in state["generations"]:
            key = _load_key(path / f"ca-{number}.key.pem")
            cert = x509.load_pem_x509_certificate((path / f"ca-{number}.cert.pem").read_bytes())
            generations.append(CAGeneration(number, key, cert))
        revoked = {k: [(int(s), str(t)) for s, t in v] for k, v in state["revoked"].items()}
        return cls(
            path,
            generations,
            _load_key(path / "support.key.pem"),
            int(state["current"]),
            int(state["next_serial"]),
            revoked,
        )

    def save(self) -> None:
        state = {
            "generations": [g.number for g in self.generations],
            "current": self.current,
            "next_serial": self.next_serial,
            "revoked": {k: [[s, t] for s, t in v] for k, v in self.revoked.items()},
        }
        tmp = self.directory / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.directory / "state.json")

    # --- CA generations ---------------------------------------------------------------------------

    def rollover(self, now: datetime | None = None) -> CAGeneration:
        """Create a new CA generation (new key, 10-year life) and make it the issuing one.

        Older generations stay valid; certificates they issued still chain to them.
        """
        now = now or datetime.now(UTC)
        key = generate_rsa_key()
        number = max((g.number for g in self.generations), default=0) + 1
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name())
            .issuer_name(ca_name())
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        (self.directory / f"ca-{number}.key.pem").write_bytes(_pem_key(key))
        (self.directory / f"ca-{number}.key.pem").chmod(0o600)
        (self.directory / f"ca-{number}.cert.pem").write_bytes(
            cert.public_bytes(serialization.Encoding.PEM)
        )
        generation = CAGeneration(number, key, cert)
        self.generations.append(generation)
        self.current = number
        self.save()
        return generation

    def generation(self, number: int | None = None) -> CAGeneration:
        wanted = self.current if number is None else number
        for g in self.generations:
            if g.number == wanted:
                return g
        raise KeyError(f"no CA generation {wanted}")

    @property
    def certificate(self) -> x509.Certificate:
        """The issuing (newest) CA certificate."""
        return self.generation().certificate

    @property
    def certificates(self) -> list[x509.Certificate]:
        """All CA certificates (every generation), oldest first."""
        return [g.certificate for g in self.generations]

    def certificate_pem(self, generation: int | None = None) -> bytes:
        return self.generation(generation).certificate.public_bytes(serialization.Encoding.PEM)

    def certificates_pem(self) -> bytes:
        return b"".join(self.certificate_pem(g.number) for g in self.generations)

    def support_public_key_pem(self) -> bytes:
        """The input-support root's public key (checks EF0004 certificates)."""
        return self.support_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def support_trust(self) -> KeyTable:
        """Key ID -> key table that trusts this CA's input-support root (as J-LIS's for cards)."""
        return {SUPPORT_ROOT_KEY_ID: self.support_key.public_key()}

    @property
    def support_signer_key(self) -> rsa.RSAPrivateKey:
        """The key that signs EF0003 records; created on first use (older CA directories)."""
        path = self.directory / "support-signer.key.pem"
        if not path.exists():
            path.write_bytes(_pem_key(generate_rsa_key()))
            path.chmod(0o600)
        return _load_key(path)

    def support_certificate(self) -> bytes:
        """EF0004: the card-verifiable certificate of `support_signer_key`, signed by the root."""
        return build_cv_certificate(
            self.support_key,
            SUPPORT_ROOT_KEY_ID,
            self.support_signer_key.public_key(),
            SUPPORT_SIGNER_KEY_ID,
        )

    # --- end-entity certificates ------------------------------------------------------------------

    def issue_auth_cert(
        self,
        public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
        birth: date,
        now: datetime | None = None,
        *,
        subject_id: str | None = None,
        generation: int | None = None,
        lifetime: timedelta | None = None,
    ) -> x509.Certificate:
        """A user-authentication certificate: subject `C=JP, CN=<opaque id>`, valid to the
        holder's 5th birthday after issue (end of that day, JST), or for `lifetime` (the
        provisional next-generation profile: 10 years)."""
        now = now or datetime.now(UTC)
        ca = self.generation(generation)
        serial = self.next_serial
        self.next_serial += 1
        self.save()
        cn = subject_id or secrets.token_hex(10).upper()
        if lifetime is not None:
            not_after = now + lifetime
        else:
            expiry_day = fifth_birthday_after(birth, now.astimezone(JST).date())
            not_after = datetime.combine(expiry_day, time(23, 59, 59), JST).astimezone(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "JP"),
                        x509.NameAttribute(NameOID.COMMON_NAME, cn),
                    ]
                )
            )
            .issuer_name(ca.certificate.subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(AUTH_POLICY_OID, None)]),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(ca.key, hashes.SHA256())
        )

    def issuer_of(self, cert: x509.Certificate) -> CAGeneration:
        """The generation whose key signed `cert` (KeyError if none)."""
        for g in self.generations:
            try:
                cert.verify_directly_issued_by(g.certificate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return g
        raise KeyError("certificate was not issued by this test CA")

    # --- revocation -----------------------------------------------------------------------------

    def revoke(
        self, serial: int, now: datetime | None = None, *, generation: int | None = None
    ) -> None:
        """Revoke `serial` (issued by `generation`, default: the current one)."""
        key = str(self.current if generation is None else generation)
        when = (now or datetime.now(UTC)).isoformat()
        entries = self.revoked.setdefault(key, [])
        if serial not in {s for s, _ in entries}:
            entries.append((serial, when))
        self.save()

    def crl(
        self, now: datetime | None = None, *, generation: int | None = None
    ) -> x509.CertificateRevocationList:
        now = now or datetime.now(UTC)
        ca = self.generation(generation)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca.certificate.subject)
            .last_update(now - timedelta(minutes=5))
            .next_update(now + timedelta(days=1))
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
                critical=False,
            )
        )
        for serial, when in self.revoked.get(str(ca.number), []):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(datetime.fromisoformat(when))
                .build()
            )
        return builder.sign(ca.key, hashes.SHA256())

    def crl_pem(self, now: datetime | None = None, *, generation: int | None = None) -> bytes:
        return self.crl(now, generation=generation).public_bytes(serialization.Encoding.PEM)
