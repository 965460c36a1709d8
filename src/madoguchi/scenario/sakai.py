"""The seed's incident, replayed against a running server and card agent.

Resident A is served; nobody presses "next resident"; B's point application is keyed into A's
still-open visit and completion is attempted: with B's card, with no card, with A's card
re-inserted after B's, and with B's card in a reader the server never hears from.
Every attempt must commit nothing; A's own procedure, signed by A's card, must commit.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from madoguchi.card.jpki import JpkiClient
from madoguchi.card.transport import VirtualTransport
from madoguchi.card.virtual import VirtualCard
from madoguchi.identity.tokens import build_completion_token, completion_signing_input

from .driver import DeskDriver, DriverError, Refusal

# What A came for (as in the seed: health-insurance use registration), and B's point application
# with B's own payment service. The records are the simulators' seed entries that the demo's
# residents do not use, so a person trying the demo by hand does not get in the scenario's way.
B_PAYMENT_SERVICE_ID = "7010000000000005"
BENEFITS_A = (
    "health_insurance_use",
    {
        "insurer_number": "139998",
        "insured_symbol": "市国12",
        "insured_number": "3457",
        "branch": "00",
        # The card holder (sakai-a) as the insurer must have them; the insurer has no kana
        # for this record, so the resident confirms the insured person's name on screen.
        "resident_birth_date": "1970-07-05",
        "resident_sex": "1",
        "resident_kana": "サカイ イチロウ",
        "resident_kana_confirmed": True,
        "confirm_close_match": True,
    },
)
BENEFITS_B = (
    "point_application",
    {
        "programme": "mynapoint-2",
        "provider": "sim-pay",
        "payment_service_id": B_PAYMENT_SERVICE_ID,
        "security_code": "369",
        "resident_kana": "コバヤシ ショウコ",
        "resident_kana_confirmed": True,
    },
)
# A's procedure already done by an earlier run of the scenario on the same desk data.
ALREADY_DONE = frozenset({"health_insurance_exists"})
# The stand-in procedure, for a desk without the outside systems.
A_ACCOUNT = "A-HEALTH-INSURANCE"
B_ACCOUNT = "B-CASHLESS-0002"
TEST_A = ("test_link", {"account": A_ACCOUNT, "points": 7500})
TEST_B = ("test_link", {"account": B_ACCOUNT, "points": 15000})


@dataclass
class SakaiConfig:
    server: str
    agent: str
    terminal_credential: str
    username: str
    password: str
    card_a: str = "sakai-a"
    card_b: str = "sakai-b"
    pin_a: str = "1234"
    pin_b: str = "1234"
    card_dir: Path | None = None  # where the card files live (for the second-agent variant)
    a_procedure: tuple[str, dict[str, Any]] = BENEFITS_A
    b_procedure: tuple[str, dict[str, Any]] = BENEFITS_B


@dataclass
class Step:
    title: str
    outcome: str
    ok: bool


@dataclass
class SakaiResult:
    steps: list[Step] = field(default_factory=list)
    committed_for_a: int = 0
    wrongly_committed: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.wrongly_committed == 0
            and self.committed_for_a == 1
            and all(s.ok for s in self.steps)
        )


def _describe(result: dict[str, Any] | Refusal) -> str:
    if isinstance(result, Refusal):
        ja = f" / {result.message_ja}" if result.message_ja else ""
        return f"refused [{result.code}] {result.message}{ja}"
    if "transaction_digest" in result:
        return f"committed (visit {result['reference']}, signed digest {result['transaction_digest'][:16]}…)"
    if "kind" in result:
        return f"accepted: {result['kind']} pending in the visit"
    return f"accepted: visit {result.get('reference', '?')}"


def run(config: SakaiConfig, say: Callable[[str], None] = print) -> SakaiResult:
    desk = DeskDriver(config.server, config.agent)
    result = SakaiResult()

    def step(title: str, outcome: dict[str, Any] | Refusal | str, ok: bool) -> None:
        text = outcome if isinstance(outcome, str) else _describe(outcome)
        result.steps.append(Step(title, text, ok))
        say(f"{'OK ' if ok else 'BAD'} {title}\n      -> {text}")

    def a_visit_with_b_application(label: str, *, fresh: bool = True) -> bool:
        """A's visit open (a fresh one unless `fresh` is False), B's application keyed into it."""
        if fresh:
            _empty_tray(desk)
            desk.tray_insert(config.card_a)
            visit = desk.start_visit(config.pin_a)
            step(f"[{label}] A's card authenticates", visit, not isinstance(visit, Refusal))
            if isinstance(visit, Refusal):
                return False
        keyed = desk.prepare(*config.b_procedure)
        # B's application must get into A's visit for the completion to be tried at all.
        step(
            f"[{label}] B's application keyed into A's open visit",
            keyed,
            not isinstance(keyed, Refusal),
        )
        return not isinstance(keyed, Refusal)

    try:
        desk.enrol(config.terminal_credential)
        desk.sign_in(config.username, config.password)
        say(f"Signed in as {config.username} on the terminal; agent at {config.agent}.")
        _empty_tray(desk)

        # 1. A is served properly: A's procedure, signed by A's card, commits.
        desk.tray_insert(config.card_a)
        visit = desk.start_visit(config.pin_a)
        step("A's card authenticates: a visit starts", visit, not isinstance(visit, Refusal))
        prepared = desk.prepare(*config.a_procedure)
        if isinstance(prepared, Refusal) and prepared.code in ALREADY_DONE:
            result.committed_for_a += 1
            step("A's procedure was already registered by an earlier run", prepared, True)
        else:
            step("A's procedure is prepared", prepared, not isinstance(prepared, Refusal))
            done = desk.complete(config.pin_a)
            committed = not isinstance(done, Refusal)
            result.committed_for_a += int(committed)
            step("A signs the completion with A's card: committed", done, committed)
        say("Nobody presses 'next resident'. A's card stays on the reader.")

        # 2. B's application in A's visit, completion with B's card.
        if a_visit_with_b_application("B's card", fresh=False):
            desk.tray_remove()
            desk.tray_insert(config.card_b)
            outcome = desk.complete(config.pin_b)
            result.wrongly_committed += int(not isinstance(outcome, Refusal))
            step(
                "Staff swaps in B's card and B signs the completion",
                outcome,
                isinstance(outcome, Refusal),
            )
            desk.tray_remove()

        # 3. ... with no card at all.
        if a_visit_with_b_application("no card"):
            desk.tray_remove()
            outcome = desk.complete(config.pin_b)
            result.wrongly_committed += int(not isinstance(outcome, Refusal))
            step(
                "Completion attempted with no card on the reader",
                outcome,
                isinstance(outcome, Refusal),
            )

        # 4. ... with A's card re-inserted after B's.
        if a_visit_with_b_application("A's card again"):
            desk.tray_remove()
            desk.tray_insert(config.card_b)
            desk.tray_remove()
            desk.tray_insert(config.card_a)
            outcome = desk.complete(config.pin_a)
            result.wrongly_committed += int(not isinstance(outcome, Refusal))
            step(
                "B's card was on the reader; A's card re-inserted; A signs B's application",
                outcome,
                isinstance(outcome, Refusal),
            )
            desk.tray_remove()

        # 5. ... with B's card in a reader the server never hears from.
        if config.card_dir is not None and a_visit_with_b_application("unknown reader"):
            outcome = _sign_on_second_agent(desk, config)
            result.wrongly_committed += int(not isinstance(outcome, Refusal))
            step(
                "B's card signs in a reader the server does not know, A's card still on the desk's",
                outcome,
                isinstance(outcome, Refusal),
            )
            desk.tray_remove()
    finally:
        desk.close()
    verdict = "nothing was committed for the wrong person" if result.ok else "FAILED"
    say(
        f"\nResult: {verdict} (A's procedure committed: {result.committed_for_a}, "
        f"wrong commits: {result.wrongly_committed})."
    )
    return result


def _empty_tray(desk: DeskDriver) -> None:
    with contextlib.suppress(DriverError):  # nothing was inserted
        desk.tray_remove()


def _sign_on_second_agent(desk: DeskDriver, config: SakaiConfig) -> dict[str, Any] | Refusal:
    """B's card signs A's completion challenge in a card reader the server knows nothing of
    (no agent, no reports: what a tampered or home-made client could do), and the token is
    submitted in A's visit. Only the server's own check of the signing certificate stands."""
    assert config.card_dir is not None
    desk.tick_checklist()
    challenge = desk.completion_challenge()
    if isinstance(challenge, Refusal):
        return challenge
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / f"{config.card_b}.card"
        shutil.copy(config.card_dir / f"{config.card_b}.card", copy)
        card = VirtualCard.load(copy)
        tx = base64.b64decode(challenge["transaction"])
        signed = JpkiClient(VirtualTransport(card)).authenticate(
            config.pin_b, completion_signing_input(challenge["origin"], challenge["nonce"], tx)
        )
    token = build_completion_token(
        signed.certificate_der,
        signed.signature,
        "madoguchi-scenario",
        hashlib.sha256(tx).digest(),
    )
    return desk.submit_completion(token, challenge["nonce"])
