"""Every state-changing service records its audit event, by a registered constant.

A static walk over the services of every Django app (fast, no database): a public function
that writes rows (`.save()`, `.create()`, `.update()`, `.delete()`, ...) must call
`audit.record(CONSTANT, ...)` itself or through another service that does. Event names are never
strings or f-strings anywhere in `src/`: each names a registered `EventType`.
`tests/cases/test_workflow.py` checks the service this walk first caught
(`case_attach_legacy_link`) by behaviour.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from madoguchi.audit import events

SRC = Path(__file__).resolve().parents[2] / "src" / "madoguchi"
PURE = {"card", "namecheck", "outside", "agent", "scenario"}
WRITES = {"save", "create", "update", "delete", "bulk_create", "get_or_create", "update_or_create"}

# Services that write without an audit event of their own, and why.
NOT_AUDITED = {
    "benefits.ledger.account": "a ledger account is opened inside an audited transfer",
    # identity.services.nonce_spend (challenge bookkeeping; the attempt it serves is audited)
    # spends in one raw UPDATE … RETURNING, which this walk does not see as a write.
    "identity.services.holder_certificate_for": "a holder seen first inside an audited sign-in",
    "benefits.services.payouts.payout_batch_create": "assembles a batch; sending it is audited",
    "checklists.services.template_install_default": "installs the desk manual's version 1",
    # A worker's lease on a pending outbox call (attempts, next attempt); what the call's
    # answer changes is audited (registration registered / refused, reconcile actions).
    "benefits.services.outbox.claim": "a worker's lease on a call; its answer is audited",
    # A scan run's report rendered once per reader's scope and kept (derived from the stored
    # findings, rendered again when they change); every read of it is audited.
    "scans.services.stored_report": "a rendered copy of recorded findings; reads are audited",
    # When the desk's browser last asked anything (at most once a minute); closing the desk
    # session for idleness, what it is kept for, is audited (terminals.session_closed).
    "terminals.services.desk_session_seen": "a last-seen time; the idle close is audited",
    # A form's one-time key, written in the transaction of the audited write it guards (a
    # case's intake or step, its report, a complaint): was cases/once.py, which the walk did
    # not read (docs/security.md, side doors round 13).
    "once.services.record_once": "a form's key, kept with the audited write it guards",
    "once.services.remember": "a form's key, kept with the audited write it guards",
}


def _service_modules() -> list[Path]:
    found = [
        *SRC.glob("*/services.py"),
        *SRC.glob("*/services/**/*.py"),  # a services package's own packages too
        SRC / "benefits" / "ledger.py",
        # Writers that live outside a services module: the sweeper (its purge rewrites stored
        # fields), the residents' notices, a case's legacy link from its form.
        SRC / "desk" / "sweep.py",
        SRC / "residents" / "notices.py",
        SRC / "cases" / "legacy.py",
    ]
    return sorted(
        p for p in found if p.relative_to(SRC).parts[0] not in PURE and p.name != "__init__.py"
    )


def _name(path: Path) -> str:
    return ".".join(path.relative_to(SRC).with_suffix("").parts)


def _is_record(call: ast.Call) -> bool:
    """audit.record(...), or the rate-limited path for unauthenticated events
    (throttle.record_unauthenticated: the first of a minute is an event, repeats a tally)."""
    f = call.func
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        if f.attr == "record":
            return f.value.id in {"audit", "audit_services"}
        return f.attr == "record_unauthenticated" and f.value.id == "throttle"
    return isinstance(f, ast.Name) and f.id == "record"


def _functions() -> dict[str, ast.FunctionDef]:
    found = {}
    for path in _service_modules():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                found[f"{_name(path)}.{node.name}"] = node
    return found


def _called(node: ast.FunctionDef) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            f = call.func
            if isinstance(f, ast.Name):
                names.add(f.id)
            elif isinstance(f, ast.Attribute):
                names.add(f.attr)
    return names


def test_every_state_changing_service_records_its_event():
    functions = _functions()
    records = {
        q
        for q, node in functions.items()
        if any(isinstance(c, ast.Call) and _is_record(c) for c in ast.walk(node))
    }
    # Transitively: a function that calls a recording function (by its name) records.
    recording_names = {q.rsplit(".", 1)[1] for q in records}
    changed = True
    while changed:
        changed = False
        for q, node in functions.items():
            if q not in records and _called(node) & recording_names:
                records.add(q)
                recording_names.add(q.rsplit(".", 1)[1])
                changed = True
    writers = {
        q
        for q, node in functions.items()
        if not node.name.startswith("_")
        and any(
            isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute) and c.func.attr in WRITES
            for c in ast.walk(node)
        )
    }
    assert writers, "the walk found no writing service at all"
    missing = sorted(q for q in writers - records if q not in NOT_AUDITED)
    assert not missing, f"services that change state without an audit event: {missing}"
    stale = sorted(q for q in NOT_AUDITED if q not in writers - records)
    assert not stale, f"NOT_AUDITED names services that are gone or now audited: {stale}"


def test_event_names_are_registered_constants_never_strings():
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts or path.parent.name in PURE:
            continue
        for call in ast.walk(ast.parse(path.read_text())):
            if isinstance(call, ast.Call) and _is_record(call) and call.args:
                first = call.args[0]
                if isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                    bad.append(f"{path.relative_to(SRC)}:{call.lineno}")
    assert not bad, f"audit.record() with a string event name: {bad}"


def test_every_app_event_constant_is_registered():
    for path in sorted(SRC.glob("*/events.py")):
        module = importlib.import_module(f"madoguchi.{path.parent.name}.events")
        constants = [v for v in vars(module).values() if isinstance(v, events.EventType)]
        assert constants, path
        for event in constants:
            assert events.get(event.name) is event
