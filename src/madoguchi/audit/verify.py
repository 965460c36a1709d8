"""Recompute the audit log's leaves and chain, and check signed checkpoints against them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import DatabaseError, connections, transaction

from . import conf, constraint, files, merkle, note, rules, timeorder
from .canonical import GENESIS, CanonicalError, chain_hash, event_leaf_hash, format_time
from .models import AuditCheckpoint, AuditEvent


@dataclass
class VerifyResult:
    ok: bool
    size: int
    message: str
    first_bad_seq: int | None = None
    head: bytes = GENESIS
    leaves: list[bytes] = field(default_factory=list, repr=False)
    # What the walk found and passed (SQLite: an event's time earlier than the previous one's).
    warnings: list[str] = field(default_factory=list)


def verify_chain(using: str = "default", *, keep_leaves: bool = False) -> VerifyResult:
    """Walk the log in seq order; stop at the first row whose seq, leaf or chain is wrong, or
    that breaks a rule `record()` enforces (`madoguchi.audit.rules`: its time earlier than the
    previous event's, its event not registered with its id, its payload refused), which only
    an event appended by other means (a plain INSERT that computed the hashes) can do.

    Either way each row's leaf hash must be SHA-256 of the canonical form of its columns. On
    PostgreSQL that is checked on the stored canonical bytes: the database guarantees that the
    columns are the document in those bytes (`madoguchi.audit.constraint`, checked once in the
    catalog; without it, the columns are compared with the bytes in SQL), so hashing the bytes
    is hashing the columns' canonical form. Rows without stored bytes, or whose bytes do not
    hash to their leaf, are verified from their columns, as on SQLite
    (docs/adr/1503-audit-columns-checked-by-the-database.md). The payload rules and the time's
    are likewise left to the database where the catalog shows its constraints in place
    (`madoguchi.audit.rules`, `madoguchi.audit.timeorder`)."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        try:
            if connection.in_atomic_block or not connection.get_autocommit():
                with transaction.atomic(using=using):  # in the caller's transaction
                    return _verify_stored(using, keep_leaves, own_transaction=False)
            return _verify_in_own_transaction(using, keep_leaves)
        except DatabaseError:  # stored bytes or hashes SQL cannot read: verify from the columns
            pass
    return _verify_rows(using, keep_leaves, time_back_warns=connection.vendor != "postgresql")


def _verify_in_own_transaction(using: str, keep_leaves: bool) -> VerifyResult:
    """`_verify_stored` in a read-only REPEATABLE READ transaction of its own (one snapshot for
    the catalog check, the bounds and every row), begun in the same round trip as the first
    query rather than by a BEGIN of its own, and rolled back (it wrote nothing)."""
    connection = connections[using]
    try:
        return _verify_stored(using, keep_leaves, own_transaction=True)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")


# Rows whose columns are not the document their stored canonical bytes hold (as JSON values);
# needed only while the constraint that makes this impossible is not in place.
_SUSPECTS_SQL = f"""
SELECT seq FROM audit_auditevent
WHERE canonical IS NOT NULL
    AND {constraint.STORED_DOCUMENT} IS DISTINCT FROM {constraint.COLUMNS_DOCUMENT}
"""  # noqa: S608 (constants only)
# One round trip before the walk (the simple query protocol: constants only, no parameters):
# the isolation level (outermost only), the constraint's catalog row and the log's bounds (two
# index lookups) with the planner setting that `_STREAM_SQL` changes, then that change: no
# sort, so the rows come in the primary key's order as they are read, whatever the table's
# statistics say (a never-analysed log would otherwise be sorted whole before the first row).
_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
_STATE_SQL = (
    "SELECT (SELECT min(seq) FROM audit_auditevent), (SELECT max(seq) FROM audit_auditevent), "  # noqa: S608 (constants only)
    f"{constraint.CATALOG_COLUMNS}, {rules.CATALOG_COLUMNS}, {timeorder.CATALOG_COLUMNS}, "
    "current_setting('enable_sort') "
    f"FROM (SELECT 1) AS one {constraint.CATALOG_JOIN} {rules.CATALOG_JOIN} "
    f"{timeorder.CATALOG_JOIN}; "
    "SET LOCAL enable_sort = off"
)
_CHUNK = 20_000
# The fast path: the stored bytes and the row's two hashes, nothing else, in seq order, as one
# query (two: see `_stream_segments`) whose rows the server streams (in chunks of _PAGE rows)
# while they are hashed. The hashes only if each is 64 bytes long (null otherwise: the walk then
# leaves the fast path), so that a chunk's hashes, compared in one piece, cannot shift from one
# column or row to the next; and only if the row keeps the log's rules (its time not before the
# previous row's unless the database guarantees that, its event registered with its id, and its
# payload the rules' unless the database guarantees that: see `_rules_sql`): a row that breaks
# one leaves the fast path too, and the walk names it.
_STREAM_SQL = (
    "SELECT canonical, CASE WHEN octet_length(leaf_hash) = 64 AND octet_length(chain_hash) = 64"
    "{time} AND {rules} THEN leaf_hash || chain_hash END FROM audit_auditevent "
    "WHERE seq BETWEEN %s AND %s ORDER BY seq"
)
# The time test: a window function over the rows streamed, whose tuplestore about doubled
# PostgreSQL's part of a walk (forty-second session); left out where the database guarantees
# the order (`madoguchi.audit.timeorder`).
_TIME_SQL = " AND time >= coalesce(lag(time) OVER (ORDER BY seq), time)"
# The row-by-row walk's page: the row's time and whether it keeps the rules, with its hashes.
_KEYSET_SQL = (
    "SELECT seq, canonical, leaf_hash, chain_hash, time, {rules} "
    "FROM audit_auditevent WHERE seq >= %s ORDER BY seq LIMIT %s"
)


def _rules_sql(payloads_guaranteed: bool) -> str:
    """The rules a row is checked against in SQL (`rules.event_params()` is its parameter): the
    event's always (a hashed lookup, at no cost the walk can measure); the payload's only while
    the CHECK constraint that makes a payload breaking them impossible is not in place
    (`rules.judge`): some microseconds a row, which would make the walk several times slower."""
    if payloads_guaranteed:
        return f"({rules.EVENT_OK})"
    return f"({rules.EVENT_OK} AND {rules.PAYLOAD_OK})"


def _stream_segments(size: int, times_checked_up_to: int | None) -> list[tuple[int, int, bool]]:
    """The stream's queries, as (first seq, last seq, whether it tests the time) in seq order:
    one testing every row's time while the database does not guarantee the order
    (`times_checked_up_to` None); with the guarantee, the rows whose time it does not vouch for
    (up to `times_checked_up_to`, the events appended before audit.0009; each tested against
    the one before it in the same query) with the test, and the rest without: the database has
    checked each of those against the event before it, the first one's against the last one's
    of the first query."""
    if times_checked_up_to is None or times_checked_up_to >= size:
        return [(1, size, True)]
    if times_checked_up_to <= 1:  # the first event has none before it
        return [(1, size, False)]
    return [(1, times_checked_up_to, True), (times_checked_up_to + 1, size, False)]


_PAGE = 1_000


def _verify_stored(using: str, keep_leaves: bool, *, own_transaction: bool) -> VerifyResult:
    """`verify_chain` over stored canonical bytes (PostgreSQL)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute((_BEGIN if own_transaction else "") + _STATE_SQL)
        while cursor.description is None and cursor.nextset():  # to the SELECT's result
            pass
        low, high, *catalog, enable_sort = cursor.fetchone()
        guaranteed, _ = constraint.judge(*catalog[:2])
        payloads_guaranteed, _ = rules.judge(*catalog[2:4])
        times_checked_up_to, _ = timeorder.judge(*catalog[4:9])
    result = None
    if guaranteed and low is None:
        result = _intact(0, GENESIS, [])
    elif guaranteed and low == 1:
        # seq is unique: if the rows from 1 to max(seq) number max(seq), they are 1, ..., max(seq).
        result = _verify_stream(using, high, keep_leaves, payloads_guaranteed, times_checked_up_to)
    with connection.cursor() as cursor:
        if not own_transaction and enable_sort in ("on", "off"):  # the caller's transaction
            cursor.execute(f"SET LOCAL enable_sort = {enable_sort}")
        if result is not None:
            return result
        suspects: set[int] = set()
        if not guaranteed:
            cursor.execute(_SUSPECTS_SQL)
            suspects = {seq for (seq,) in cursor.fetchall()}
    start = 1 if low is None else min(low, 1)
    return _verify_keyset(using, start, suspects, keep_leaves, payloads_guaranteed)


def _verify_stream(
    using: str,
    size: int,
    keep_leaves: bool,
    payloads_guaranteed: bool,
    times_checked_up_to: int | None = None,
) -> VerifyResult | None:
    """The fast path: rows 1..size as (stored bytes, leaf hash || chain hash), streamed.

    Per row: SHA-256 of 0x00 || the stored bytes (the leaf), SHA-256 of the previous chain hash
    || the leaf; per chunk of _PAGE rows, one comparison of all those hashes' hex with the
    stored hex, in order (exact: upper-case or altered hex does not compare equal). None if a
    chunk does not compare equal or has a row without stored bytes, or if fewer than `size`
    rows came (a gap in seq): the caller then walks the log row by row (`_verify_keyset`),
    which names the first bad row (verifying rows without stored bytes from their columns). The
    rest of the stream is still read (not hashed), so that the transaction stays usable."""
    import psycopg  # PostgreSQL only

    connection = connections[using]
    sha256 = hashlib.sha256
    zero = sha256(b"\x00")
    hexes = itemgetter(1)
    previous = GENESIS
    leaves: list[bytes] = []
    verified = 0
    intact = True
    # Rows come in chunks of _PAGE from libpq 17 on; before, one by one (slower, as correct).
    chunk = _PAGE if psycopg.pq.version() >= 170000 else 1
    # The raw connection: Django's cursor wrapper has no stream().
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        checks = _rules_sql(payloads_guaranteed)
        params = rules.event_params()

        def streamed() -> Iterator[tuple[Any, ...]]:
            for first, last, times in _stream_segments(size, times_checked_up_to):
                sql = _STREAM_SQL.format(time=_TIME_SQL if times else "", rules=checks)
                yield from cursor.stream(sql, [*params, first, last], binary=True, size=chunk)

        stream = streamed()
        while rows := list(islice(stream, _PAGE)):
            if not intact:
                continue
            out: list[bytes] = []
            add = out.append
            chained = previous
            try:
                for stored, _ in rows:
                    h = zero.copy()
                    h.update(stored)  # TypeError if null
                    leaf = h.digest()
                    chained = sha256(chained + leaf).digest()
                    add(leaf)
                    add(chained)
                intact = b"".join(out).hex() == "".join(map(hexes, rows))  # TypeError if null
            except TypeError:  # a row without stored bytes, or hashes not 64 bytes each
                intact = False
            if intact:
                previous = chained
                verified += len(rows)
                if keep_leaves:
                    leaves += out[::2]
    if not intact or verified != size:
        return None
    return _intact(size, previous, leaves)


def _verify_keyset(
    using: str, start: int, suspects: set[int], keep_leaves: bool, payloads_guaranteed: bool
) -> VerifyResult:
    """`verify_chain` over stored canonical bytes, row by row with each row's seq: for a log
    with gaps (named as missing rows), or while the columns are not guaranteed to agree with
    the bytes (`suspects`: rows whose columns do not, verified from the columns)."""
    connection = connections[using]
    sha256 = hashlib.sha256
    previous = GENESIS
    previous_time: datetime | None = None
    expected_seq = 1
    leaves: list[bytes] = []
    sql = _KEYSET_SQL.format(rules=_rules_sql(payloads_guaranteed))
    params = rules.event_params()
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, start, _CHUNK])
            rows = cursor.fetchall()
        if not rows:
            break
        start = rows[-1][0] + 1
        for seq, stored, leaf_hex, chain_hex, time, rules_ok in rows:
            if seq != expected_seq:
                return _missing(expected_seq, seq, previous, leaves)
            leaf = sha256(b"\x00" + stored).digest() if stored is not None else b""
            row = None
            if stored is None or seq in suspects or leaf.hex() != leaf_hex:
                # From the columns, exactly as `_verify_rows` does (and with its messages).
                row = AuditEvent.objects.using(using).get(seq=seq)
                failed, leaf = _leaf_of(row, previous, leaves)
                if failed is not None:
                    return failed
            chained = sha256(previous + leaf).digest()
            if chained.hex() != chain_hex:
                return _chain_broken(seq, previous, leaves)
            problem = _time_problem(time, previous_time)
            if problem is None and not rules_ok:  # SQL's verdict; the words are Python's
                row = row or AuditEvent.objects.using(using).get(seq=seq)
                problem = rules.stored_problem(row.event_id, row.event_name, row.payload)
            if problem is not None:
                return _rule_broken(seq, problem, previous, leaves)
            if keep_leaves:
                leaves.append(leaf)
            previous = chained
            previous_time = time
            expected_seq += 1
    return _intact(expected_seq - 1, previous, leaves)


def _missing(expected_seq: int, found: int, previous: bytes, leaves: list[bytes]) -> VerifyResult:
    return VerifyResult(
        False,
        expected_seq - 1,
        f"Audit log broken at sequence number {expected_seq}: the row is missing "
        f"(next row found is {found}).",
        expected_seq,
        previous,
        leaves,
    )


def _leaf_of(
    row: AuditEvent, previous: bytes, leaves: list[bytes]
) -> tuple[VerifyResult | None, bytes]:
    """The leaf of a row's columns, or the failure if it cannot be made or is not its leaf."""
    try:
        leaf = event_leaf_hash(row.as_record())
    except CanonicalError as exc:
        return VerifyResult(
            False,
            row.seq - 1,
            f"Audit log broken at sequence number {row.seq}: the row cannot be put in "
            f"canonical form ({exc}).",
            row.seq,
            previous,
            leaves,
        ), b""
    if leaf.hex() != row.leaf_hash:
        return VerifyResult(
            False,
            row.seq - 1,
            f"Audit log broken at sequence number {row.seq}: its contents do not match its "
            "leaf hash (the row was changed after it was written).",
            row.seq,
            previous,
            leaves,
        ), b""
    return None, leaf


def _chain_broken(seq: int, previous: bytes, leaves: list[bytes]) -> VerifyResult:
    return VerifyResult(
        False,
        seq - 1,
        f"Audit log broken at sequence number {seq}: its chain hash does not follow "
        "from the previous row (rows were changed, inserted or removed).",
        seq,
        previous,
        leaves,
    )


def _time_problem(time: datetime, previous_time: datetime | None) -> str | None:
    if previous_time is None or time >= previous_time:
        return None
    return (
        f"its time {format_time(time)} is earlier than the previous event's, "
        f"{format_time(previous_time)} (events are appended in time order)"
    )


def _rule_broken(seq: int, problem: str, previous: bytes, leaves: list[bytes]) -> VerifyResult:
    """A row whose hashes are right but that `record()` would never have appended."""
    return VerifyResult(
        False,
        seq - 1,
        f"Audit log broken at sequence number {seq}: {problem.rstrip('.')}; `audit.record()` "
        "appends no such event, so it was added by other means (an INSERT by a role that may "
        "insert into the log, with its hashes computed to match).",
        seq,
        previous,
        leaves,
    )


def _intact(size: int, previous: bytes, leaves: list[bytes]) -> VerifyResult:
    return VerifyResult(
        True,
        size,
        f"Audit log intact: {size} events, chain head {previous.hex()}.",
        None,
        previous,
        leaves,
    )


def _time_back_warning(seq: int, time: datetime, previous_time: datetime) -> str:
    return (
        f"Warning: event #{seq}'s time {format_time(time)} is earlier than the previous "
        f"event's, {format_time(previous_time)}. On SQLite, until the forty-second session, "
        "the append took the clock's time without reading the previous event's, so a clock "
        "set back (NTP) wrote such an event; its hashes and its other rules are checked."
    )


def _verify_rows(using: str, keep_leaves: bool, *, time_back_warns: bool = False) -> VerifyResult:
    """`verify_chain` from every row's columns (any database). `time_back_warns` (SQLite): a
    time going back is a warning, not a failure: SQLite's append let it until the forty-second
    session, and the log, append-only, keeps such an event for good."""
    warnings: list[str] = []
    previous = GENESIS
    previous_time: datetime | None = None
    expected_seq = 1
    leaves: list[bytes] = []
    rows = AuditEvent.objects.using(using).order_by("seq").iterator(chunk_size=2000)
    for row in rows:
        if row.seq != expected_seq:
            return _missing(expected_seq, row.seq, previous, leaves)
        failed, leaf = _leaf_of(row, previous, leaves)
        if failed is not None:
            return failed
        chained = chain_hash(previous, leaf)
        if chained.hex() != row.chain_hash:
            return _chain_broken(row.seq, previous, leaves)
        problem = _time_problem(row.time, previous_time)
        if problem is not None and time_back_warns and previous_time is not None:
            warnings.append(_time_back_warning(row.seq, row.time, previous_time))
            problem = None
        problem = problem or rules.stored_problem(row.event_id, row.event_name, row.payload)
        if problem is not None:
            return _rule_broken(row.seq, problem, previous, leaves)
        if keep_leaves:
            leaves.append(leaf)
        previous = chained
        previous_time = row.time
        expected_seq += 1
    result = _intact(expected_seq - 1, previous, leaves)
    result.warnings = warnings
    return result


@dataclass
class CheckpointReport:
    ok: bool
    checked: int
    message: str
    # The table's checkpoints whose signed notes opened, with their columns equal to them
    # (row id, what the note signs): what `prove` may say is signed.
    signed_rows: list[tuple[int, note.Checkpoint]] = field(default_factory=list)


@dataclass
class _Source:
    where: str
    text: str | note.NoteError
    row: AuditCheckpoint | None = None


def _read_checkpoint_file(path: Path) -> str | note.NoteError:
    """A checkpoint file's text, or why it cannot be read, as a note that does not open:
    only a regular file of at most `files.CHECKPOINT_FILE_LIMIT` bytes of UTF-8 is read (a
    FIFO, a link to /dev/zero or a huge file under a checkpoint's name was read forever)."""
    try:
        data = files.read_small_file(path, files.CHECKPOINT_FILE_LIMIT)
    except files.Unreadable as exc:
        return note.NoteError(f"it cannot be read ({exc}).")
    except FileNotFoundError as exc:  # a link to nothing, or gone since the folder was listed
        return note.NoteError(f"it cannot be read ({exc.strerror}).")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return note.NoteError("it cannot be read (it is not UTF-8 text).")


def _sources(
    using: str, directory: Path | None, rows: list[AuditCheckpoint] | None = None
) -> list[_Source]:
    """Every checkpoint in the table (`rows` if given: those read in the walk's snapshot) and
    in the directory; a file that cannot be read (no permission, not UTF-8, not a regular file,
    too large) is there with why, as a note that does not open."""
    if rows is None:
        rows = list(AuditCheckpoint.objects.using(using).order_by("size", "pk"))
    found = [_Source(f"checkpoint row {cp.pk} (size {cp.size})", cp.note, cp) for cp in rows]
    if directory is not None and directory.is_dir():
        for path in sorted(directory.glob("checkpoint-*.txt")):
            found.append(_Source(f"checkpoint file {path}", _read_checkpoint_file(path)))
    return found


def _signed_since(using: str, signed: note.Checkpoint, key_id: str) -> bool:
    """Whether a checkpoint file signing more events than the walk saw was signed since: read
    now, the table has its row (the same note's columns) and the log holds that many events."""
    if signed.size > 0 and not AuditEvent.objects.using(using).filter(seq=signed.size).exists():
        return False
    return (
        AuditCheckpoint.objects.using(using)
        .filter(size=signed.size, root_hash=signed.root.hex(), origin=signed.origin, key_id=key_id)
        .exists()
    )


def _columns_problem(row: AuditCheckpoint, signed: note.Checkpoint, key_id: str) -> str | None:
    """Why a checkpoint row's columns are not what its signed note says, or None: `prove`
    and the admin read the columns, and only the note is signed."""
    differ = [
        f"{column} {stored!r} where the note says {said!r}"
        for column, stored, said in (
            ("size", row.size, signed.size),
            ("root_hash", row.root_hash, signed.root.hex()),
            ("origin", row.origin, signed.origin),
            ("key_id", row.key_id, key_id),
        )
        if stored != said
    ]
    if not differ:
        return None
    return (
        f"its columns are not what its signed note says ({'; '.join(differ)}): the row was "
        "changed after it was signed."
    )


def verify_checkpoints(
    leaves: list[bytes],
    *,
    origin: str,
    key_name: str,
    public_key: Ed25519PublicKey,
    using: str = "default",
    directory: Path | None = None,
    rows: list[AuditCheckpoint] | None = None,
) -> CheckpointReport:
    """Check every signed checkpoint against the log's first ``size`` leaves.

    A log whose chain was recomputed after tampering still verifies on its own; it cannot match
    a checkpoint signed before the tampering, and the files outside the database keep those.

    `rows`: the table's checkpoints as read with the leaves (`verify_log`). The files are read
    later: a file signing more events than `leaves` is taken as signed since the walk (and not
    checked) only if, read now, its row is in the table and the log holds that many events;
    otherwise it vouches for removed events, as before.
    """
    checked = 0
    last_good = 0
    failures: list[tuple[int, str]] = []
    sources = _sources(using, directory, rows)
    in_table = sum(1 for source in sources if source.row is not None)
    key_id = note.key_hash(key_name, public_key).hex()
    opened: list[tuple[str, note.Checkpoint | note.NoteError]] = []
    signed_rows: list[tuple[int, note.Checkpoint]] = []
    newer = 0
    for source in sources:
        if isinstance(source.text, note.NoteError):
            opened.append((source.where, source.text))
            continue
        try:
            signed = note.open_note(source.text, key_name, public_key)
        except note.NoteError as exc:
            opened.append((source.where, exc))
            continue
        if source.row is not None:
            problem = _columns_problem(source.row, signed, key_id)
            if problem is not None:
                failures.append((0, f"{source.where}: {problem}"))
            else:
                signed_rows.append((source.row.pk, signed))
        elif signed.size > len(leaves) and _signed_since(using, signed, key_id):
            newer += 1  # a checkpoint signed after the walk's snapshot: not one to check
            continue
        opened.append((source.where, signed))
    # Every signed size's root in one pass over the leaves (an hourly checkpoint makes
    # thousands of them a year; a root of its own each would be thousands of passes).
    sizes = {c.size for _, c in opened if isinstance(c, note.Checkpoint) and c.size <= len(leaves)}
    roots = merkle.prefix_roots(leaves, sizes)
    for where, checkpoint in opened:
        if isinstance(checkpoint, note.NoteError):
            failures.append((0, f"{where} does not verify: {checkpoint}"))
            continue
        checked += 1
        if checkpoint.origin != origin:
            failures.append((0, f"{where} is for log {checkpoint.origin!r}, not {origin!r}."))
        elif checkpoint.size > len(leaves):
            failures.append(
                (
                    checkpoint.size,
                    f"{where} vouches for {checkpoint.size} events but the log holds only "
                    f"{len(leaves)}: events were removed.",
                )
            )
        else:
            if roots[checkpoint.size] != checkpoint.root:
                failures.append(
                    (
                        checkpoint.size,
                        f"{where}: events 1..{checkpoint.size} do not match the signed "
                        "checkpoint: the log was rewritten.",
                    )
                )
            else:
                last_good = max(last_good, checkpoint.size)
    if failures:
        failures.sort(key=lambda f: f[0])
        size, message = failures[0]
        hint = ""
        if size and last_good < size:
            hint = f" The change lies between sequence numbers {last_good + 1} and {size}."
        return CheckpointReport(False, checked, message + hint, signed_rows)
    return CheckpointReport(
        True,
        checked,
        f"Signed checkpoints match the log: {in_table} in the database, "
        f"{checked - in_table} in files"
        + (f" ({directory})" if directory is not None else "")
        + (f"; {newer} signed since the log was read, not checked." if newer else "."),
        signed_rows,
    )


def checkpoints_exist(using: str = "default", directory: Path | None = None) -> bool:
    """Whether any signed checkpoint is on record, in the table or as a file."""
    if AuditCheckpoint.objects.using(using).exists():
        return True
    return directory is not None and directory.is_dir() and any(directory.glob("checkpoint-*.txt"))


def _checkpoint_rows(using: str) -> list[AuditCheckpoint]:
    return list(AuditCheckpoint.objects.using(using).order_by("size", "pk"))


def _chain_and_checkpoint_rows(using: str) -> tuple[VerifyResult, list[AuditCheckpoint]]:
    """The chain (with its leaves) and the checkpoint rows, read so that no row can vouch for
    more events than the walk saw unless events were removed: a checkpoint committed by
    another process after the walk's snapshot (two `audit checkpoint` at once) was read
    afterwards and looked like one vouching for removed events.

    On PostgreSQL, outside a transaction, both in one REPEATABLE READ transaction (one
    snapshot). Elsewhere (SQLite, whose transactions here take the write lock at BEGIN, or
    within the caller's transaction) the rows are read before the walk: a checkpoint is
    committed after the events it signs, so every row read first signs events the walk, later,
    finds, unless they were removed."""
    connection = connections[using]
    if connection.vendor == "postgresql" and not (
        connection.in_atomic_block or not connection.get_autocommit()
    ):
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            rows = _checkpoint_rows(using)
            return verify_chain(using, keep_leaves=True), rows
    rows = _checkpoint_rows(using)
    return verify_chain(using, keep_leaves=True), rows


@dataclass
class LogReport:
    """The whole verification: ok, and the lines to print (the last one says why it failed);
    with the checkpoints checked, the log's leaves (for proofs over the verified log)."""

    ok: bool
    lines: list[str]
    leaves: list[bytes] = field(default_factory=list, repr=False)
    # The chain hash of the last event verified (`audit checkpoint` checks it is still there).
    head: bytes = GENESIS
    # The table's checkpoints that were opened and whose columns are their notes' (row id,
    # what the note signs): the only ones `prove` may name.
    signed_rows: list[tuple[int, note.Checkpoint]] = field(default_factory=list)


def verify_log(
    *,
    using: str = "default",
    verifier_key: str,
    skip_checkpoints: bool,
    directory: Path | None,
) -> LogReport:
    """The one verification rule: the chain, then every checkpoint.

    Checkpoints on record must be checked: without a verifier key that is a failure, never a
    silent pass (a rewritten log recomputes a valid chain; only the checkpoints show it).
    Skipping them is the caller's explicit choice, and the result says so.
    """
    if skip_checkpoints:
        result = verify_chain(using, keep_leaves=False)
        snapshot_rows: list[AuditCheckpoint] | None = None
    else:
        result, snapshot_rows = _chain_and_checkpoint_rows(using)
    if not result.ok:
        return LogReport(False, [result.message])
    lines = [result.message, *result.warnings]
    # When the checkpoints cannot be checked or do not match, the chain's own line, "Audit log
    # intact", stood above the line saying so: an operator reading the first line read a
    # verdict. It says what it checked, and that the checkpoints below fail.
    chain_only = f"The hash chain is intact: {result.size} events, chain head {result.head.hex()}"
    if skip_checkpoints:
        lines.append(
            "Signed checkpoints NOT checked (skipped on request): a rewritten log with a "
            "recomputed chain would pass this verification."
        )
        return LogReport(True, lines)
    present = checkpoints_exist(using, directory)
    if not verifier_key:
        if present:
            lines[0] = f"{chain_only}, but the signed checkpoints cannot be checked:"
            lines.append(
                "Verification FAILED: signed checkpoints exist but no verifier key is configured "
                "(AUDIT_CHECKPOINT_VERIFIER_KEY, --verifier-key or the signing key file), so "
                "they cannot be checked. Give the key, or skip them explicitly with "
                "--skip-checkpoints."
            )
            return LogReport(False, lines)
        lines.append("No signed checkpoints on record yet (run `madoguchi audit checkpoint`).")
        return LogReport(True, lines, result.leaves, result.head)
    try:
        name, public_key = note.parse_verifier_key(verifier_key)
    except note.NoteError as exc:
        lines[0] = f"{chain_only}, but the signed checkpoints cannot be checked:"
        lines.append(f"Verification FAILED: the verifier key is not usable: {exc}")
        return LogReport(False, lines)
    report = verify_checkpoints(
        result.leaves,
        origin=conf.origin(),
        key_name=name,
        public_key=public_key,
        using=using,
        directory=directory,
        rows=snapshot_rows,
    )
    if not report.ok:
        lines[0] = f"{chain_only}, but the signed checkpoints do not match it:"
    lines.append(report.message)
    return LogReport(report.ok, lines, result.leaves, result.head, report.signed_rows)
