"""`madoguchi scenario sakai`: replay the seed's incident against a running server and agent."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from madoguchi.agent.config import CREDENTIAL_ENV
from madoguchi.benefits.identifiers import identifier_matches
from madoguchi.benefits.models import PaymentLink
from madoguchi.card.virtual import VirtualCard
from madoguchi.cli import PlainErrors
from madoguchi.identity.models import HolderCertificate
from madoguchi.scenario.sakai import (
    B_PAYMENT_SERVICE_ID,
    BENEFITS_A,
    BENEFITS_B,
    TEST_A,
    TEST_B,
    SakaiConfig,
    run,
)


def demo_scenario_file() -> Path:
    return Path(settings.DATA_DIR) / "demo" / "scenario.json"


# Where the secrets come from when not on the command line (nor in the demo's file).
PASSWORD_ENV = "MADOGUCHI_SCENARIO_PASSWORD"
SECRET_ENV = {"terminal_credential": CREDENTIAL_ENV, "password": PASSWORD_ENV}


class Command(PlainErrors, BaseCommand):
    help = (
        "Replay the Sakai incident (resident A's visit left open, B's point application keyed "
        "into it) against a running desk; exit 0 only if nothing was committed for the wrong person."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=["sakai"])
        parser.add_argument("--server", help="Server URL (default: the running demo's).")
        parser.add_argument("--agent", help="Card agent URL of the terminal.")
        parser.add_argument(
            "--terminal-credential",
            help=f"The terminal's credential; prefer {CREDENTIAL_ENV} (an argument shows in "
            "the process list and the shell's history; it warns).",
        )
        parser.add_argument("--username")
        parser.add_argument(
            "--password",
            help=f"The desk member's password; prefer {PASSWORD_ENV} (an argument shows in "
            "the process list and the shell's history; it warns).",
        )
        parser.add_argument("--card-a", default="sakai-a")
        parser.add_argument("--card-b", default="sakai-b")
        parser.add_argument("--card-dir", help="Folder of the virtual card files.")
        parser.add_argument(
            "--procedures",
            choices=["benefits", "test"],
            default="benefits",
            help="benefits: A's health-insurance registration and B's point application "
            "(needs the simulated outside systems); test: the stand-in procedure.",
        )

    def handle(self, *args: object, **opts: object) -> None:
        defaults: dict[str, str] = {}
        path = demo_scenario_file()
        if path.exists():
            defaults = json.loads(path.read_text())
        keys = ("server", "agent", "terminal_credential", "username", "password", "card_dir")
        for key, env in SECRET_ENV.items():
            if opts.get(key):
                self.stderr.write(
                    f"Warning: --{key.replace('_', '-')} shows in the process list and the "
                    f"shell's history; set {env} instead."
                )
        values = {
            key: opts.get(key) or os.environ.get(SECRET_ENV.get(key, ""), "") or defaults.get(key)
            for key in keys
        }
        missing = [k for k, v in values.items() if not v and k != "card_dir"]
        if missing:
            raise CommandError(
                "Missing "
                + ", ".join("--" + m.replace("_", "-") for m in missing)
                + " (start `make demo` first, or pass them)."
            )
        for key in ("server", "agent"):
            url = str(values[key])
            if not url.startswith(("http://", "https://")):
                raise CommandError(
                    f"--{key} is {url!r}: give the {key}'s URL, starting http:// or https:// "
                    "(`make demo` writes the demo's for this command)."
                )
        benefits = opts["procedures"] == "benefits"
        config = SakaiConfig(
            server=str(values["server"]),
            agent=str(values["agent"]),
            terminal_credential=str(values["terminal_credential"]),
            username=str(values["username"]),
            password=str(values["password"]),
            card_a=str(opts["card_a"]),
            card_b=str(opts["card_b"]),
            card_dir=Path(str(values["card_dir"])) if values["card_dir"] else None,
            a_procedure=BENEFITS_A if benefits else TEST_A,
            b_procedure=BENEFITS_B if benefits else TEST_B,
        )
        try:
            result = run(config, say=self.stdout.write)
        except httpx.TransportError as exc:
            # An unreachable server or agent is one line, not httpx's traceback.
            where = getattr(getattr(exc, "request", None), "url", None)
            raise CommandError(
                f"Could not reach {where or 'the server or the card agent'}: "
                f"{str(exc).rstrip('.')}. "
                "Is the demo running (`make demo`), or are --server and --agent right?"
            ) from exc
        wrong = self._links_for_a_to_b_account(config) if benefits else None
        if wrong is not None:
            self.stdout.write(f"Database check: {wrong} link(s) of B's payment account to A.")
        if not result.ok or wrong:
            raise CommandError("A commit for the wrong person was found, or a step failed.")

    def _links_for_a_to_b_account(self, config: SakaiConfig) -> int | None:
        """When this command shares the server's database (the demo), look there too."""
        if config.card_dir is None:
            return None
        card = VirtualCard.load(config.card_dir / f"{config.card_a}.card")
        fp = hashlib.sha256(card.auth_certificate.public_bytes(Encoding.DER)).hexdigest()
        try:
            a = HolderCertificate.objects.filter(fingerprint=fp).first()
            if a is None:
                return None
            links = PaymentLink.objects.filter(holder=a.holder)
            return sum(
                identifier_matches(B_PAYMENT_SERVICE_ID, link.account_hash) for link in links
            )
        except Exception:
            return None
