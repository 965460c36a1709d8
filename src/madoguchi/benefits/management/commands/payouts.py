"""`madoguchi payouts list [--all] | create --provider P --programme X | send BATCH | held |
release BATCH ITEM --actor USER`: the payout batches to the payment providers, made, sent and
sent again from the shell, and the payouts a provider refused, held until a city official
releases them (docs/benefits.md, Payouts). A case's return refused `payout_in_doubt` names the
batch to send again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q, Sum
from django.utils import timezone

from madoguchi.accounts.models import User
from madoguchi.benefits.constants import ITEM_PAID, ITEM_REJECTED, ITEM_WITHDRAWN, BatchStatus
from madoguchi.benefits.models import PayoutBatch, Programme, Provider
from madoguchi.benefits.selectors import held_payout_items
from madoguchi.benefits.services import (
    payout_batch_create,
    payout_batch_send,
    payout_hold_release,
)
from madoguchi.cli import PlainErrors, counted
from madoguchi.refusals import Refusal

# `payouts send`'s exit status when the provider did not answer or refused the batch: the
# batch stays sent with its answer unknown (a cron tells it from a refusal of its arguments).
EXIT_NOT_ANSWERED = 3

SEND_WORDS = (
    "Send a payout batch to its provider, or send it again: the provider answers a batch it "
    "has seen with its first answer, and each paid item is posted to the ledger once. Before "
    "its first send, the items a case suspended or returned meanwhile are withdrawn. Exit "
    f"status: 0 answered (or nothing to send); 1 refused (no such batch, the ledger refused "
    f"the answer); {EXIT_NOT_ANSWERED} the provider did not answer or refused the batch, or "
    "answered for other items, points or another batch, which stays in doubt: send it again "
    "later (an answer that does not account for the batch: ask the provider what it paid). An "
    "item the provider refuses is held from later batches until `payouts release`."
)

# The shortest part of a batch id `send` takes (what `list` prints in full).
_PREFIX_MIN = 8


def _state(batch: PayoutBatch) -> str:
    """A batch's state in words, as `list` prints it."""
    if batch.status == BatchStatus.ACCEPTED and batch.accepted_at is not None:
        return f"accepted {timezone.localtime(batch.accepted_at):%Y-%m-%d %H:%M %Z}"
    if batch.status == BatchStatus.WITHDRAWN:
        return "withdrawn (nothing left to pay)"
    if batch.sent_at is None:
        return "not yet sent"
    sent = timezone.localtime(batch.sent_at)
    return f"sent {sent:%Y-%m-%d %H:%M %Z}, answer not recorded (in doubt: send it again)"


def _batch(given: str) -> PayoutBatch:
    """The batch of a whole batch id, or of its first characters (at least 8) if only one
    batch's id begins with them."""
    given = given.strip().lower()
    batches = PayoutBatch.objects.select_related("provider", "programme")
    found = batches.filter(batch_id=given).first()
    if found is not None:
        return found
    where = "`madoguchi payouts list` prints the open ones, `list --all` every batch"
    if len(given) < _PREFIX_MIN:
        raise CommandError(
            f"No payout batch {given!r}: give its id, or at least its first {_PREFIX_MIN} "
            f"characters ({where})."
        )
    matches = list(batches.filter(batch_id__startswith=given)[:2])
    if not matches:
        raise CommandError(f"No payout batch {given!r} ({where}).")
    if len(matches) > 1:
        raise CommandError(
            f"More than one payout batch begins with {given!r}: give more of its id."
        )
    return matches[0]


class Command(PlainErrors, BaseCommand):
    help = "Payout batches to the payment providers: list them, make one, send one (again)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = sub.add_parser(
            "list",
            help="List the open batches: not yet sent, or sent with their answer not recorded.",
        )
        listing.add_argument(
            "--all", action="store_true", help="Also the batches accepted or withdrawn."
        )
        create = sub.add_parser(
            "create",
            help="Make a batch of what is due to the residents linked to a provider.",
            description=(
                "Make a batch of the points due to each resident with an effective link to "
                "the provider in the programme (links already in an open batch are left out). "
                "Nothing is sent: `payouts send BATCH` sends it."
            ),
        )
        create.add_argument("--provider", required=True, help="the provider's code (e.g. sim-pay)")
        create.add_argument(
            "--programme", required=True, help="the programme's code (e.g. mynapoint-2)"
        )
        send = sub.add_parser(
            "send", help="Send a batch to its provider, or send it again.", description=SEND_WORDS
        )
        send.add_argument(
            "batch",
            help=f"the batch's id as `payouts list` prints it (or its first {_PREFIX_MIN}+)",
        )
        sub.add_parser(
            "held",
            help="List the payouts the provider refused, held from later batches.",
            description=(
                "The items a provider refused (e.g. the account suspended at the provider): "
                "their points stay due to the resident and go into no later batch until a city "
                "official releases the hold with `payouts release`."
            ),
        )
        release = sub.add_parser(
            "release",
            help="Release the hold of a payout the provider refused.",
            description=(
                "Once the resident has had the account reinstated at the payment service: "
                "release the hold of the item's link (every refused item of it), so that the "
                "next `payouts create` puts its due points in a batch. A city official of the "
                "city whose desk linked it."
            ),
        )
        release.add_argument(
            "batch",
            help=f"the refused item's batch, as `payouts held` prints it (or its first "
            f"{_PREFIX_MIN}+)",
        )
        release.add_argument("item", help="the item's id, as `payouts held` prints it (00001)")
        release.add_argument("--actor", required=True, help="the city official's user name")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "list":
            self._list(bool(opts["all"]))
        elif action == "create":
            self._create(str(opts["provider"]), str(opts["programme"]))
        elif action == "held":
            self._held()
        elif action == "release":
            self._release(_batch(str(opts["batch"])), str(opts["item"]), str(opts["actor"]))
        else:
            self._send(_batch(str(opts["batch"])))

    def _list(self, everything: bool) -> None:
        kept = ~Q(items__result=ITEM_WITHDRAWN)
        batches = (
            PayoutBatch.objects.select_related("provider", "programme")
            .annotate(n=Count("items", filter=kept), points=Sum("items__points", filter=kept))
            .order_by("created_at", "pk")
        )
        if not everything:
            batches = batches.filter(status=BatchStatus.OPEN)
        rows = [
            f"{b.batch_id}\t{b.provider.code}\t{b.programme.code}\t{b.n}\t{b.points or 0}\t"
            f"{timezone.localtime(b.created_at):%Y-%m-%d %H:%M}\t{_state(b)}"
            for b in batches
        ]
        if not rows:
            # On a database with no batch at all it said "every batch was accepted or
            # withdrawn", of batches that never were.
            self.stdout.write(
                "No open payout batch: every batch was accepted or withdrawn (`payouts list "
                "--all` shows them)."
                if not everything and PayoutBatch.objects.exists()
                else "No payout batch yet (`madoguchi payouts create` makes one)."
            )
            return
        self.stdout.write("batch\tprovider\tprogramme\titems\tpoints\tcreated\tstate")
        for row in rows:
            self.stdout.write(row)

    def _create(self, provider_code: str, programme_code: str) -> None:
        provider = Provider.objects.filter(code=provider_code).first()
        if provider is None:
            codes = ", ".join(Provider.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(
                f"No provider {provider_code!r} (the providers: {codes or 'none yet'}). "
                "No batch was made."
            )
        programme = Programme.objects.filter(code=programme_code).first()
        if programme is None:
            codes = ", ".join(Programme.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(
                f"No programme {programme_code!r} (the programmes: {codes or 'none yet'}). "
                "No batch was made."
            )
        batch = payout_batch_create(provider, programme)
        if batch is None:
            self.stdout.write(
                f"Nothing is due to the residents linked to {provider.code} in "
                f"{programme.code} (or it is in an open batch already): no batch was made."
            )
            return
        items = list(batch.items.values_list("points", flat=True))
        self.stdout.write(
            f"Batch {batch.batch_id} for {provider.code} ({programme.code}): "
            f"{counted(len(items), 'item')}, {counted(sum(items), 'point')}. Send it with "
            f"`madoguchi payouts send {batch.batch_id}`."
        )

    def _send(self, batch: PayoutBatch) -> None:
        name = f"Batch {batch.batch_id} ({batch.provider.code}, {batch.programme.code})"
        if batch.status == BatchStatus.ACCEPTED:
            when = timezone.localtime(batch.accepted_at or batch.created_at)
            self.stdout.write(
                f"{name} was accepted on {when:%Y-%m-%d %H:%M %Z}: its answer is recorded, "
                "nothing was sent."
            )
            return
        if batch.status == BatchStatus.WITHDRAWN:
            self.stdout.write(f"{name} was withdrawn (nothing left to pay): nothing was sent.")
            return
        again = batch.sent_at is not None
        try:
            sent = payout_batch_send(batch)
        except Refusal as exc:
            if exc.code == "payout_answer_mismatch":  # an incident is recorded
                raise CommandError(
                    f"{name}: the provider's answer does not account for the batch sent "
                    f"({exc.detail}); nothing of it was recorded, the batch stays sent with its "
                    "answer not recorded and its points go into no other batch: ask "
                    f"{batch.provider.code} what it paid for this batch (exit "
                    f"{EXIT_NOT_ANSWERED}).",
                    returncode=EXIT_NOT_ANSWERED,
                ) from exc
            if exc.status == 502:  # the provider's failure or refusal (an incident is recorded)
                raise CommandError(
                    f"{name}: {exc.message_en.rstrip('.')}. It stays sent with its answer not "
                    f"recorded; send it again later (exit {EXIT_NOT_ANSWERED}).",
                    returncode=EXIT_NOT_ANSWERED,
                ) from exc
            raise CommandError(f"{name}: {exc.message_en}") from exc
        if sent.status == BatchStatus.WITHDRAWN:
            self.stdout.write(
                f"{name}: every item was withdrawn before sending (a case suspended or "
                "returned its points, see `payouts list --all`); nothing was sent."
            )
            return
        items = sent.items.exclude(result=ITEM_WITHDRAWN)
        paid = items.filter(result=ITEM_PAID).aggregate(n=Count("pk"), points=Sum("points"))
        unpaid = list(items.exclude(result=ITEM_PAID).order_by("item_id"))
        withdrawn = sent.items.filter(result=ITEM_WITHDRAWN).count()
        line = (
            f"{name} {'sent again' if again else 'sent'}; answered by the provider "
            f"(payout reference {sent.payout_ref or '-'}): {counted(paid['n'], 'item')} paid, "
            f"{counted(paid['points'] or 0, 'point')}"
        )
        if unpaid:
            line += f"; {counted(len(unpaid), 'item')} not paid"
        if withdrawn:
            line += f"; {counted(withdrawn, 'item')} withdrawn before the first send"
        self.stdout.write(line + ".")
        for item in unpaid:
            why = f" ({item.reason})" if item.reason else ""
            held = ""
            if item.result == ITEM_REJECTED and item.released_at is None:
                held = (
                    "; held from later batches (an incident is recorded) until a city official "
                    f"runs `madoguchi payouts release {sent.batch_id} {item.item_id} --actor "
                    "NAME`"
                )
            self.stdout.write(
                f"  item {item.item_id}: {item.result or 'no answer'}{why}, "
                f"{counted(item.points, 'point')}{held}"
            )

    def _held(self) -> None:
        rows = [
            f"{i.batch.batch_id}\t{i.item_id}\t{i.batch.provider.code}\t"
            f"{i.batch.programme.code}\t{i.link.masked_account}\t{i.points}\t"
            f"{i.reason or '-'}\t{i.link.visit.reference}"
            for i in held_payout_items()
        ]
        if not rows:
            self.stdout.write("No payout is held: no provider refused an item not yet released.")
            return
        self.stdout.write("batch\titem\tprovider\tprogramme\taccount\tpoints\treason\tvisit")
        for row in rows:
            self.stdout.write(row)

    def _release(self, batch: PayoutBatch, item_id: str, username: str) -> None:
        name = f"Batch {batch.batch_id} ({batch.provider.code}, {batch.programme.code})"
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"No user {username!r}. Nothing was released.")
        item = batch.items.select_related("link").filter(item_id=item_id.strip()).first()
        if item is None:
            raise CommandError(
                f"{name} has no item {item_id.strip()!r} (`payouts held` prints the held "
                "ones). Nothing was released."
            )
        try:
            released = payout_hold_release(item, actor=actor)
        except Refusal as exc:
            raise CommandError(
                f"{name}, item {item.item_id}: {exc.message_en} Nothing was released."
            ) from exc
        self.stdout.write(
            f"{name}, item {item.item_id}: the hold of the account {item.link.masked_account} "
            f"is released ({counted(len(released), 'refused item')}); the next `payouts "
            f"create --provider {batch.provider.code} --programme {batch.programme.code}` "
            "puts its due points in a batch."
        )
