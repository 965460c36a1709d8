"""`madoguchi identity add-anchor|import-crl|link-renewal|anchors`."""

from __future__ import annotations

import argparse
import getpass
import re
import time

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation

from madoguchi.cli import PlainErrors, field_rules, read_file
from madoguchi.identity import services
from madoguchi.identity.checks import is_jlis_auth_ca
from madoguchi.identity.models import RevocationList, TrustAnchor
from madoguchi.plaintext import plain_name

# A certificate (PEM or DER) is a few kB; a CRL may list many revocations (the JPKI CAs'
# run to tens of MB). Larger files, devices and pipes are refused with the reason.
CERTIFICATE_LIMIT = 1_000_000
CRL_LIMIT = 512_000_000


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"a whole number of seconds (0: import once), not {text!r}"
        )
    return value


class Command(PlainErrors, BaseCommand):
    help = "Trust anchors and revocation lists for card authentication."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add-anchor", help="Trust the CA certificate(s) in a PEM file.")
        add.add_argument("file")
        add.add_argument("--name", default="")
        crl = sub.add_parser("import-crl", help="Import a CRL from a file or an http(s) URL.")
        crl.add_argument("source")
        crl.add_argument(
            "--every",
            type=_seconds,
            default=0,
            metavar="SECONDS",
            help="Keep running and import again every SECONDS (a scheduled refresh).",
        )
        link = sub.add_parser(
            "link-renewal", help="Link a renewed certificate (PEM) to the holder of an old one."
        )
        link.add_argument("old_fingerprint")
        link.add_argument("new_certificate")
        sub.add_parser("anchors", help="List trust anchors and their newest CRL.")
        off = sub.add_parser(
            "deactivate-anchor",
            help="Stop trusting a CA: no card it issued authenticates any more (audited).",
        )
        off.add_argument(
            "fingerprint", help="the anchor's fingerprint, or its first 16 hex digits as listed"
        )

    def handle(self, *args: object, **opts: object) -> None:
        action = opts["action"]
        try:
            if action == "add-anchor":
                # The column's length and one plain line (it is listed a line an anchor): a
                # name of 201 characters was PostgreSQL's "value too long" traceback.
                with translation.override("en"):  # the command's other sentences are English
                    try:
                        field_rules(TrustAnchor, "name", str(opts["name"]))
                        plain_name(str(opts["name"]))
                    except ValidationError as exc:
                        raise CommandError(
                            f"--name: {' '.join(exc.messages)} Nothing was trusted."
                        ) from None
                anchor = services.trust_anchor_add(
                    pem=read_file(
                        str(opts["file"]), limit=CERTIFICATE_LIMIT, what="certificate file"
                    ),
                    name=str(opts["name"]),
                    os_user=getpass.getuser(),
                )
                self.stdout.write(f"Trusted {anchor.subject_dn} ({anchor.fingerprint[:16]}…).")
                if not settings.DEMO and not is_jlis_auth_ca(anchor):
                    # Said at once, as check --deploy will refuse it (madoguchi.E105).
                    self.stderr.write(
                        "Warning: this is not J-LIS's user-authentication CA: every card it "
                        "issued will be taken as a resident's My Number card. On a deployment, "
                        "stop trusting it: madoguchi identity deactivate-anchor "
                        f"{anchor.fingerprint[:16]} (check --deploy refuses it, madoguchi.E105)."
                    )
            elif action == "deactivate-anchor":
                anchor = services.trust_anchor_deactivate(
                    fingerprint_prefix=str(opts["fingerprint"]), os_user=getpass.getuser()
                )
                self.stdout.write(
                    f"No longer trusted: {anchor.name} ({anchor.fingerprint[:16]}…). No card it "
                    "issued authenticates from now on (audited)."
                )
            elif action == "import-crl":
                self._import_crl(str(opts["source"]), int(opts["every"]))  # type: ignore[call-overload]
            elif action == "link-renewal":
                done = services.certificate_renewal_link(
                    old_fingerprint=str(opts["old_fingerprint"]),
                    new_certificate_pem=read_file(
                        str(opts["new_certificate"]),
                        limit=CERTIFICATE_LIMIT,
                        what="certificate file",
                    ),
                    os_user=getpass.getuser(),
                )
                cert = done.certificate
                if done.merged:
                    self.stdout.write(
                        f"Linked {cert.fingerprint[:16]}… to holder {cert.holder}. The card had "
                        f"been used at a desk before: holder {done.merged}, which that visit "
                        "created, held nothing signed or linked and was merged into it (its "
                        "visits now show on the resident's own page)."
                    )
                elif done.linked:
                    self.stdout.write(f"Linked {cert.fingerprint[:16]}… to holder {cert.holder}.")
                else:
                    self.stdout.write(
                        f"{cert.fingerprint[:16]}… is already linked to holder {cert.holder}: "
                        "nothing changed."
                    )
            else:
                if not TrustAnchor.objects.exists():
                    self.stdout.write(
                        "No trust anchors yet: no card can authenticate. Add J-LIS's CA "
                        "certificates with madoguchi identity add-anchor FILE, then their "
                        "CRLs with madoguchi identity import-crl (docs/tokens.md)."
                    )
                else:  # one header line naming the columns, as `madoguchi sim accounts`
                    self.stdout.write("name\tfingerprint\tactive\tcrl\tj-lis")
                for a in TrustAnchor.objects.order_by("name"):
                    crl = RevocationList.objects.filter(issuer_dn=a.subject_dn).first()
                    state = (
                        f"CRL next update {timezone.localtime(crl.next_update):%Y-%m-%d %H:%M %Z}"
                        if crl
                        else "no CRL"
                    )
                    # Values only, under the header (it read active=True): yes or no, as
                    # `sim accounts` prints its registered column.
                    active = "yes" if a.is_active else "no"
                    # Whether it is J-LIS's user-authentication CA (check --deploy's E105).
                    jlis = "yes" if is_jlis_auth_ca(a) else "no"
                    self.stdout.write(f"{a.name}\t{a.fingerprint[:16]}\t{active}\t{state}\t{jlis}")
        except services.IdentityRefused as exc:
            # The operator reads the detail too (the parser's or the check's own words).
            said = f"{exc.message_en} ({exc.detail})" if exc.detail else exc.message_en
            raise CommandError(said) from exc
        except OSError as exc:
            raise CommandError(str(exc)) from exc

    def _fetch(self, source: str) -> bytes:
        if source.startswith(("http://", "https://")):
            try:
                response = httpx.get(source, timeout=30, follow_redirects=True)
            except (httpx.InvalidURL, UnicodeError) as exc:
                # `http://[::1` (a bracket left open), a host name too long: httpx's
                # InvalidURL or the idna codec's UnicodeError, each a traceback.
                raise CommandError(
                    f"Cannot fetch {source}: it is not a valid URL ({_plain(exc)}); give the "
                    "CRL's http:// or https:// address, or a file."
                ) from exc
            except httpx.HTTPError as exc:
                reason = _plain(exc) or exc.__class__.__name__
                raise CommandError(f"Could not fetch {source}: {reason}") from exc
            if response.status_code != 200:  # httpx's own sentence ends with a web page
                raise CommandError(
                    f"Could not fetch {source}: the server answered {response.status_code} "
                    f"{response.reason_phrase}, not the CRL."
                )
            return response.content
        if "://" in source:
            raise CommandError(
                f"Cannot fetch {source}: a CRL is read from a file or an http:// or https:// URL."
            )
        return read_file(source, limit=CRL_LIMIT, what="CRL file")

    def _import_crl(self, source: str, every: int) -> None:
        while True:
            row = services.crl_import(
                data=self._fetch(source), source=source, os_user=getpass.getuser()
            )
            next_update = timezone.localtime(row.next_update)
            self.stdout.write(
                f"Imported CRL of {row.issuer_dn}: {row.entries} revoked,"
                f" next update {next_update:%Y-%m-%d %H:%M %Z}."
            )
            if every <= 0:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                # Ctrl-C between imports (the loop's usual state) printed a traceback: the
                # operator stopped it on purpose, and the last import stands.
                self.stdout.write("Stopped; the last import stands.")
                return


def _plain(exc: BaseException) -> str:
    """An error's words without the errno in front (`[Errno -2] Name or service not known`) or
    the idna codec's name in front of its reason: what a person reads."""
    said = re.sub(r"^\[Errno -?\d+\] ", "", str(exc))
    idna = re.fullmatch(r"encoding with 'idna' codec failed \(UnicodeError: (.*)\)", said)
    return f"its host name: {idna.group(1)}" if idna else said
