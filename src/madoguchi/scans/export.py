"""Export madoguchi's own records as scan input (the three tables of docs/scan.md).

Every link madoguchi made was committed with a completion signed by the resident's card. The
export re-verifies every stored completion over its stored bytes (the digest, the token
against the trust anchors as of the commit and its signer against the stored certificate,
and a legal representative's second signature the same way) before writing anything: a completion that no
longer verifies is refused with its reference, since it is evidence of tampering in itself. So
is a link whose stored account or readings are not those its completion signed
(``_unsigned``): the scan would read an account the card never signed as the desk's evidence.

Mapping: holders are residents (each in a household of their own: madoguchi keeps no
households; ``name_kana`` is the reading recorded with their latest link, a certified one
over any typed at the desk); point
links (`PaymentLink`) are ``mynapoint_2``, public-fund accounts ``public_fund``, insurance
registrations ``health_insurance`` (account_hash the insured person's keyed hash); desk
sessions give ``login`` / ``logout``, visits ``card_read`` (start) and ``card_removed`` (end),
completions ``commit`` (one per link committed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from madoguchi.accounts.constants import OrganisationKind
from madoguchi.audit import services as audit
from madoguchi.benefits.constants import KanaSource
from madoguchi.benefits.models import HealthInsuranceRegistration, PaymentLink, PublicFundAccount
from madoguchi.desk.models import Completion
from madoguchi.identity.access import record_reads_at_the_shell
from madoguchi.identity.services import IdentityRefused, build_validator
from madoguchi.identity.tokens import TokenValidationError
from madoguchi.identity.tokens.validate import NonceRecord
from madoguchi.scan import schema
from madoguchi.terminals.models import DeskSession

from . import selectors
from .events import SCANS_EXPORTED

__all__ = ["ExportError", "Exported", "export", "verify_completion"]


class ExportError(ValueError):
    pass


@dataclass(frozen=True)
class Exported:
    residents: int
    links: int
    events: int
    verified: int


def _local(value: datetime) -> datetime:
    """Local clock time without a zone (the input format's times)."""
    return timezone.localtime(value).replace(tzinfo=None)


def _verify_token(
    completion: Completion, validator: Any, token: str, data: bytes, which: str
) -> str:
    """The SHA-256 fingerprint of the certificate whose signature ``token`` carries over
    ``data`` (ExportError unless it verifies)."""
    nonce = completion.nonce
    record = NonceRecord(
        value=nonce.value, issued_at=nonce.issued_at, expires_at=nonce.expires_at, used=False
    )
    try:
        validated = validator.validate_completion(
            token,
            origin=settings.MADOGUCHI_ORIGIN,
            nonce=record,
            transaction_bytes=data,
            # As of the moment the card's signature was checked (the nonce spent just before).
            now=nonce.used_at or completion.committed_at,
        )
    except TokenValidationError as exc:
        raise ExportError(
            f"completion {completion.pk}: {which} does not verify ({exc.code})"
        ) from exc
    return str(validated.fingerprint_sha256)


def verify_completion(completion: Completion, validator: Any) -> None:
    """Raise ExportError unless the stored token still verifies over the stored bytes, signed
    by the stored certificate; and, for a completion with a second card (a legal
    representative's), the second token too, signed by that card's stored certificate."""
    data = bytes(completion.transaction_bytes)
    if hashlib.sha256(data).hexdigest() != completion.transaction_digest:
        raise ExportError(
            f"completion {completion.pk}: the stored bytes do not match the stored digest"
        )
    signer = _verify_token(completion, validator, completion.token, data, "the signature")
    if signer != completion.certificate.fingerprint:
        raise ExportError(
            f"completion {completion.pk}: the signature is by another card than the stored "
            "certificate's"
        )
    second = completion.second_certificate
    if second is None and completion.second_token:
        raise ExportError(
            f"completion {completion.pk}: a second signature is stored without its certificate"
        )
    if second is not None:
        if not completion.second_token:
            raise ExportError(f"completion {completion.pk}: the second card's signature is missing")
        signer = _verify_token(
            completion, validator, completion.second_token, data, "the second signature"
        )
        if signer != second.fingerprint:
            raise ExportError(
                f"completion {completion.pk}: the second signature is by another card than "
                "the stored second certificate's"
            )


# The registrations the export writes as links, by the input format's programme.
PROGRAMMES: tuple[tuple[str, Any], ...] = (
    ("mynapoint_2", PaymentLink),
    ("public_fund", PublicFundAccount),
    ("health_insurance", HealthInsuranceRegistration),
)


def _registered(link: Any) -> tuple[str, str, str, str]:
    """A registration's (account_hash, account_last4, holder_kana, the resident's kana) as the
    scan input writes them. ``account_hash`` is the keyed hash a case compares what the
    resident presents with (`cases.remedy.registered_hash`); for an insurance registration,
    which has no account, the insured person's (insurer number, symbol, number and branch
    together), its last 4 the insured number's as kept ("" when the number is 4 characters or
    fewer: never the whole number), its holder the insured person's kana as the insurer
    reported it ("" until it answered), and the resident's kana the one the signed procedure
    recorded."""
    if isinstance(link, HealthInsuranceRegistration):
        resident_kana = str((link.procedure.fields or {}).get("resident_kana") or "")
        return link.insured_hash, link.insured_last4, link.insured_name_kana, resident_kana
    return link.account_hash, link.account_last4, link.account_holder_kana, link.resident_kana


# What the export writes of a link (`_registered`'s order) against the key its signed procedure
# holds it under: an insurance registration's holder is the insurer's answer, which no card signs.
_SIGNED_AS = ("account_hash", "account_last4", "account_holder_kana", "resident_kana")
_SIGNED_AS_INSURED = ("insured_hash", "insured_last4", None, "resident_kana")
_WRITTEN_AS = ("account_hash", "account_last4", "holder_kana", "resident's name_kana")


def _unsigned(link: Any, link_id: str, written: tuple[str, str, str, str]) -> str:
    """Why `link` cannot be exported as `written` (`_registered`'s values): "" when each is what
    its completion's signed bytes hold for its procedure. The refusal names the link and the
    column, never the value (an account's hash and last 4 are account details)."""
    signed = json.loads(bytes(link.completion.transaction_bytes))
    entry = next(
        (p for p in signed.get("procedures", []) if p.get("id") == link.procedure_id), None
    )
    where = f"{link_id} (completion {link.completion.pk})"
    if entry is None:
        return f"link {where}: its completion's signed procedures do not include it"
    keys = _SIGNED_AS_INSURED if isinstance(link, HealthInsuranceRegistration) else _SIGNED_AS
    for value, key, column in zip(written, keys, _WRITTEN_AS, strict=True):
        if key is not None and str(value or "") != str(entry.get(key) or ""):
            return (
                f"link {where}: its stored {column} is not the one the card signed (the "
                f"signed procedure's {key})"
            )
    return ""


def _certified(link: Any) -> bool:
    """Whether the resident's kana recorded with `link` is the certified reading (an insurance
    registration keeps its source in the signed procedure's fields)."""
    if isinstance(link, HealthInsuranceRegistration):
        source = (link.procedure.fields or {}).get("kana_source")
    else:
        source = link.kana_source
    return str(source or "") == KanaSource.CERTIFIED


def _uncoded(terminal: Any) -> str:
    """Why a link made at `terminal` has no municipality code to be written under, with how
    to set one; "" when its desk's city carries a code."""
    contractor = terminal.contractor
    if selectors.city_code(contractor):
        return ""
    city = (
        contractor
        if contractor is not None and contractor.kind == OrganisationKind.CITY
        else getattr(contractor, "city", None)
    )
    if city is None:
        return (
            f"desk {terminal.name}: its contractor serves no city, so its links have no "
            "municipality code (全国地方公共団体コード); attach the contractor to its city in the "
            "admin"
        )
    return (
        f"desk {terminal.name}: its city {city.name} has no municipality code "
        "(全国地方公共団体コード); set it with `madoguchi organisation set-code "
        f"'{city.name}' CODE` (six digits) or on the city's organisation in the admin"
    )


def _validator() -> Any:
    """The validator the stored completions are re-verified with; refused in one sentence
    (ExportError, nothing written) when no trust anchor is configured: without one no
    signature can be verified, and the export would else end in a traceback."""
    try:
        return build_validator(every_anchor=True)
    except IdentityRefused as exc:
        if exc.code != "no_trust_anchor":
            raise
        raise ExportError(
            "Nothing was exported: the stored completions' signatures are re-verified before "
            "anything is written, and no trust anchor is configured to verify them against; "
            "add the CA certificates the cards chain to (`madoguchi identity add-anchor "
            "FILE.pem`) and run the export again"
        ) from exc


@dataclass
class _Links:
    """The links table's rows, and what they say of each resident and each desk."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    holders: set[int] = field(default_factory=set)  # the card holders whose records are in
    names: dict[str, str] = field(default_factory=dict)  # resident -> the reading kept
    codes: dict[str, str] = field(default_factory=dict)  # resident -> their latest link's city
    uncoded: dict[int, str] = field(default_factory=dict)  # terminal -> why it has no code
    unsigned: list[str] = field(default_factory=list)  # links not as their card signed them


def _links() -> _Links:
    """Every link of every programme, oldest commit first. A resident's reading is the one
    recorded with their latest link that has one, and their city their latest link's."""
    out = _Links()
    latest: dict[str, Any] = {}  # resident -> (certified, committed) of the reading kept
    latest_code: dict[str, Any] = {}  # resident -> when their latest link was committed
    for programme, model in PROGRAMMES:
        qs = model.objects.select_related(
            "holder",
            "completion",
            "completion__nonce",
            "procedure",
            "visit__terminal__contractor__city",
            "visit__staff",
        ).order_by("completion__committed_at", "pk")
        for link in qs:
            c = link.completion
            rid = str(link.holder.public_id)
            out.holders.add(link.holder.pk)
            written = _registered(link)
            account_hash, last4, holder_kana, resident_kana = written
            if why := _unsigned(link, f"{programme}-{link.pk}", written):
                out.unsigned.append(why)
            # A certified reading over any the desk typed, then the latest: a reading typed at
            # the desk is the resident's confirmed entry, and may be another person's.
            kept = (_certified(link), c.committed_at)
            if resident_kana and (rid not in latest or kept >= latest[rid]):
                out.names[rid] = resident_kana
                latest[rid] = kept
            out.names.setdefault(rid, resident_kana)
            # The city the desk serves: its officials see the link's findings.
            code = selectors.city_code(link.visit.terminal.contractor)
            if not code:
                terminal = link.visit.terminal
                out.uncoded.setdefault(terminal.pk, _uncoded(terminal))
            if rid not in latest_code or c.committed_at >= latest_code[rid]:
                out.codes[rid] = code
                latest_code[rid] = c.committed_at
            out.rows.append(
                {
                    "link_id": f"{programme}-{link.pk}",
                    "programme": programme,
                    "resident_id": rid,
                    "account_hash": account_hash,
                    "account_last4": last4,
                    "holder_kana": holder_kana or None,
                    "linked_at": _local(c.committed_at),
                    "channel": "desk",
                    "municipality_code": code,
                    "terminal_id": link.visit.terminal.name,
                    "staff_id": link.visit.staff.get_username(),
                    "_visit": link.visit,
                }
            )
    return out


def _verify_completions() -> int:
    """Re-verify every stored completion, not only those behind a link: each is signed
    evidence. Returns how many."""
    verified = 0
    completions = Completion.objects.select_related(
        "nonce", "certificate", "second_certificate"
    ).order_by("pk")
    validator = _validator() if completions.exists() else None
    for completion in completions:
        verify_completion(completion, validator)
        verified += 1
    return verified


def _desk_events(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The desk_events rows: each linked visit's card_read and card_removed, each link's
    commit, each desk session's login and logout."""
    events: list[dict[str, Any]] = []
    visits = {row["_visit"].pk: row["_visit"] for row in links}
    for visit in visits.values():
        rid = str(visit.holder.public_id)
        base = {"terminal_id": visit.terminal.name, "staff_id": visit.staff.get_username()}
        events.append(
            {
                **base,
                "at": _local(visit.started_at),
                "event": "card_read",
                "resident_id": rid,
                "link_id": None,
            }
        )
        if visit.ended_at is not None:
            events.append(
                {
                    **base,
                    "at": _local(visit.ended_at),
                    "event": "card_removed",
                    "resident_id": rid,
                    "link_id": None,
                }
            )
    for row in links:
        events.append(
            {
                "terminal_id": row["terminal_id"],
                "staff_id": row["staff_id"],
                "at": row["linked_at"],
                "event": "commit",
                "resident_id": row["resident_id"],
                "link_id": row["link_id"],
            }
        )
    for s in DeskSession.objects.select_related("terminal", "staff").order_by("pk"):
        base = {
            "terminal_id": s.terminal.name,
            "staff_id": s.staff.get_username(),
            "resident_id": None,
            "link_id": None,
        }
        events.append({**base, "at": _local(s.opened_at), "event": "login"})
        if s.closed_at is not None:
            events.append({**base, "at": _local(s.closed_at), "event": "logout"})
    return events


def _residents(links: _Links) -> list[dict[str, Any]]:
    """The residents table: each a household of their own (madoguchi keeps no households)."""
    return [
        {
            "resident_id": rid,
            "name_kana": kana,
            "name_kanji": None,
            "birth_date": None,
            "household_id": f"holder-{rid}",
            "municipality_code": links.codes[rid],
        }
        for rid, kana in sorted(links.names.items())
    ]


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    cols = schema.TABLES[name]
    return pa.table({c.name: pa.array([r[c.name] for r in rows], c.type) for c in cols})


def export(directory: Path, *, os_user: str = "") -> Exported:
    """Write the three tables to `directory`. Refused (ExportError, nothing written) when a
    link's desk serves no city with a municipality code: the scan input requires six digits,
    and a made-up code would put the link's findings before no official (or another city's);
    when a completion no longer verifies; and when a link's stored account or readings are not
    those its completion signed (``_unsigned``).
    Once written, an audit event says who (`os_user`, the shell's user) exported how many of
    whose records where: every resident's reading and links leave the database in them; and
    each resident exported has a read recorded, which they see on their own page."""
    links = _links()
    if links.uncoded:
        raise ExportError(
            "Nothing was exported: "
            + "; ".join(links.uncoded.values())
            + ". Then run the export again."
        )
    verified = _verify_completions()
    if links.unsigned:
        raise ExportError(
            f"Nothing was exported: {'; '.join(links.unsigned[:5])}"
            + (f" (and {len(links.unsigned) - 5} more links)" if len(links.unsigned) > 5 else "")
            + ". A link is exported as its resident's card signed it; one that differs was "
            "changed after its commit, evidence of tampering to look into before any scan"
        )
    events = _desk_events(links.rows)
    residents = _residents(links)
    schema.write(
        directory,
        {
            "residents": _table("residents", residents),
            "links": _table("links", links.rows),
            "desk_events": _table(
                "desk_events", sorted(events, key=lambda e: (e["terminal_id"], e["at"]))
            ),
        },
    )
    exported = Exported(
        residents=len(residents), links=len(links.rows), events=len(events), verified=verified
    )
    with transaction.atomic():
        audit.record(
            SCANS_EXPORTED,
            actor=None,
            terminal=None,
            payload={
                "directory": str(directory.resolve()),
                "residents": exported.residents,
                "links": exported.links,
                "events": exported.events,
                "verified": exported.verified,
                "os_user": os_user,
            },
        )
        # Each resident whose records left sees it on their own page, as for any list or
        # export of several residents' records (docs/resident.md).
        record_reads_at_the_shell(
            links.holders, page="scans.export", reason="audit", os_user=os_user
        )
    return exported
