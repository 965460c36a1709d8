"""`madoguchi audit verify | checkpoint | tail | keygen | pubkey`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, router
from django.utils import timezone

from madoguchi.audit import conf, note, selectors, services
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.verify import verify_chain, verify_checkpoints


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
        verify.add_argument("--no-checkpoints", action="store_true", help="Check the chain only.")
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

    def do_verify(self, *, verifier_key: str, no_checkpoints: bool, **_: Any) -> None:
        using = router.db_for_read(AuditEvent) or DEFAULT_DB_ALIAS
        result = verify_chain(using, keep_leaves=not no_checkpoints)
        if not result.ok:
            raise CommandError(result.message, returncode=1)
        self.stdout.write(result.message)
        if no_checkpoints:
            return
        key_text = verifier_key or conf.verifier_key()
        if not key_text:
            if not conf.key_file().exists():
                self.stdout.write(
                    "Signed checkpoints not checked: no verifier key and no signing key "
                    f"at {conf.key_file()}."
                )
                return
            key_text = services.checkpoint_verifier_key()
        try:
            name, public_key = note.parse_verifier_key(key_text)
        except note.NoteError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        report = verify_checkpoints(
            result.leaves,
            origin=conf.origin(),
            key_name=name,
            public_key=public_key,
            using=using,
            directory=conf.checkpoint_dir(),
        )
        if not report.ok:
            raise CommandError(report.message, returncode=1)
        self.stdout.write(report.message)

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
