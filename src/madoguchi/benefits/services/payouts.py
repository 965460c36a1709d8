"""Payout batches to providers and their ledger transfers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from madoguchi.accounts.constants import Role
from madoguchi.audit import services as audit
from madoguchi.incidents import text as incident_text
from madoguchi.incidents.access import has_any, visible_terminal
from madoguchi.incidents.constants import IncidentKind, Severity
from madoguchi.incidents.models import Incident
from madoguchi.incidents.services import incident_record
from madoguchi.locks import key_lock
from madoguchi.outside import OutsideError, PayoutItemResult, PayoutResult, UnknownProvider
from madoguchi.outside import PayoutItem as OutsidePayoutItem

from .. import ledger, outside
from ..constants import (
    ITEM_PAID,
    ITEM_REJECTED,
    ITEM_WITHDRAWN,
    WITHDRAWN_LINK_NOT_EFFECTIVE,
    WITHDRAWN_LINK_SUSPENDED,
    WITHDRAWN_POINTS_NOT_DUE,
    AccountKind,
    BatchStatus,
    LinkStatus,
)
from ..events import (
    BENEFITS_PAYOUT_HOLD_RELEASED,
    BENEFITS_PAYOUT_ITEM_REFUSED,
    BENEFITS_PAYOUT_ITEM_WITHDRAWN,
    BENEFITS_PAYOUT_SENT,
    REFUSED_REASON_WORDS,
)
from ..models import (
    PaymentLink,
    PayoutBatch,
    PayoutItem,
    Programme,
    Provider,
)
from ..selectors import held_payout_items
from .base import BenefitsRefused

# --- payouts -----------------------------------------------------------------------------------

# The lock space of a provider and programme's batch run (the bytes "payo"), `locks.key_lock`.
_CREATE_LOCK_SPACE = int.from_bytes(b"payo", "big")


def payout_batch_create(provider: Provider, programme: Programme) -> PayoutBatch | None:
    """A batch of what is due to the residents linked to this provider (None if nothing is).
    Links already in an unaccepted batch are left out, so nothing is sent twice; so are links
    whose item the provider refused, until a city official releases the hold
    (`payout_hold_release`): each batch sent it again and was refused again. Two runs at once
    (two schedulers, an operator beside the timer) run one after the other, so the second sees
    the first's items."""
    with transaction.atomic():
        key_lock(_CREATE_LOCK_SPACE, f"{provider.pk}:{programme.pk}")
        pending_links = set(
            PayoutItem.objects.filter(batch__status=BatchStatus.OPEN)
            .exclude(result=ITEM_WITHDRAWN)
            .values_list("link_id", flat=True)
        )
        pending_links.update(held_payout_items().values_list("link_id", flat=True))
        items = []
        for link in PaymentLink.objects.filter(
            provider=provider, programme=programme, status=LinkStatus.EFFECTIVE
        ).select_related("holder"):
            if link.pk in pending_links:
                continue
            due = ledger.balance(ledger.account(AccountKind.DUE, programme, holder=link.holder))
            if due > 0:
                items.append((link, due))
        if not items:
            return None
        batch_id = uuid.uuid4().hex
        batch = PayoutBatch.objects.create(
            batch_id=batch_id,
            idempotency_key=f"payout:{batch_id}",
            provider=provider,
            programme=programme,
        )
        PayoutItem.objects.bulk_create(
            [
                PayoutItem(batch=batch, item_id=f"{n:05d}", link=link, points=pts)
                for n, (link, pts) in enumerate(items, 1)
            ]
        )
    return batch


def _withdraw(batch: PayoutBatch, item: PayoutItem, reason: str, actor: Any) -> None:
    """Take an item out of a locked batch not yet sent, saying why, in the audit log too."""
    PayoutItem.objects.filter(pk=item.pk).update(result=ITEM_WITHDRAWN, reason=reason)
    audit.record(
        BENEFITS_PAYOUT_ITEM_WITHDRAWN,
        actor=actor,
        subject=item.link,
        payload={
            "provider": batch.provider.code,
            "account": item.link.masked_account,
            "batch": batch.batch_id,
            "item": item.item_id,
            "points": item.points,
            "reason": reason,
        },
    )


def _why_not_payable(item: PayoutItem) -> str | None:
    """Why the ledger no longer holds an item's points for its link (None: it does)."""
    link = item.link
    if link.status == LinkStatus.SUSPENDED:
        return WITHDRAWN_LINK_SUSPENDED
    if link.status != LinkStatus.EFFECTIVE:
        return WITHDRAWN_LINK_NOT_EFFECTIVE
    due = ledger.balance(ledger.account(AccountKind.DUE, link.programme, holder=link.holder))
    if due < item.points:
        return WITHDRAWN_POINTS_NOT_DUE
    return None


def link_items_withdraw(link: PaymentLink, *, reason: str, actor: Any) -> list[PayoutItem]:
    """Inside the caller's transaction, with the link locked: withdraw the link's items from
    the open batches not yet sent (locked), and return its items in batches sent and not yet
    accepted (whether the provider paid them is not known yet)."""
    open_batches = PayoutItem.objects.filter(link=link, batch__status=BatchStatus.OPEN).exclude(
        result=ITEM_WITHDRAWN
    )
    batches = (
        PayoutBatch.objects.select_for_update()
        .select_related("provider")
        .filter(pk__in=open_batches.values("batch_id"))
        .order_by("pk")
    )
    in_doubt: list[PayoutItem] = []
    for batch in batches:
        items = batch.items.filter(link=link).exclude(result=ITEM_WITHDRAWN).select_related("link")
        if batch.status != BatchStatus.OPEN:
            continue
        if batch.sent_at is not None:
            in_doubt.extend(items)
            continue
        for item in items:
            _withdraw(batch, item, reason, actor)
    return in_doubt


def _lock_batch(batch: PayoutBatch) -> PayoutBatch:
    """Inside a transaction: lock the links of the batch's items, by pk, and then the batch.

    A case's step locks its link and then the link's batches (`link_items_withdraw`), and
    posting a paid item's transfer names the link (PostgreSQL takes a key-share lock on it):
    a send that locked the batch first and a suspension or return of one of its links waited
    for each other ("deadlock detected"). One order, the links before their batch, as the case
    steps take them; by pk, so two sends sharing a link wait rather than deadlock."""
    links = PaymentLink.objects.filter(
        pk__in=PayoutItem.objects.filter(batch_id=batch.pk).values("link_id")
    )
    list(links.select_for_update().only("pk").order_by("pk"))
    batches = PayoutBatch.objects.select_for_update(of=("self",)).select_related("provider")
    return batches.get(pk=batch.pk)


def _fix_items(batch: PayoutBatch, actor: Any) -> tuple[PayoutBatch, list[PayoutItem]]:
    """The batch (locked, then committed) and the items to send. Before its first send, an
    item whose points the ledger no longer holds for the link (suspended, returned) is
    withdrawn and the batch marked sent; a batch with nothing left is withdrawn. A batch sent
    before is sent again with the same items: the provider refuses a batch id with others."""
    with transaction.atomic():
        locked = _lock_batch(batch)
        items = list(
            locked.items.exclude(result=ITEM_WITHDRAWN)
            .select_related("link", "link__holder", "link__programme")
            .order_by("item_id")
        )
        if locked.status != BatchStatus.OPEN or locked.sent_at is not None:
            return locked, items
        kept = []
        for item in items:
            reason = _why_not_payable(item)
            if reason is None:
                kept.append(item)
            else:
                _withdraw(locked, item, reason, actor)
        if kept:
            locked.sent_at = timezone.now()
            locked.save(update_fields=["sent_at"])
        else:
            locked.status = BatchStatus.WITHDRAWN
            locked.save(update_fields=["status"])
    return locked, kept


def payout_batch_send(batch: PayoutBatch, *, actor: Any = None) -> PayoutBatch:
    """Send a batch (again, if need be: the provider answers a repeat with its first answer)
    and post a payout transfer for each paid item, once. Before the first send, the items
    whose points a case suspended or returned meanwhile are withdrawn (`_fix_items`); a batch
    left with none is not sent."""
    try:
        # Before the batch is marked sent: a batch no adapter can send was marked sent (its
        # answer in doubt) and never handed to anyone.
        adapter = outside.systems().providers.get(batch.provider.code)
    except UnknownProvider as exc:
        raise BenefitsRefused(
            "unknown_provider",
            _(
                "No adapter is configured for the payment service %(provider)s; the payout "
                "batch was not sent."
            ),
            params={"provider": batch.provider.code},
        ) from exc
    fixed, items = _fix_items(batch, actor)
    if fixed.status == BatchStatus.WITHDRAWN:
        return fixed
    try:
        result = adapter.payout(
            batch.batch_id,
            [
                OutsidePayoutItem(
                    item_id=i.item_id, account_ref=i.link.account_ref, points=i.points
                )
                for i in items
            ],
            idempotency_key=batch.idempotency_key,
        )
    except OutsideError as exc:
        summary, text = incident_text.sentence(
            incident_text.PAYOUT_NOT_ACCEPTED,
            batch=batch.batch_id,
            reason=incident_text.refusal(exc),
        )
        incident_record(
            kind=IncidentKind.OUTSIDE_REFUSED if exc.refusal else IncidentKind.OUTSIDE_FAILURE,
            reason_code=exc.code,
            severity=Severity.MEDIUM,
            summary=summary,
            detail={
                "batch": batch.batch_id,
                "provider": batch.provider.code,
                "code": exc.code,
                "text": text,
            },
        )
        raise BenefitsRefused.carrying(
            exc.code, ja=exc.message_ja, en=exc.message_en, status=502
        ) from exc
    problems = answer_problems(batch.batch_id, items, result)
    if problems:
        raise _answer_mismatch(batch, result, problems)
    by_id = {r.item_id: r for r in result.items}
    with transaction.atomic():
        locked = _lock_batch(batch)
        # What was recorded before (a batch accepted, sent again): a refusal is told once.
        before = dict(
            PayoutItem.objects.filter(pk__in=[i.pk for i in items]).values_list("pk", "result")
        )
        paid_total = 0
        for item in items:
            r = by_id[item.item_id]
            status = str(r.status)
            PayoutItem.objects.filter(pk=item.pk).update(result=status, reason=r.reason or "")
            if status != ITEM_PAID:
                if before.get(item.pk) != ITEM_REJECTED:
                    _refused(locked, item, r.reason or "", actor)
                continue
            ledger.post_payout(
                item.link,
                item.points,
                batch_id=locked.batch_id,
                item_id=item.item_id,
                batch=locked,
                actor=actor,
            )
            paid_total += item.points
        if locked.status != BatchStatus.ACCEPTED:
            locked.status = BatchStatus.ACCEPTED
            locked.payout_ref = result.payout_ref
            locked.accepted_at = timezone.now()
            locked.save(update_fields=["status", "payout_ref", "accepted_at"])
            audit.record(
                BENEFITS_PAYOUT_SENT,
                actor=actor,
                subject=locked,
                payload={
                    "provider": locked.provider.code,
                    "batch": locked.batch_id,
                    "points": paid_total,
                },
            )
    return locked


# --- the provider's answer -----------------------------------------------------------------

# What is wrong with an answer, one phrase each (English message ids: `_in_both`).
_OTHER_BATCH = gettext_noop("it names batch %(other)s")
_MISSING = gettext_noop("item %(item)s is missing from it")
_REPEATED = gettext_noop("item %(item)s is in it more than once")
_NOT_SENT = gettext_noop("it names item %(item)s, which was not sent")
_OTHER_POINTS = gettext_noop("it answers item %(item)s for %(answered)s points, %(sent)s were sent")
_OTHER_ACCOUNT = gettext_noop("it answers item %(item)s for another account than the one sent")
_NO_STATUS = gettext_noop("it answers item %(item)s neither paid nor rejected")
_MORE = gettext_noop("and %(count)s more")
# A refusal's reason code the provider gave that we have no words for.
_OTHER_REASON = gettext_noop("the payment service's reason: %(code)s")
# The most problems an answer's sentence names (a batch of thousands left out whole).
_PROBLEMS_SAID = 3
# The most characters of a value from the answer said in a sentence.
_SAID_LENGTH = 64

Problem = tuple[str, dict[str, Any]]


def _said(value: object) -> str:
    return "".join(c if c.isprintable() else "?" for c in str(value))[:_SAID_LENGTH]


def answer_problems(
    batch_id: str, sent: Sequence[PayoutItem], result: PayoutResult
) -> list[Problem]:
    """What keeps the provider's answer from accounting for exactly the batch sent: its batch
    id, every item sent once and nothing else, each item's points and account, and an answer
    of paid or rejected for each (empty: it does). Each problem a message id and its values."""
    problems: list[Problem] = []
    if result.batch_id != batch_id:
        problems.append((_OTHER_BATCH, {"other": _said(result.batch_id)}))
    answered: dict[str, PayoutItemResult] = {}
    for each in result.items:
        if each.item_id in answered:
            problems.append((_REPEATED, {"item": _said(each.item_id)}))
        answered[each.item_id] = each
    ids = set()
    for item in sent:
        ids.add(item.item_id)
        r = answered.get(item.item_id)
        if r is None:
            problems.append((_MISSING, {"item": item.item_id}))
            continue
        if isinstance(r.points, bool) or r.points != item.points:
            problems.append(
                (
                    _OTHER_POINTS,
                    {"item": item.item_id, "answered": _said(r.points), "sent": item.points},
                )
            )
        if r.account_ref != item.link.account_ref:
            problems.append((_OTHER_ACCOUNT, {"item": item.item_id}))
        if str(r.status) not in (ITEM_PAID, ITEM_REJECTED):
            problems.append((_NO_STATUS, {"item": item.item_id}))
    problems.extend(
        (_NOT_SENT, {"item": _said(item_id)}) for item_id in answered if item_id not in ids
    )
    return problems


def _in_both(problems: list[Problem]) -> dict[str, str]:
    """The problems as one phrase in Japanese and in English (the first few, then how many
    more)."""
    said = problems[:_PROBLEMS_SAID]
    more = len(problems) - len(said)
    out = {}
    for language, separator in (("ja", "、"), ("en", "; ")):
        with translation.override(language):
            words = [gettext(message) % values for message, values in said]
            if more:
                words.append(gettext(_MORE) % {"count": more})
            out[language] = separator.join(words)
    return out


def _provider_words(provider: Provider) -> dict[str, str]:
    return incident_text.by_language(
        ja=provider.display_name_ja, en=provider.display_name_en or provider.display_name_ja
    )


def _answer_mismatch(
    batch: PayoutBatch, result: PayoutResult, problems: list[Problem]
) -> BenefitsRefused:
    """An answer that does not account for the batch sent is not recorded: the batch stays
    sent and open (in doubt, as when the answer is lost), its items keep no result and its
    links' points go into no other batch. A HIGH incident, once per batch and problem."""
    reason = _in_both(problems)
    summary, text = incident_text.sentence(
        incident_text.PAYOUT_ANSWER_MISMATCH,
        provider=_provider_words(batch.provider),
        batch=batch.batch_id,
        reason=reason,
    )
    code = "payout_answer_mismatch"
    recorded = Incident.objects.filter(
        reason_code=code, detail__batch=batch.batch_id, detail__problems=reason["en"]
    )
    if not recorded.exists():
        incident_record(
            kind=IncidentKind.OUTSIDE_FAILURE,
            reason_code=code,
            severity=Severity.HIGH,
            summary=summary,
            detail={
                "batch": batch.batch_id,
                "provider": batch.provider.code,
                "payout_ref": _said(result.payout_ref),
                "problems": reason["en"],
                "text": text,
            },
        )
    sentence = {}
    for language in ("ja", "en"):
        with translation.override(language):
            sentence[language] = incident_text.render(text) or summary
    return BenefitsRefused.carrying(
        code, ja=sentence["ja"], en=sentence["en"], status=502, detail=reason["en"]
    )


def _refused(batch: PayoutBatch, item: PayoutItem, reason: str, actor: Any) -> None:
    """The provider refused an item (its account suspended or closed there since the resident
    linked it): the points stay due, and the link is held from later batches until a city
    official releases it (`payout_hold_release`). Said once: in the audit log on the link and
    in a HIGH incident of the desk that linked it, for the office to contact the resident."""
    link = item.link
    payload = {
        "provider": batch.provider.code,
        "account": link.masked_account,
        "batch": batch.batch_id,
        "item": item.item_id,
        "points": item.points,
        "reason": reason,
    }
    audit.record(BENEFITS_PAYOUT_ITEM_REFUSED, actor=actor, subject=link, payload=payload)
    words = REFUSED_REASON_WORDS.get(reason)
    why = (
        incident_text.by_language(ja=words[0], en=words[1])
        if words
        else _in_both([(_OTHER_REASON, {"code": _said(reason) or "-"})])
    )
    summary, text = incident_text.sentence(
        incident_text.PAYOUT_ITEM_REFUSED,
        provider=_provider_words(batch.provider),
        points=f"{item.points:,}",
        batch=batch.batch_id,
        item=item.item_id,
        account=link.masked_account,
        visit=link.visit.reference,
        reason=why,
    )
    visit = link.visit
    incident_record(
        kind=IncidentKind.OUTSIDE_REFUSED,
        reason_code="provider_refused_payout",
        severity=Severity.HIGH,
        summary=summary,
        visit=visit,
        terminal=visit.terminal,
        staff=visit.staff,
        detail={**payload, "code": reason, "link": str(link.public_id), "text": text},
    )


def payout_hold_release(item: PayoutItem, *, actor: Any) -> list[PayoutItem]:
    """Release the hold of a link whose payout the provider refused (every refused item of the
    link not yet released): the next `payout_batch_create` puts its due points in a batch. A
    city official of the city whose desk linked it (or a superuser), once the resident has had
    the account reinstated at the provider; an item not refused, or released already, is
    refused. Returns the items released."""
    if actor is None or not actor.is_active or not has_any(actor, Role.CITY_OFFICIAL):
        raise BenefitsRefused(
            "payout_release_not_allowed",
            _("Only a city official may release a payout the payment service refused."),
            status=403,
        )
    with transaction.atomic():
        link = (
            PaymentLink.objects.select_for_update()
            .select_related("visit__terminal")
            .get(pk=item.link_id)
        )
        if not visible_terminal(actor, link.visit.terminal):
            raise BenefitsRefused(
                "payout_release_not_allowed",
                _(
                    "Only an official of the city whose desk linked this payment service may "
                    "release its payout."
                ),
                status=403,
            )
        held = list(held_payout_items().filter(link=link).select_for_update(of=("self",)))
        if item.pk not in {h.pk for h in held}:
            raise BenefitsRefused(
                "payout_not_held",
                _(
                    "This payout item is not held: the payment service did not refuse it, or "
                    "its hold was released already."
                ),
            )
        now = timezone.now()
        PayoutItem.objects.filter(pk__in=[h.pk for h in held]).update(released_at=now)
        for h in held:
            audit.record(
                BENEFITS_PAYOUT_HOLD_RELEASED,
                actor=actor,
                subject=link,
                payload={
                    "provider": h.batch.provider.code,
                    "account": link.masked_account,
                    "batch": h.batch.batch_id,
                    "item": h.item_id,
                },
            )
    return held
