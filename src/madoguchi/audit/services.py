"""Writing to the audit log.

Call :func:`record` inside the ``transaction.atomic()`` block that makes the change the event
describes, so both commit or neither does::

    from madoguchi.audit import services as audit

    with transaction.atomic():
        ...change things...
        audit.record(events.ACCOUNTS_SIGNED_IN, actor=user, terminal=terminal, payload={...})
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connections, router, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from madoguchi.cli import OperatorRefusal

from . import append_function, conf, events, files, merkle, note, rules
from .canonical import GENESIS, canonical_json, chain_hash, template, time_json
from .merkle import leaf_hash
from .models import AuditCheckpoint, AuditEvent
from .verify import verify_log

# Arbitrary fixed key for pg_advisory_xact_lock: the bytes "mado" "audt".
ADVISORY_LOCK_KEY = 0x6D61646F61756474


class AuditError(OperatorRefusal):
    """Recording an audit event was refused; the message says why (a shell command prints it
    in one line, `madoguchi.cli.PlainErrors`)."""


class _HasPk(Protocol):
    @property
    def pk(self) -> Any: ...


def _require_atomic(using: str) -> None:
    if not transaction.get_connection(using).in_atomic_block:
        raise AuditError(
            "audit.record() must be called inside transaction.atomic(), so the event commits "
            "or rolls back together with the change it describes."
        )


def _actor_fields(actor: Any) -> tuple[str, str]:
    if actor is None or not getattr(actor, "is_authenticated", True) or actor.pk is None:
        return "", ""
    username = actor.get_username() if hasattr(actor, "get_username") else ""
    label = str(actor)
    if username and label != username:
        label = f"{label} ({username})"
    return str(actor.pk), label


def _terminal_fields(terminal: _HasPk | None) -> tuple[str, str]:
    if terminal is None:
        return "", ""
    if terminal.pk is None:
        raise AuditError("The terminal has no primary key; save it before recording events.")
    return str(terminal.pk), str(terminal)


def _subject_fields(subject: Model | tuple[str, str] | None) -> tuple[str, str]:
    if subject is None:
        return "", ""
    if isinstance(subject, Model):
        if subject.pk is None:
            raise AuditError("The subject has no primary key; save it before recording events.")
        return f"{subject._meta.app_label}.{subject._meta.model_name}", str(subject.pk)
    if (
        isinstance(subject, tuple)
        and len(subject) == 2
        and isinstance(subject[0], str)
        and subject[0]
        and subject[1] not in (None, "")
    ):
        return subject[0], str(subject[1])
    raise AuditError(
        "The subject must be a saved model instance or a (type, id) tuple of non-empty strings."
    )


def _check_payload(value: Any) -> None:
    """Refuse a payload that breaks the log's rules (`rules.payload_problem`, which `verify`
    checks every stored event against too)."""
    problem = rules.payload_problem(value)
    if problem is not None:
        raise AuditError(problem)


def _lock_head(using: str, *, constraints_first: bool = False) -> None:
    """Serialise appenders so that two writers never extend the same head (fork the chain).

    PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback. With
    `constraints_first`, the transaction's deferred constraints are checked first, in the same
    round trip: deferred foreign-key checks lock the rows they refer to (FOR KEY SHARE), and
    nothing may wait for a row while holding the head.
    SQLite: the settings open every transaction with BEGIN IMMEDIATE, which already holds the
    database's single write lock from the start of the atomic block.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            lock = f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY:d})"
            if constraints_first:
                # Two statements, one round trip (no parameters: the simple query protocol).
                cursor.execute(f"SET CONSTRAINTS ALL IMMEDIATE; {lock}")
            else:
                cursor.execute(lock)
    elif connection.vendor == "sqlite":
        if connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE":
            raise AuditError(
                "On SQLite the audit log needs OPTIONS transaction_mode IMMEDIATE, "
                "otherwise concurrent writers could fork the chain."
            )
    else:
        raise AuditError(f"The audit log does not support the {connection.vendor} database.")


def record(
    event: str | events.EventType,
    *,
    actor: Any = None,
    terminal: _HasPk | None = None,
    subject: Model | tuple[str, str] | None = None,
    payload: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the audit log, in the caller's transaction, and return it.

    ``actor`` is a user (or None / an anonymous user for the system); ``terminal`` any object
    with ``.pk`` and ``str()``; ``subject`` a saved model instance or a ``(type, id)`` tuple;
    ``payload`` a JSON-serialisable dict without PINs or individual numbers.
    """
    using = router.db_for_write(AuditEvent)
    _require_atomic(using)
    try:
        event_type = events.get(event)
    except events.UnknownEventError as exc:
        raise AuditError(str(exc)) from exc
    try:
        # Round-trip through JSON so that what is hashed is exactly what the database returns.
        body = json.loads(json.dumps(dict(payload or {}), allow_nan=False))
        _check_payload(body)
        payload_json = canonical_json(body)
    except (TypeError, ValueError) as exc:
        raise AuditError(f"The payload of {event_type.name} is refused: {exc}") from exc
    actor_id, actor_label = _actor_fields(actor)
    terminal_id, terminal_label = _terminal_fields(terminal)
    subject_type, subject_id = _subject_fields(subject)

    row = AuditEvent(
        event_id=event_type.id,
        event_name=event_type.name,
        actor_id=actor_id,
        actor_label=actor_label,
        terminal_id=terminal_id,
        terminal_label=terminal_label,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=body,
    )
    # The work that does not depend on seq and time, done now rather than under the head lock.
    row._audit_template = template(row.as_record(), payload_json)  # type: ignore[attr-defined]
    row._audit_payload_db = _PAYLOAD.get_db_prep_save(body, connections[using])  # type: ignore[attr-defined]
    connection = connections[using]
    queue = getattr(connection, "audit_queue", None)
    if queue is None:  # a plain Django backend: append now, holding the head lock to commit
        _append(connection, [row])
        return row
    queue.append(row)
    if connection.audit_only_test_blocks():  # type: ignore[attr-defined]  # a test's transaction
        flush_queue(connection)
    return row


def inner_atomic(using: str | None = None) -> Any:
    """`transaction.atomic()` for a service that may run inside a caller's transaction: no
    savepoint when an application block is already open (an error ends that transaction
    anyway, nobody catches one and goes on; issue 15: SAVEPOINT and RELEASE are two statements
    each). Inside a test's own transaction only, a savepoint as usual, so that the block's
    events are appended when it ends."""
    connection = connections[using or router.db_for_write(AuditEvent)]
    only_test = getattr(connection, "audit_only_test_blocks", lambda: False)()
    nested = connection.in_atomic_block and not only_test
    return transaction.atomic(using=using, savepoint=not nested)


def flush_queue(connection: Any, commit: Callable[[], None] | None = None) -> bool:
    """Append the connection's queued events (called by the backend just before COMMIT).

    With `commit` (the backend's own COMMIT), on PostgreSQL the append is sent together with the
    COMMIT, in one round trip (psycopg's pipeline mode), and True says the transaction is
    committed: the head lock is then held only for the server's own work, the append and the
    commit, never across a round trip or while this thread waits for the CPU to send its
    COMMIT (issue 15, seventh round). An error in the append skips the COMMIT (the server
    ignores the rest of a pipeline after an error) and is raised as before."""
    rows, connection.audit_queue = connection.audit_queue, []
    if not rows:
        return False
    return _append(connection, rows, commit)


_PAYLOAD = AuditEvent._meta.get_field("payload")
_TIME = AuditEvent._meta.get_field("time")
_COLUMNS = (
    "seq",
    "time",
    "event_id",
    "event_name",
    "actor_id",
    "actor_label",
    "terminal_id",
    "terminal_label",
    "subject_type",
    "subject_id",
    "payload",
    "canonical",
    "leaf_hash",
    "chain_hash",
    "previous_seq",
    "previous_time",
)
_INSERT = 'INSERT INTO "audit_auditevent" ({}) VALUES '.format(  # noqa: S608 (constants only)
    ", ".join(f'"{column}"' for column in _COLUMNS)
)
_VALUES = "({})".format(", ".join(["%s"] * len(_COLUMNS)))


def _lock_and_read_head(using: str) -> tuple[int, str, datetime] | None:
    """`_lock_head(constraints_first=True)`, then the head (seq, chain hash, time) read after
    the lock is held (the append's path other than PostgreSQL's, which is one statement:
    `_append_in_database`)."""
    _lock_head(using, constraints_first=True)
    with connections[using].cursor() as cursor:
        cursor.execute(
            'SELECT "seq", "chain_hash", "time" FROM "audit_auditevent" ORDER BY "seq" DESC LIMIT 1'
        )
        row = cursor.fetchone()
    if row is None:
        return None
    when = row[2]
    if isinstance(when, str):  # SQLite's text
        parsed = parse_datetime(when)
        if parsed is None:  # pragma: no cover (written by the append below)
            raise AuditError(f"The newest audit event's time cannot be read: {when!r}.")
        when = parsed
    if when.tzinfo is None:  # SQLite keeps UTC without an offset
        when = when.replace(tzinfo=UTC)
    return int(row[0]), str(row[1]), when


def _append(
    connection: Any, rows: list[AuditEvent], commit: Callable[[], None] | None = None
) -> bool:
    """Sequence, chain and insert `rows`: deferred constraints checked first, then the head
    lock (held until the transaction ends), the head read, one INSERT for all rows.

    PostgreSQL: all of it in one statement, a PL/pgSQL function (`append_function`, issue 15).
    Elsewhere, under the lock only what needs the head is done: seq and time filled into each
    event's canonical template (made by `record()`), two hashes per event, two plain SQL
    statements (no ORM query to compile)."""
    for row in rows:
        if getattr(row, "_audit_template", None) is None:
            row._audit_template = template(row.as_record())  # type: ignore[attr-defined]
        if getattr(row, "_audit_payload_db", None) is None:
            row._audit_payload_db = _PAYLOAD.get_db_prep_save(row.payload, connection)  # type: ignore[attr-defined]
    committed = False
    if connection.vendor == "postgresql":
        committed = _append_in_database(connection, rows, commit)
    else:
        _append_here(connection, rows)
    for row in rows:
        row._state.adding = False
        row._state.db = connection.alias
    return committed


def _append_in_database(
    connection: Any, rows: list[AuditEvent], commit: Callable[[], None] | None = None
) -> bool:
    """PostgreSQL: one call of the append function; the rows get the seq, time and hashes it
    made. The time passed is the application's clock, read here just before the call. With
    `commit`, the call and the COMMIT go in one pipeline (one round trip); returns whether it
    committed."""
    array = append_function.array_literal  # each array as one text parameter (eighth round)
    params = [
        ADVISORY_LOCK_KEY,
        _TIME.get_db_prep_save(timezone.now(), connection),
        array([row._audit_template.head for row in rows]),  # type: ignore[attr-defined]
        array([row._audit_template.middle for row in rows]),  # type: ignore[attr-defined]
        array([row.event_id for row in rows]),
        array([row.event_name for row in rows]),
        array([row.actor_id for row in rows]),
        array([row.actor_label for row in rows]),
        array([row.terminal_id for row in rows]),
        array([row.terminal_label for row in rows]),
        array([row.subject_type for row in rows]),
        array([row.subject_id for row in rows]),
        array([_payload_json(row) for row in rows]),
    ]
    with connection.cursor() as cursor:
        if commit is None:
            cursor.execute(append_function.CALL_SQL, params)
        else:
            with connection.connection.pipeline():
                cursor.execute(append_function.CALL_SQL, params)
                commit()  # COMMIT, then the pipeline's sync: both answers in one round trip
        appended = cursor.fetchall()
    if len(appended) != len(rows):  # pragma: no cover (the function returns one per row)
        raise AuditError(f"The audit append returned {len(appended)} rows for {len(rows)} events.")
    for row, (seq, when, leaf, chain) in zip(rows, appended, strict=True):
        row.seq = int(seq)
        row.time = when
        row.canonical = row._audit_template.fill(row.seq, time_json(when))  # type: ignore[attr-defined]
        row.leaf_hash = leaf
        row.chain_hash = chain
    return commit is not None


def _payload_json(row: AuditEvent) -> str:
    """The payload's JSON text, made by the JSONField's own adaptation (on PostgreSQL a `Jsonb`
    holding the value and the field's `dumps`): what psycopg sent for it before."""
    adapted = row._audit_payload_db  # type: ignore[attr-defined]
    text = (adapted.dumps or json.dumps)(adapted.obj)
    return text.decode() if isinstance(text, bytes) else str(text)


def _append_here(connection: Any, rows: list[AuditEvent]) -> None:
    """The append in Python: the lock, the head read, one INSERT."""
    head = _lock_and_read_head(connection.alias)
    seq, previous = (head[0] + 1, bytes.fromhex(head[1])) if head else (1, GENESIS)
    now = timezone.now()
    if head is not None and head[2] > now:  # never earlier than the head: time never decreases
        now = head[2]
    when = time_json(now)
    now_db = _TIME.get_db_prep_save(now, connection)
    # Each event's previous event (`AuditEvent.previous_seq`): the head for the first.
    previous_time = head[2] if head is not None else None
    previous_time_db = _TIME.get_db_prep_save(previous_time, connection)
    params: list[Any] = []
    for row in rows:
        row.seq = seq
        row.time = now
        row.previous_seq = seq - 1 if seq > 1 else None
        row.previous_time = previous_time
        row.canonical = row._audit_template.fill(seq, when)  # type: ignore[attr-defined]
        leaf = leaf_hash(row.canonical)
        previous = chain_hash(previous, leaf)
        row.leaf_hash = leaf.hex()
        row.chain_hash = previous.hex()
        params += [
            seq,
            now_db,
            row.event_id,
            row.event_name,
            row.actor_id,
            row.actor_label,
            row.terminal_id,
            row.terminal_label,
            row.subject_type,
            row.subject_id,
            row._audit_payload_db,  # type: ignore[attr-defined]
            row.canonical,
            row.leaf_hash,
            row.chain_hash,
            row.previous_seq,
            previous_time_db,
        ]
        seq += 1
        previous_time, previous_time_db = now, now_db
    with connection.cursor() as cursor:
        cursor.execute(_INSERT + ", ".join([_VALUES] * len(rows)), params)


def _reason(exc: OSError) -> str:
    """An OSError's reason without its path (the sentence names the path itself)."""
    return exc.strerror or str(exc)


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        # A regular file of at most KEY_FILE_LIMIT bytes: a FIFO or /dev/zero under the key's
        # name is refused at once (a plain read of it never ended).
        data = files.read_small_file(path, files.KEY_FILE_LIMIT)
    except FileNotFoundError as exc:
        raise AuditError(
            f"No checkpoint signing key at {path}; create one with `madoguchi audit keygen`."
        ) from exc
    except files.Unreadable as exc:  # a directory, a device, a path through a file, no permission
        raise AuditError(
            f"The checkpoint signing key at {path} (AUDIT_CHECKPOINT_KEY_FILE) cannot be read: "
            f"{exc}."
        ) from exc
    try:
        return note.load_private_key_pem(data)
    except (ValueError, TypeError) as exc:
        raise AuditError(f"The checkpoint signing key at {path} cannot be used: {exc}") from exc


def create_checkpoint_key(*, path: Path | None = None) -> Path:
    """Write a new Ed25519 signing key (mode 0600); refuse to replace an existing one."""
    target = path or conf.key_file()
    if target.is_dir():
        raise AuditError(
            f"The checkpoint signing key cannot be written to {target} "
            "(AUDIT_CHECKPOINT_KEY_FILE): it is a directory; name a file in it."
        )
    if target.exists():
        raise AuditError(
            f"A checkpoint signing key already exists at {target}; refusing to replace it "
            "(checkpoints signed with it could no longer be verified)."
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:  # a folder that cannot be made (a path through a file, /sys, …)
        raise AuditError(
            f"The checkpoint signing key cannot be written to {target} "
            f"(AUDIT_CHECKPOINT_KEY_FILE): {_reason(exc)}."
        ) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(note.generate_private_key_pem())
    except OSError as exc:  # a full disk: no half-written key is left behind
        target.unlink(missing_ok=True)
        raise AuditError(
            f"The checkpoint signing key cannot be written to {target} "
            f"(AUDIT_CHECKPOINT_KEY_FILE): {_reason(exc)}."
        ) from exc
    return target


def checkpoint_verifier_key(*, path: Path | None = None) -> str:
    """The public verifier key (note format) for the signing key, to give to auditors."""
    key = load_signing_key(path or conf.key_file())
    return note.verifier_key(conf.key_name(), key.public_key())


def _write_checkpoint_file(directory: Path, size: int, text: str) -> Path:
    """Write ``checkpoint-<size, 12 digits>.txt`` whole (a temporary file, then a hard link to the name)
    and never over another file: a checkpoint file already there with other content is a
    refusal naming it (it may be the copy that shows the log was cut); the same content (the
    same size and root signed again, e.g. after a failed run) is left as it is. A directory
    that cannot be made or written is a refusal naming it and its setting."""
    target = directory / f"checkpoint-{size:012d}.txt"
    temporary = directory / f".{target.name}.{os.getpid()}.tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        try:
            temporary.unlink(missing_ok=True)  # a run of the same process id left it (or a FIFO)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            try:
                os.link(temporary, target)  # fails if the name is taken: never replaces
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links: create the name exclusively
                _create_exclusively(target, text)
        finally:
            temporary.unlink(missing_ok=True)
        # What is under the name now, read as `verify` reads it (a FIFO is not waited on).
        existing = files.read_small_file(target, files.CHECKPOINT_FILE_LIMIT)
    except files.Unreadable as exc:
        raise AuditError(
            f"Something other than a signed checkpoint is already at {target} ({exc}); refusing "
            "to replace it: run `madoguchi audit verify`, and keep what is there."
        ) from exc
    except OSError as exc:
        if exc.errno is None:  # not the file system's (a signal handler's): not a refusal
            raise
        raise AuditError(
            f"The checkpoint cannot be written to {directory} (AUDIT_CHECKPOINT_DIR): "
            f"{_reason(exc)}."
        ) from exc
    if existing != text.encode():
        raise AuditError(
            f"A different signed checkpoint for {size} events is already at {target}; refusing "
            "to replace it (it may be the copy that shows the log was changed): run "
            "`madoguchi audit verify`, and keep that file."
        )
    return target


def _create_exclusively(target: Path, text: str) -> None:
    """Create `target` with `text` unless the name is taken (then leave it as it is)."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError:
        target.unlink(missing_ok=True)  # never a half-written checkpoint under its name
        raise


def write_checkpoint(
    *, key_path: Path | None = None, directory: Path | None = None
) -> AuditCheckpoint:
    """Sign a checkpoint (RFC 9162 tree head) over the whole log; store it in the table and as a
    file outside the database, and record ``audit.checkpoint_written``.

    Refuses unless the log passes `audit verify`'s own rule (`verify_log`: the chain, then every
    signed checkpoint in the table and the directory): a signature must never vouch for a log
    that was changed, cut or rewritten, nor a new file take the place of one that shows it.
    """
    key = load_signing_key(key_path or conf.key_file())
    folder = directory or conf.checkpoint_dir()
    using = router.db_for_write(AuditEvent)
    verifier = conf.verifier_key() or note.verifier_key(conf.key_name(), key.public_key())
    # Verified first, holding nothing of the log: the walk and the checkpoint files take what
    # they take, and every desk goes on recording meanwhile (it held the head lock until the
    # forty-second session, so a file that could not be read stopped every audited write).
    report = verify_log(
        using=using, verifier_key=verifier, skip_checkpoints=False, directory=folder
    )
    if not report.ok:
        raise AuditError(
            "Refusing to sign a checkpoint over a log that does not verify (as `madoguchi "
            f"audit verify` says): {report.lines[-1]}"
        )
    size = len(report.leaves)
    root = merkle.root(report.leaves)
    name = conf.key_name()
    text = note.sign(note.Checkpoint(conf.origin(), size, root), name, key)
    with transaction.atomic(using=using):
        # What is signed is the first `size` events as verified; events appended since are
        # after them. The verified head must still be event #size's.
        _require_verified_head(using, size, report.head)
        checkpoint = AuditCheckpoint(
            size=size,
            root_hash=root.hex(),
            origin=conf.origin(),
            key_name=name,
            key_id=note.key_hash(name, key.public_key()).hex(),
            note=text,
            created_at=timezone.now(),
        )
        checkpoint.save(using=using)
        path = _write_checkpoint_file(folder, size, text)
        record(
            events.AUDIT_CHECKPOINT_WRITTEN,
            subject=checkpoint,
            payload={"size": size, "root": root.hex(), "file": path.name},
        )
    return checkpoint


def _require_verified_head(using: str, size: int, head: bytes) -> None:
    """Refuse unless event #`size` still has the chain hash `head` the verification ended on
    (the log was not cut or rewritten while it was verified without a lock)."""
    if size == 0:
        return
    with connections[using].cursor() as cursor:
        cursor.execute('SELECT "chain_hash" FROM "audit_auditevent" WHERE "seq" = %s', [size])
        row = cursor.fetchone()
    if row is None or row[0] != head.hex():
        raise AuditError(
            f"Refusing to sign a checkpoint: event #{size}, the last one verified, changed or "
            "went while the log was verified (it was cut or rewritten meanwhile): run "
            "`madoguchi audit verify`."
        )
