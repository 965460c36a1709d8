"""The points ledger: double-entry, immutable, balances derived from entries.

Accounts per programme: `funding` (issues points, goes negative), `due:<holder>` (granted,
not yet paid), `suspended:<holder>` (parked by a suspension), `paid:<provider>` (paid out
through that provider). Transfers:

- grant / regrant: funding → due
- suspension: due → suspended
- payout: due (or suspended, if the link was suspended after the batch was sent) → paid; never
  more than the account holds
- return: paid / suspended / due → funding (the reversal of what the grants put there)

Every transfer's entries sum to zero; nothing is ever updated or deleted; each transfer has a
unique idempotency key, so posting the same thing twice posts it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from madoguchi.audit import services as audit
from madoguchi.identity.models import Holder
from madoguchi.refusals import Refusal

from .constants import AccountKind, GrantStatus, TransferKind
from .events import BENEFITS_LEDGER_TRANSFER
from .models import (
    Grant,
    LedgerAccount,
    LedgerEntry,
    LedgerTransfer,
    PaymentLink,
    PayoutBatch,
    Programme,
    ProgrammeVersion,
    Provider,
)


class LedgerError(Refusal):
    """A ledger operation that cannot be done."""

    code = "ledger_error"
    status = 409


def account(
    kind: AccountKind,
    programme: Programme,
    *,
    holder: Holder | None = None,
    provider: Provider | None = None,
) -> LedgerAccount:
    if kind in (AccountKind.DUE, AccountKind.SUSPENDED):
        assert holder is not None
        code = f"{kind}:{programme.code}:{holder.public_id}"
    elif kind == AccountKind.PAID:
        assert provider is not None
        code = f"{kind}:{programme.code}:{provider.code}"
    else:
        code = f"{kind}:{programme.code}"
    acct, _ = LedgerAccount.objects.get_or_create(
        code=code,
        defaults={"kind": kind, "programme": programme, "holder": holder, "provider": provider},
    )
    return acct


def balance(acct: LedgerAccount) -> int:
    total = LedgerEntry.objects.filter(account=acct).aggregate(s=Sum("amount"))["s"]
    return int(total or 0)


def post(
    kind: TransferKind,
    programme: Programme,
    lines: Sequence[tuple[LedgerAccount, int]],
    *,
    idempotency_key: str,
    holder: Holder | None = None,
    grant: Grant | None = None,
    link: PaymentLink | None = None,
    batch: PayoutBatch | None = None,
    memo: str = "",
    actor: Any = None,
) -> LedgerTransfer:
    """Post one balanced transfer (or return the one already posted under the key)."""
    lines = [(a, amt) for a, amt in lines if amt != 0]
    if len(lines) < 2 or sum(amt for _, amt in lines) != 0:
        raise LedgerError("unbalanced", _("A transfer's entries must sum to zero."))
    existing = LedgerTransfer.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            transfer = LedgerTransfer.objects.create(
                kind=kind,
                programme=programme,
                holder=holder,
                grant=grant,
                link=link,
                batch=batch,
                idempotency_key=idempotency_key,
                memo=memo[:500],
                actor=actor if getattr(actor, "pk", None) else None,
            )
            LedgerEntry.objects.bulk_create(
                [LedgerEntry(transfer=transfer, account=a, amount=amt) for a, amt in lines]
            )
            audit.record(
                BENEFITS_LEDGER_TRANSFER,
                actor=actor,
                subject=transfer,
                payload={
                    "kind": str(kind),
                    "points": sum(amt for _, amt in lines if amt > 0),
                    "key": idempotency_key,
                    "entries": [[a.code, amt] for a, amt in lines],
                },
            )
    except IntegrityError:
        # Posted concurrently under the same key: the first one stands.
        return LedgerTransfer.objects.get(idempotency_key=idempotency_key)
    return transfer


def grant(
    *,
    holder: Holder,
    programme: Programme,
    version: ProgrammeVersion,
    category: str,
    points: int,
    link: PaymentLink | None,
    source_ref: str = "",
    regrant_of: Grant | None = None,
    completion: Any = None,
    actor: Any = None,
) -> Grant:
    """Grant a category's points (one effective grant per resident and category)."""
    if points <= 0:
        raise LedgerError("points_not_positive", _("Points must be > 0."))
    try:
        with transaction.atomic():
            g = Grant.objects.create(
                holder=holder,
                programme=programme,
                programme_version=version,
                category=category,
                points=points,
                link=link,
                regrant_of=regrant_of,
                source_ref=source_ref[:200],
                completion=completion,
            )
    except IntegrityError as exc:
        raise LedgerError(
            "grant_exists",
            _("An effective %(category)s grant already exists for this resident."),
            params={"category": category},
        ) from exc
    kind = TransferKind.REGRANT if regrant_of is not None else TransferKind.GRANT
    post(
        kind,
        programme,
        [
            (account(AccountKind.FUNDING, programme), -points),
            (account(AccountKind.DUE, programme, holder=holder), points),
        ],
        idempotency_key=f"{kind}:{g.pk}",
        holder=holder,
        grant=g,
        link=link,
        memo=f"{category}",
        actor=actor,
    )
    return g


def post_payout(
    link: PaymentLink,
    points: int,
    *,
    batch_id: str,
    item_id: str,
    batch: PayoutBatch | None = None,
    actor: Any = None,
) -> LedgerTransfer:
    """Points the provider paid into the link's account: due → paid (from suspended if the
    link was suspended after the batch was sent). Once per batch item. Refused
    `payout_exceeds_balance` when neither holds the points: no account but funding is ever
    driven below zero (a case's return waits for a sent batch's answer, and a batch not yet
    sent leaves out what was suspended or returned: `services.payouts`)."""
    existing = LedgerTransfer.objects.filter(idempotency_key=f"payout:{batch_id}:{item_id}").first()
    if existing is not None:
        return existing
    programme = link.programme
    source = account(AccountKind.DUE, programme, holder=link.holder)
    if balance(source) < points:
        source = account(AccountKind.SUSPENDED, programme, holder=link.holder)
    if balance(source) < points:
        raise LedgerError(
            "payout_exceeds_balance",
            _(
                "The points paid out are no longer due to the resident nor suspended "
                "(%(points)s points); nothing was posted."
            ),
            params={"points": points},
        )
    return post(
        TransferKind.PAYOUT,
        programme,
        [(source, -points), (account(AccountKind.PAID, programme, provider=link.provider), points)],
        idempotency_key=f"payout:{batch_id}:{item_id}",
        holder=link.holder,
        link=link,
        batch=batch,
        actor=actor,
    )


def holder_balances(holder: Holder, programme: Programme) -> dict[str, int]:
    """Due and suspended points of a resident, and what was paid out to their links."""
    due = balance(account(AccountKind.DUE, programme, holder=holder))
    suspended = balance(account(AccountKind.SUSPENDED, programme, holder=holder))
    paid = LedgerEntry.objects.filter(
        transfer__holder=holder,
        transfer__programme=programme,
        account__kind=AccountKind.PAID,
    ).aggregate(s=Sum("amount"))["s"]
    return {"due": due, "suspended": suspended, "paid": int(paid or 0)}


def suspend_link_points(
    link: PaymentLink, *, actor: Any = None, reason: str = ""
) -> LedgerTransfer | None:
    """Park the resident's unpaid points of the link's programme (suspension)."""
    due_acct = account(AccountKind.DUE, link.programme, holder=link.holder)
    amount = balance(due_acct)
    if amount <= 0:
        return None
    n = LedgerTransfer.objects.filter(kind=TransferKind.SUSPENSION, link=link).count()
    return post(
        TransferKind.SUSPENSION,
        link.programme,
        [
            (due_acct, -amount),
            (account(AccountKind.SUSPENDED, link.programme, holder=link.holder), amount),
        ],
        idempotency_key=f"suspension:{link.pk}:{n}",
        holder=link.holder,
        link=link,
        memo=reason,
        actor=actor,
    )


def return_link_points(
    link: PaymentLink, *, actor: Any = None, reason: str = ""
) -> LedgerTransfer | None:
    """Reverse the effective grants made through a link: what was paid to its account comes
    back from the provider, what was suspended or still due goes back to funding; the grants
    are marked returned (they can then be re-granted to the right resident)."""
    grants = list(Grant.objects.select_for_update().filter(link=link, status=GrantStatus.EFFECTIVE))
    if not grants:
        return None
    programme = link.programme
    total = sum(g.points for g in grants)
    paid_via_link = -int(
        LedgerEntry.objects.filter(
            transfer__link=link, transfer__kind=TransferKind.PAYOUT, amount__lt=0
        ).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    # What earlier returns took back from the paid account (not their funding line, which
    # also counts what they took from suspended and due).
    already_returned = -int(
        LedgerEntry.objects.filter(
            transfer__link=link,
            transfer__kind=TransferKind.RETURN,
            account__kind=AccountKind.PAID,
            amount__lt=0,
        ).aggregate(s=Sum("amount"))["s"]
        or 0
    )
    remaining = total
    lines: list[tuple[LedgerAccount, int]] = []
    from_paid = min(max(paid_via_link - already_returned, 0), remaining)
    if from_paid:
        lines.append((account(AccountKind.PAID, programme, provider=link.provider), -from_paid))
        remaining -= from_paid
    susp_acct = account(AccountKind.SUSPENDED, programme, holder=link.holder)
    from_susp = min(max(balance(susp_acct), 0), remaining)
    if from_susp:
        lines.append((susp_acct, -from_susp))
        remaining -= from_susp
    due_acct = account(AccountKind.DUE, programme, holder=link.holder)
    from_due = min(max(balance(due_acct), 0), remaining)
    if from_due:
        lines.append((due_acct, -from_due))
        remaining -= from_due
    returned = total - remaining
    for g in grants:
        g.status = GrantStatus.RETURNED
        g.save(update_fields=["status"])
    if returned == 0:
        return None
    lines.append((account(AccountKind.FUNDING, programme), returned))
    return post(
        TransferKind.RETURN,
        programme,
        lines,
        idempotency_key=f"return:{link.pk}:{','.join(str(g.pk) for g in grants)}",
        holder=link.holder,
        link=link,
        memo=reason,
        actor=actor,
    )
