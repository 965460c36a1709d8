"""`madoguchi audit verify | checkpoint | tail | keygen | pubkey`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, router
from django.utils import timezone

from madoguchi.audit import conf, selectors, services
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.verify import verify_log


class Command(BaseCommand):
    help = "Verify, checkpoint and read the tamper-evident audit log."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = sub.add_parser(
            "verify",
            help="Recompute every leaf hash and the chain, and check the signed checkpoints; "
            "exit 1 naming the first bad sequence number.",
        )
        verify.add_argument(
            "--verifier-key",
            default="",
            help="Checkpoint verifier key '<name>+<hash>+<key>' (default: from the signing key).",
        )
        verify.add_argument(
            "--skip-checkpoints",
            "--no-checkpoints",
            dest="skip_checkpoints",
            action="store_true",
            help="Check the chain only; the result says the checkpoints were skipped.",
        )
        sub.add_parser("checkpoint", help="Sign a Merkle tree head checkpoint over the whole log.")
        tail = sub.add_parser("tail", help="Print the last events with their display texts.")
        tail.add_argument("-n", type=int, default=20, help="How many events (default 20).")
        tail.add_argument("--lang", choices=["ja", "en"], default="ja")
        sub.add_parser("keygen", help="Create the Ed25519 checkpoint signing key.")
        sub.add_parser("pubkey", help="Print the checkpoint verifier key for auditors.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            getattr(self, f"do_{action}")(**options)
        except services.AuditError as exc:
            raise CommandError(str(exc)) from exc

    def do_verify(self, *, verifier_key: str, skip_checkpoints: bool, **_: Any) -> None:
        using = router.db_for_read(AuditEvent) or DEFAULT_DB_ALIAS
        key_text = verifier_key or conf.verifier_key()
        if not key_text and not skip_checkpoints and conf.key_file().exists():
            key_text = services.checkpoint_verifier_key()
        report = verify_log(
            using=using,
            verifier_key=key_text,
            skip_checkpoints=skip_checkpoints,
            directory=conf.checkpoint_dir(),
        )
        for line in report.lines[:-1]:
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(report.lines[-1], returncode=1)
        self.stdout.write(report.lines[-1])

    def do_checkpoint(self, **_: Any) -> None:
        checkpoint = services.write_checkpoint()
        self.stdout.write(
            f"Checkpoint written for {checkpoint.size} events, root {checkpoint.root_hash}, "
            f"in {conf.checkpoint_dir()}."
        )
        self.stdout.write(checkpoint.note, ending="")

    def do_tail(self, *, n: int, lang: str, **_: Any) -> None:
        if n < 1:
            raise CommandError("-n must be at least 1.")
        for event in selectors.latest(n):
            when = timezone.localtime(event.time).isoformat(timespec="seconds")
            text = selectors.display(event, lang)
            self.stdout.write(f"#{event.seq} {when} {event.event_name}  {text}")

    def do_keygen(self, **_: Any) -> None:
        path = services.create_checkpoint_key()
        self.stdout.write(f"Checkpoint signing key written to {path}.")
        self.stdout.write(f"Verifier key: {services.checkpoint_verifier_key(path=path)}")

    def do_pubkey(self, **_: Any) -> None:
        self.stdout.write(services.checkpoint_verifier_key())
