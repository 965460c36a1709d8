"""`madoguchi audit verify | checkpoint | prove | check-proof | tail | keygen | pubkey`."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, router
from django.utils import timezone

from madoguchi.audit import conf, merkle, proofcheck, selectors, services
from madoguchi.audit.models import AuditEvent
from madoguchi.audit.verify import LogReport, verify_log
from madoguchi.cli import PlainErrors, read_text_file


def _verifier_key_option(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--verifier-key",
        default="",
        help="Checkpoint verifier key '<name>+<hash>+<key>' (default: from the signing key).",
    )


def _verify(verifier_key: str, *, skip_checkpoints: bool = False) -> LogReport:
    """`verify_log` (the one verification rule: the chain, then every signed checkpoint) over
    the log's database, with the verifier key given, configured, or from the signing key."""
    using = router.db_for_read(AuditEvent) or DEFAULT_DB_ALIAS
    key_text = verifier_key or conf.verifier_key()
    if not key_text and not skip_checkpoints and conf.key_file().exists():
        key_text = services.checkpoint_verifier_key()
    return verify_log(
        using=using,
        verifier_key=key_text,
        skip_checkpoints=skip_checkpoints,
        directory=conf.checkpoint_dir(),
    )


# A proof is a few dozen hashes and a checkpoint a few lines; an auditor handed something far
# larger (or /dev/zero, or a binary file) is told so instead of a traceback or a read forever.
PROOF_FILE_LIMIT = 1_000_000
TAIL_MOST = 1_000_000_000  # `audit tail -n`: any log's whole length, well inside 64 bits


def _read_note(path: str) -> str:
    if not path:
        return ""
    return read_text_file(path, limit=PROOF_FILE_LIMIT, what="checkpoint file")


def _read_proof(path: str) -> str:
    """The proof's text: a file, or standard input for `-`, each at most PROOF_FILE_LIMIT bytes
    of UTF-8 (else a `CommandError` saying why)."""
    if path != "-":
        return read_text_file(path, limit=PROOF_FILE_LIMIT, what="proof file")
    # The bytes when there are any (a pipe); a text stream given in their place (a test's) as is.
    stream = getattr(sys.stdin, "buffer", sys.stdin)
    data = stream.read(PROOF_FILE_LIMIT + 1)
    if len(data) > PROOF_FILE_LIMIT:
        raise CommandError(
            f"The proof on standard input is larger than {PROOF_FILE_LIMIT:,} bytes; "
            "give the proof `madoguchi audit prove` printed."
        )
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(
            f"The proof on standard input is not UTF-8 text (byte {exc.start} cannot be read); "
            "give the proof `madoguchi audit prove` printed."
        ) from exc


class Command(PlainErrors, BaseCommand):
    help = "Verify, checkpoint and read the tamper-evident audit log."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = sub.add_parser(
            "verify",
            help="Recompute every leaf hash and the chain, and check the signed checkpoints; "
            "exit 1 naming the first bad sequence number.",
        )
        _verifier_key_option(verify)
        verify.add_argument(
            "--skip-checkpoints",
            "--no-checkpoints",
            dest="skip_checkpoints",
            action="store_true",
            help="Check the chain only; the result says the checkpoints were skipped.",
        )
        sub.add_parser("checkpoint", help="Sign a Merkle tree head checkpoint over the whole log.")
        prove = sub.add_parser(
            "prove",
            help="RFC 9162 proofs: that event --seq is in the tree of --size events (inclusion), "
            "or that the tree of --size extends the tree of --from events (consistency).",
        )
        what = prove.add_mutually_exclusive_group(required=True)
        what.add_argument("--seq", type=int, help="Inclusion proof of this event.")
        what.add_argument("--from", dest="old_size", type=int, help="Consistency from this size.")
        prove.add_argument(
            "--size",
            type=int,
            default=None,
            help="Tree size (default: the newest signed checkpoint's, else the whole log).",
        )
        _verifier_key_option(prove)
        check = sub.add_parser(
            "check-proof",
            help="Check a proof `prove` printed (a file, or - for standard input) with the RFC "
            "9162 verifier, against a signed checkpoint or a root you trust; no database needed.",
        )
        check.add_argument("file", nargs="?", default="-", help="The proof (default: stdin).")
        check.add_argument(
            "--checkpoint", default="", help="Signed checkpoint file: its size and root."
        )
        check.add_argument(
            "--old-checkpoint",
            default="",
            help="Signed checkpoint of the older tree (consistency): its size and root.",
        )
        _verifier_key_option(check)
        check.add_argument("--root", default="", help="The tree's root (hex) you trust.")
        check.add_argument("--old-root", default="", help="The older tree's root (hex).")
        check.add_argument("--size", type=int, default=None, help="The tree's size.")
        claim = check.add_mutually_exclusive_group()
        claim.add_argument("--seq", type=int, default=None, help="The event (inclusion).")
        claim.add_argument(
            "--from", dest="old_size", type=int, default=None, help="The older size."
        )
        check.add_argument("--leaf", default="", help="The event's leaf hash (hex).")
        tail = sub.add_parser("tail", help="Print the last events with their display texts.")
        tail.add_argument("-n", type=int, default=20, help="How many events (default 20).")
        tail.add_argument("--lang", choices=["ja", "en"], default="ja")
        sub.add_parser("keygen", help="Create the Ed25519 checkpoint signing key.")
        sub.add_parser("pubkey", help="Print the checkpoint verifier key for auditors.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"].replace("-", "_")
        try:
            getattr(self, f"do_{action}")(**options)
        except services.AuditError as exc:
            raise CommandError(str(exc)) from exc

    def do_verify(self, *, verifier_key: str, skip_checkpoints: bool, **_: Any) -> None:
        report = _verify(verifier_key, skip_checkpoints=skip_checkpoints)
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

    def do_prove(
        self,
        *,
        seq: int | None,
        old_size: int | None,
        size: int | None,
        verifier_key: str,
        **_: Any,
    ) -> None:
        # A log whose chain is broken, or that no longer matches a signed checkpoint (cut or
        # rewritten), would prove the wrong tree: the proof is over a log `audit verify` passes,
        # checked by the same rule.
        report = _verify(verifier_key)
        if not report.ok:
            raise CommandError(
                f"{report.lines[-1]} No proof is given over a log that does not verify.",
                returncode=1,
            )
        leaves = report.leaves
        if not leaves:
            raise CommandError("The audit log is empty: there is no event to prove yet.")
        # The table's checkpoints as their signed notes say (verify opened each and refused a
        # row whose size or root columns are not its note's): the columns are not signed.
        signed_rows = report.signed_rows
        newest = max((signed.size for _, signed in signed_rows), default=None)
        # When no --size is given, the proof is over the newest signed checkpoint; a request
        # beyond it but within the log is refused with the two ways forward.
        beyond = ""
        if size is None:
            size = newest if newest is not None else len(leaves)
            if size < len(leaves):
                beyond = (
                    f" (the newest signed checkpoint covers events 1..{size}; the log holds "
                    f"{len(leaves)}: run `madoguchi audit checkpoint` first, or give "
                    f"--size {len(leaves)})"
                )
        if size == 0 and beyond:  # the newest checkpoint was signed over the empty log
            raise CommandError(
                f"The newest signed checkpoint covers no event; the log holds {len(leaves)}: run "
                f"`madoguchi audit checkpoint` first, or give --size {len(leaves)}."
            )
        if not 1 <= size <= len(leaves):
            raise CommandError(f"--size must be 1..{len(leaves)} (the log holds {len(leaves)}).")
        # Every argument is checked before anything is printed.
        if seq is not None and not 1 <= seq <= size:
            hint = beyond if size < seq <= len(leaves) else ""
            raise CommandError(f"--seq must be 1..{size}{hint}.")
        if seq is None and (old_size is None or not 1 <= old_size <= size):
            hint = beyond if old_size is not None and size < old_size <= len(leaves) else ""
            raise CommandError(f"--from must be 1..{size}{hint}.")
        root = merkle.root(leaves[:size])
        matching = [pk for pk, signed in signed_rows if (signed.size, signed.root) == (size, root)]
        self.stdout.write(f"tree size {size}, root {root.hex()}")
        if matching:
            self.stdout.write(f"signed checkpoint {matching[0]} for this size matches the root")
        if seq is not None:
            index = seq - 1
            proof = merkle.inclusion_proof(leaves[:size], index)
            merkle.verify_inclusion(leaves[index], index, size, proof, root)
            self.stdout.write(
                f"inclusion of event #{seq}: leaf index {index}, leaf {leaves[index].hex()}"
            )
        else:
            assert old_size is not None
            old_root = merkle.root(leaves[:old_size])
            proof = merkle.consistency_proof(leaves[:size], old_size)
            merkle.verify_consistency(old_size, size, old_root, root, proof)
            self.stdout.write(f"consistency from size {old_size}, root {old_root.hex()}")
        self.stdout.write(f"proof ({len(proof)} hashes, verified):")
        for node in proof:
            self.stdout.write(f"  {node.hex()}")

    def do_check_proof(self, **options: Any) -> None:
        text = _read_proof(options["file"])
        key_text = options["verifier_key"] or conf.verifier_key()
        if not key_text and (options["checkpoint"] or options["old_checkpoint"]):
            if not conf.key_file().exists():
                raise CommandError("Give --verifier-key to open the checkpoint.")
            key_text = services.checkpoint_verifier_key()
        try:
            result = proofcheck.check(
                text,
                checkpoint=_read_note(options["checkpoint"]),
                old_checkpoint=_read_note(options["old_checkpoint"]),
                verifier_key=key_text,
                **{k: options[k] for k in ("root", "old_root", "size", "seq", "old_size", "leaf")},
            )
        except proofcheck.Refused as exc:
            raise CommandError(f"Proof refused: {exc}", returncode=1) from exc
        for line in result:
            self.stdout.write(line)

    def do_tail(self, *, n: int, lang: str, **_: Any) -> None:
        if not 1 <= n <= TAIL_MOST:
            # A number past 64 bits reached the database, which answered with a traceback.
            raise CommandError(f"-n must be from 1 to {TAIL_MOST:,}, not {n}.")
        events = selectors.latest(n)
        if not events:
            self.stdout.write("The audit log is empty: no event has been recorded yet.")
        for event in events:
            when = timezone.localtime(event.time).isoformat(timespec="seconds")
            text = selectors.display(event, lang)
            self.stdout.write(f"#{event.seq} {when} {event.event_name}  {text}")

    def do_keygen(self, **_: Any) -> None:
        path = services.create_checkpoint_key()
        self.stdout.write(f"Checkpoint signing key written to {path}.")
        self.stdout.write(f"Verifier key: {services.checkpoint_verifier_key(path=path)}")

    def do_pubkey(self, **_: Any) -> None:
        self.stdout.write(services.checkpoint_verifier_key())
