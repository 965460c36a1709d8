"""The rules: one ibis definition each, compiled unchanged for DuckDB and Spark.

``features(tables, namecheck)`` turns the three input tables into one row per link with the desk
evidence around its commit (the session and its staff, the card read before it, the visits
before and after, the name check of the holder against the resident, the residents of those
visits and the household). Each :class:`Rule` is a condition and a score over those columns;
``findings`` applies them in order of precedence (the first that holds decides the link's
cause), so there is one row per flagged link. docs/scan.md explains each rule, its reasoning
and its known false positives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from madoguchi.scan.labels import CAUSES, LOGOUT_OMISSION_BY_COMMIT, MISLINK_CAUSES
from madoguchi.scan.namematch import CLOSE, MATCH, NO_MATCH, UNAVAILABLE

__all__ = [
    "CAUSES",
    "MISLINK_CAUSES",
    "RULES",
    "Rule",
    "Split",
    "features",
    "findings",
    "partition_of",
]


_RANK = {"commit": 0, "card_removed": 1, "logout": 2, "login": 3, "card_read": 4}
"""The order of a terminal's events at the same instant (a desk log at the second's resolution):
what ends before what begins, the inner before the outer among endings and the outer before
the inner among beginnings. A commit ends its procedure, then the card is removed, then the
session ends (logout); then a session begins (login), then a visit (card read). So a shift
change logged in one second (S1's logout, S2's login) leaves S2's session S2's, a commit
logged with its session's logout stays in that session, and one logged with the next
resident's card read stays in the visit before it (docs/scan.md, The rules)."""

_SEGMENT_UNIT = float(2**28)
"""The desk window's one running sum counts each card read as 1 and each login or logout as
this: a terminal's visits (below 2**28, 268 million card reads) and sessions (below 2**25,
33 million logins and logouts) come back exactly from it, every partial sum a whole number
below 2**53. A real terminal logs a few thousand a year."""


def _event_rank(e: ir.Table) -> ir.IntegerColumn:
    return ibis.cases(*((e.event == k, v) for k, v in _RANK.items()), else_=9)


@ibis.udf.scalar.builtin(name="hash")
def _hash(value: str) -> dt.uint64:
    """The engine's own hash of a text (DuckDB's ``hash``): only to split the rows into
    partitions, so any engine's hash would do (Spark runs one partition and never calls it)."""


Keep = Callable[[ir.Table], ir.Table]

Release = Callable[[list[ir.Table]], None]
"""Says that no step given from now on reads these kept tables: an engine may drop them once the
steps given so far that read them have run (``engine.Engine``), so that they hold no memory."""


def partition_of(col: ir.StringValue, parts: int) -> ir.IntegerValue:
    """The partition (0 to ``parts`` - 1) a row falls in by the hash of ``col``."""
    return _hash(col) % parts


def _part(col: ir.StringValue, parts: int, k: int) -> ir.BooleanValue:
    """Whether a row falls in partition ``k`` of ``parts`` by the hash of ``col``."""
    return partition_of(col, parts) == k


def _union(tables: list[ir.Table]) -> ir.Table:
    return tables[0] if len(tables) == 1 else ibis.union(*tables, distinct=False)


def _checked(
    f: ir.Table,
    name: str,
    holder: str,
    namecheck: Callable[..., ir.Value],
    keep: Keep,
    seen: list[ir.Table] | None,
) -> tuple[ir.Table, list[ir.Table]]:
    """The rows and the kept tables they read (``_mismatched`` releases them once kept). ``f`` with ``own``: its holder against its reading, each distinct (reading, holder)
    pair checked once (names repeat across a country: far fewer UDF calls than rows). The
    checked pairs are kept apart: joined straight back to the rows they came from, DuckDB
    sees a join of ``f`` with its own distinct keys, drops it and calls the UDF on every
    row.

    ``seen`` (only when each step is kept: ``features``): the kept pairs earlier partitions
    checked (``p_name``, ``p_holder``, ``own``; no pair in two of them), looked up instead of
    checked again; this partition's new pairs are kept once and appended to it, and every
    later reference reads that kept table, never its expression. At 10M links in eight
    partitions the partitions held 239,823 pairs between them, 64,390 of them distinct. With
    ``seen`` None each partition checks its own pairs (and they are released with it)."""
    f = keep(f)
    fv = f.view()
    pairs = fv.select(p_name=fv[name], p_holder=fv[holder]).distinct()
    if seen:
        known = _union(seen)
        pairs = pairs.anti_join(
            known, [pairs.p_name == known.p_name, pairs.p_holder == known.p_holder]
        )
    pairs = keep(pairs.mutate(own=namecheck(pairs.p_name, pairs.p_holder)))
    if seen is None:
        joined = f.left_join(pairs, [f[name] == pairs.p_name, f[holder] == pairs.p_holder])
        return joined.select(f, pairs.own), [f, pairs]
    seen.append(pairs)
    lookup = _union(seen)
    joined = f.left_join(lookup, [f[name] == lookup.p_name, f[holder] == lookup.p_holder])
    return joined.select(f, lookup.own), [f]


def _split_by_filter(tables: list[tuple[ir.Table, str]], parts: int) -> list[list[ir.Table]]:
    """Each of ``tables`` in ``parts`` partitions by the hash of its column, each a filter over
    the whole table (each partition's query reads every row again; an engine may split it once
    instead: ``Split``)."""
    if parts == 1:
        return [[table] for table, _ in tables]
    return [
        [table.filter(_part(table[column], parts, k)) for k in range(parts)]
        for table, column in tables
    ]


Split = Callable[[list[tuple[ir.Table, str]], int], list[list[ir.Table]]]
"""Splits tables into partitions by the same key (a column of each): partition ``k`` of every
table holds the rows of the same keys, so that a join of two tables by that key runs partition
by partition, and every key's rows stay in one partition. By default partition ``k`` of
``parts`` holds the rows where ``_part(column, parts, k)`` holds (``_split_by_filter``); DuckDB
writes every partition in one pass instead, or reads each from its own row groups of the input
file when the file allows it (``engine.Engine``). Gives, per table, its partitions."""


def _mismatched(
    ln: ir.Table,
    a: ir.Table,
    namecheck: Callable[..., ir.Value],
    keep: Keep,
    release: Release,
    seen: list[ir.Table] | None,
    counted: list[ir.Table] | None = None,
) -> ir.Table:
    """The links ``ln`` (of one partition by resident) whose holder is not a match for their
    own resident (``a``, the residents of that partition), with that check (``b_link``,
    ``b_own``): every link's holder against its resident, each distinct (reading, holder) pair
    checked once across all partitions (names repeat across a country: far fewer UDF calls;
    ``seen``, see ``_checked``)."""
    # A link without a resident gets no check (null): never a mismatch here, as before.
    f = ln.inner_join(a, ln.resident_id == a.a_id).select(ln.link_id, ln.holder, a.a_name)
    j, read = _checked(f, "a_name", "holder", namecheck, keep, seen)
    if counted is not None:
        # How many links the join kept (read[0], already kept: a count of its rows costs
        # next to nothing): the links it dropped name no resident and are not scanned.
        counted.append(keep(read[0].aggregate(n_scanned=read[0].count())))
    j = j.select(b_link=j.link_id, own=j.own)
    # A condition over both sides (link IDs are never null): a filter on the check alone
    # lets DuckDB turn the left join into an inner one and reorder it, joining the residents
    # with every failing pair of the same reading before the links.
    bad = keep(j.filter((j.own != MATCH) | j.b_link.isnull()).select("b_link", b_own=j.own))
    # Every link of the partition with its resident's reading (at 100M links 12.5M rows a
    # partition, 100M in all): read by nothing after this step; nor the partition's own links
    # and residents (DuckDB's split files, removed once read). The checked pairs (``read``'s
    # second table when ``seen`` is None) go with them; kept in ``seen``, they stay: later
    # partitions and the second name checks look them up.
    release([*read, ln, a])
    return bad


def _link_holders(t: dict[str, ir.Table]) -> tuple[ir.Table, ir.Table]:
    """The narrow columns step (1) reads: each link's resident and holder, each resident's
    reading."""
    links, res = t["links"], t["residents"]
    # Empty, not null: DuckDB does not call a UDF on a null argument, and an unknown holder is
    # a result of its own (unavailable).
    ln = links.select(links.link_id, links.resident_id, holder=links.holder_kana.fill_null(""))
    a = res.select(a_id=res.resident_id, a_name=res.name_kana)
    return ln, a


def _window_rows(events: ir.Table) -> ir.Table:
    """The desk events step (2)'s window sorts, on narrow rows."""
    e = events
    # Card removals move neither count and no rule reads them here (the report's timelines
    # show them): leaving them out spares the window a quarter of its rows.
    e = e.filter(e.event.isin(["login", "logout", "card_read", "commit"]))
    # The sort is most of the window's cost and it carries every column of its rows: the
    # event travels as its rank (a small integer, not its text), and both running counts as
    # one sum (below).
    # Each row carries only the text its kind is read for (``_evidence``): the staff member of a
    # login (the session's) and of a commit, the resident of a card read (the visit's; also the
    # order of card reads at one instant), the link of a commit. A commit's or a logout's
    # resident is read by nothing, and their order among ties moves no count a rule reads, so
    # it is left out too. The rows the window sorts (and DuckDB's split writes) are then
    # smaller: at 10M links 31% fewer bytes in the split.
    none = ibis.null("string")
    return e.select(
        "terminal_id",
        "at",
        staff_id=ibis.ifelse(e.event.isin(["login", "commit"]), e.staff_id, none),
        resident_id=ibis.ifelse(e.event.isin(["login", "card_read"]), e.resident_id, none),
        link_id=ibis.ifelse(e.event == "commit", e.link_id, none),
        _rank=_event_rank(e),
        # Summed as a double (``_evidence``), so integers cast: ibis writes a float64 literal
        # as a plain number, which DuckDB and Spark read as a decimal, and drops a cast to the
        # type it already has; the window then summed decimals (on DuckDB as 128-bit
        # integers, about twice the CPU).
        _step=ibis.cases(
            (e.event.isin(["login", "logout"]), int(_SEGMENT_UNIT)),
            (e.event == "card_read", 1),
            else_=0,
        ).cast("float64"),
    )


def _evidence(e: ir.Table, bad: ir.Table) -> ir.Table:
    """The desk evidence of the commits (of ``e``: ``_window_rows`` of whole terminals) that
    need it: those whose link's holder does not match (``bad``) and those under a staff member
    who was not the one signed in. Each terminal's events are independent, so a partition of
    whole terminals gives the same rows as all of them at once."""
    # Ties: events of one kind at the same instant. Only card reads need an order among
    # themselves (by resident: it decides which is the visit before the commit; a null
    # resident first, as the empty text would sort); commits move neither count, so their
    # order among themselves changes no row's counts.
    w = ibis.window(
        group_by=e.terminal_id,
        order_by=[e.at, e._rank, ibis.asc(e.resident_id, nulls_first=True)],
        rows=(None, 0),
    )
    # One running sum of doubles holds both counts, the sessions' in units of
    # _SEGMENT_UNIT and the visits' below it: exact (every partial sum is a whole number
    # far below 2**53), and one windowed aggregate instead of two. DuckDB's windowed SUM
    # over doubles runs about twice as fast as over integers (which it accumulates as
    # 128-bit integers).
    both = e._step.sum().over(w)
    e = e.mutate(_both=both)
    segment = (e._both / _SEGMENT_UNIT).floor().cast("int64")
    e = e.mutate(
        segment=segment,
        visit=(e._both - segment.cast("float64") * _SEGMENT_UNIT).cast("int64"),
    )
    login, card_read, commit = _RANK["login"], _RANK["card_read"], _RANK["commit"]
    sessions = e.filter(e._rank == login).select(
        s_term=e.terminal_id, s_seg=e.segment, session_staff=e.staff_id
    )
    visits = e.filter(e._rank == card_read).select(
        v_term=e.terminal_id, v_no=e.visit, v_seg=e.segment, v_res=e.resident_id
    )
    commits = e.filter(e._rank == commit).select(
        c_link=e.link_id,
        c_term=e.terminal_id,
        c_at=e.at,
        commit_staff=e.staff_id,
        c_seg=e.segment,
        c_visit=e.visit,
    )
    c = commits.left_join(
        sessions, [commits.c_term == sessions.s_term, commits.c_seg == sessions.s_seg]
    ).select(commits, sessions.session_staff)
    c = c.filter(
        c.session_staff.isnull() | (c.session_staff != c.commit_staff) | c.c_link.isin(bad.b_link)
    )

    # Only the card reads those commits can name (their visit, the one before and the one
    # after, in their session): the three joins below then build on a few rows, not on
    # every card read.
    wanted = ibis.union(
        *(
            c.select(w_term=c.c_term, w_seg=c.c_seg, w_no=c.c_visit + offset)
            for offset in (-1, 0, 1)
        ),
        distinct=True,
    )
    visits = visits.semi_join(
        wanted,
        [
            visits.v_term == wanted.w_term,
            visits.v_seg == wanted.w_seg,
            visits.v_no == wanted.w_no,
        ],
    )

    def visit_at(c: ir.Table, offset: int, name: str) -> ir.Table:
        v = visits.view()
        joined = c.left_join(
            v,
            [c.c_term == v.v_term, c.c_visit + offset == v.v_no, c.c_seg == v.v_seg],
        )
        return joined.select(c, **{name: v.v_res})

    c = visit_at(c, 0, "card_resident")
    c = visit_at(c, -1, "prev_resident")
    c = visit_at(c, 1, "next_resident")
    # The commits before each in its visit (its session, no card read between: the evidence
    # of another resident's commit, whose resident the links give in step (3)): one row per
    # such commit (o_link, o_at), or one with none. A commit at the same instant is not before
    # it (their order is not known).
    # Read from the window's rows as ``commits`` is, not from ``commits``: a second reader of
    # it made DuckDB keep every commit once more.
    o = e.filter(e._rank == commit).select(
        o_link=e.link_id, o_term=e.terminal_id, o_seg=e.segment, o_visit=e.visit, o_at=e.at
    )
    c = c.left_join(
        o,
        [c.c_term == o.o_term, c.c_seg == o.o_seg, c.c_visit == o.o_visit, o.o_at < c.c_at],
    ).select(c, o.o_link, o.o_at)
    return c.drop("c_term", "c_seg", "c_visit")


def features(
    t: dict[str, ir.Table],
    namecheck: Callable[..., ir.Value],
    materialize: Callable[[ir.Table], ir.Table] | None = None,
    parts: int = 1,
    split: Split | None = None,
    release: Release | None = None,
    counted: list[ir.Table] | None = None,
) -> ir.Table:
    """One row per suspicious link (name not a match, or desk evidence out of order) with the
    evidence columns the rules read. Links whose holder matches the resident and whose commit
    sits in its own card's visit under the signed-in staff member leave here.

    In steps, so that no join or window holds every link with its evidence: (1) the links
    whose holder does not match their resident (a few percent); (2) the desk evidence of their
    commits and of the commits under a staff member not signed in; (3) those links with
    their resident, name check and evidence; (4) the residents they name (card, neighbours,
    household), and the rules' second name checks against them, worked out on narrow rows
    and joined back to the links once. ``parts`` splits (1) by resident and (2) by terminal
    into that many partitions run one after another (each resident's links and each
    terminal's events stay in one), bounding the memory of each at national scale; the rows
    are the same for any ``parts``. (3) and (4) read only the suspicious links and run once.
    The result is (4)'s last kept step: the query that reads it (the rules) joins nothing.

    ``materialize`` is applied to each step's result before the next reads it (several
    times): an engine passes its ``cache`` so each runs once; the expression is the same
    either way. ``split`` splits a table into the partitions (by default each a filter over
    the whole table: ``_split_by_filter``); the rows are the same either way. ``release`` is
    told of kept tables no later step reads (step (1)'s every link with its resident's
    reading), so that an engine can drop them. ``counted``, when given, receives a one-row
    table per partition of (1) (``n_scanned``: the links its join kept, those whose resident
    is in ``residents``); the links it dropped are not scanned (``Engine.unscanned``)."""
    keep: Keep = materialize or (lambda x: x)
    free: Release = release or (lambda tables: None)
    cut: Split = split or _split_by_filter
    links, res = t["links"], t["residents"]
    ln, a = _link_holders(t)
    link_parts, resident_parts = cut([(ln, "resident_id"), (a, "a_id")], parts)
    by_resident = zip(link_parts, resident_parts, strict=True)
    # Every pair checked so far (``_checked``), each partition's kept once: only when each
    # step is kept. In one expression (``materialize`` None: ``Engine.explain``, the bench's
    # unstaged warm-up) each later partition would nest every earlier one's pairs (an
    # anti-join against their union), and the whole plan grew with the partitions compounded
    # (the fifteenth session's bench tests ran for over 25 minutes of CPU): there each
    # partition checks its own pairs, as before.
    seen: list[ir.Table] | None = [] if materialize is not None else None
    bad = _union(
        [_mismatched(lk, ak, namecheck, keep, free, seen, counted) for lk, ak in by_resident]
    )
    (by_terminal,) = cut([(_window_rows(t["desk_events"]), "terminal_id")], parts)
    kept_ev = []
    for ek in by_terminal:
        kept_ev.append(keep(_evidence(ek, bad)))
        free([ek])  # the partition's desk events: read by this step only
    ev_rows = _union(kept_ev)
    ev = ev_rows.drop("o_link", "o_at").distinct()  # one row per commit

    # (3) The suspicious links with their own columns (the link ID identifies a link), their
    # resident and household, the name check and the evidence; and the links committed before
    # them in their visit, read in the same pass for their residents (kept: read twice).
    ids = ibis.union(
        bad.select(i_link=bad.b_link),
        ev.select(i_link=ev.c_link),
        ev_rows.filter(ev_rows.o_link.notnull()).select(i_link=ev_rows.o_link),
        distinct=True,
    )
    sl = links.filter(links.link_id.isin(ids.i_link))
    sl = keep(sl.mutate(holder_kana=sl.holder_kana.fill_null("")))
    earlier = _earlier_other(ev_rows, sl)
    ra = res.filter(res.resident_id.isin(sl.resident_id))
    ra = ra.select(a_id=ra.resident_id, a_name=ra.name_kana, a_household=ra.household_id)
    f = sl.left_join(ra, sl.resident_id == ra.a_id).select(sl, ra.a_name, ra.a_household)
    # The holder against the resident was checked in (1) for every link with a resident;
    # (1) kept the links that are not a match, with their check: any other link with a
    # resident is a match, one without has no check (null). Not checked twice.
    f = f.left_join(bad, f.link_id == bad.b_link).select(
        f,
        own=ibis.cases(
            (bad.b_link.notnull(), bad.b_own),
            (f.a_name.notnull(), ibis.literal(MATCH, type="int8")),
            else_=ibis.null("int8"),
        ),
    )
    f = f.left_join(ev, f.link_id == ev.c_link).select(
        f,
        ev.c_at,
        ev.commit_staff,
        ev.session_staff,
        ev.card_resident,
        ev.prev_resident,
        ev.next_resident,
    )
    f = f.mutate(
        desk_logged=f.c_at.notnull(),
        staff_anomaly=f.c_at.notnull()
        & (f.session_staff.isnull() | (f.session_staff != f.commit_staff)),
        card_other=f.card_resident.notnull() & (f.card_resident != f.resident_id),
    )
    s = f.filter((f.own != MATCH) | f.staff_anomaly)
    s = keep(s)

    # (4) Only the residents the suspicious links name: the card resident, the neighbours
    # and every member of the resident's household (a semi-join, so the joins below build on
    # a few rows, not on every resident).
    # The other residents' commits before each suspicious link in its visit (``earlier``:
    # one row per such resident), each a candidate for the commit evidence.
    commits = keep(earlier.semi_join(s, earlier.e_link == s.link_id))
    named_ids = ibis.union(
        *(s.select(n_id=s[col]) for col in _NAMED),
        commits.select(n_id=commits.e_res),
        distinct=True,
    )
    rs = res.filter(
        res.resident_id.isin(named_ids.n_id) | res.household_id.isin(s.a_household)
    ).select(res.resident_id, res.name_kana, res.household_id)
    rs = keep(rs)
    # Then the second name checks on narrow rows, each kept, and the links' features: no
    # join holds every suspicious link with all its columns, and the last query only reads
    # the kept features. One partition whatever ``parts``: the suspicious links are a few
    # percent of all, and split eight ways each partition joined the named residents three
    # times again (at 100M links 46 s of CPU against 23 s at once, in the same memory).
    named = keep(_named(s, rs))
    # Read from the suspicious links, not from ``named``: the steps read nothing of each
    # other, so an engine running kept steps at once (DuckDB's ``engine._Steps``) runs them
    # side by side.
    members = keep(_members(s, rs))
    others = keep(_commit_residents(s, commits, rs))
    checked = keep(_second_checks(named, members, others, namecheck, seen or []))
    known = [k.select(q_name=k.p_name, q_holder=k.p_holder, q_check=k.own) for k in seen or []]
    result = keep(_second(s, named, members, others, _union([checked, *known])))
    free(seen or [])  # the pairs step (1) checked: read by nothing after this
    return result


def _earlier_other(ev_rows: ir.Table, sl: ir.Table) -> ir.Table:
    """Per commit of ``ev_rows`` (``_evidence``'s rows, one per commit before it in its
    visit), the other residents whose links were committed before it in its visit, each once
    with its latest such commit (``e_link``, ``e_res``, ``e_at``): issue 13's other evidence
    of a logout omission besides the card read. Which of them is the evidence is decided by
    the holder's name (``_second``). The links' residents are ``sl``'s (the links not in
    ``links`` give none)."""
    p = ev_rows.filter(ev_rows.o_link.notnull()).select("c_link", "o_link", "o_at")
    mine = sl.select(m_link=sl.link_id, m_res=sl.resident_id)
    theirs = sl.select(t_link=sl.link_id, t_res=sl.resident_id)
    p = p.inner_join(mine, p.c_link == mine.m_link).select(p, mine.m_res)
    p = p.inner_join(theirs, p.o_link == theirs.t_link).select(p, theirs.t_res)
    p = p.filter(p.t_res != p.m_res)
    return p.group_by(e_link=p.c_link, e_res=p.t_res).aggregate(e_at=p.o_at.max())


_NAMED = ("card_resident", "prev_resident", "next_resident")
"""The residents the desk evidence names, each checked against the holder (``_named``)."""


def _named(s: ir.Table, rs: ir.Table) -> ir.Table:
    """Narrow rows of the suspicious links ``s`` (the link ID, the resident, the household,
    the holder) with the name and household of the card resident and of the neighbours
    (``rs``: the residents the suspicious links name)."""
    n = s.select(
        x_link=s.link_id,
        x_res=s.resident_id,
        x_hh=s.a_household,
        x_holder=s.holder_kana,
        x_card=s.card_resident,
        x_prev=s.prev_resident,
        x_next=s.next_resident,
    )
    for col, prefix in (("x_card", "card"), ("x_prev", "prev"), ("x_next", "next")):
        r = rs.view()
        j = n.left_join(r, n[col] == r.resident_id)
        n = j.select(n, **{f"{prefix}_name": r.name_kana, f"{prefix}_household": r.household_id})
    return n


def _members(s: ir.Table, rs: ir.Table) -> ir.Table:
    """The other members of each suspicious link's household (of ``s``), by name, beside its
    holder."""
    m = rs.select(m_id=rs.resident_id, m_household=rs.household_id, m_name=rs.name_kana)
    fam = s.select(
        x_link=s.link_id, x_res=s.resident_id, x_hh=s.a_household, x_holder=s.holder_kana
    )
    return fam.inner_join(m, [fam.x_hh == m.m_household, fam.x_res != m.m_id]).select(
        fam.x_link, m.m_id, m.m_name, fam.x_holder
    )


def _commit_residents(s: ir.Table, commits: ir.Table, rs: ir.Table) -> ir.Table:
    """The other residents whose links were committed before each suspicious link (of ``s``)
    in its visit (``commits``, from ``_earlier_other``), by name and household, beside its
    holder."""
    r = rs.select(r_id=rs.resident_id, r_name=rs.name_kana, r_household=rs.household_id)
    x = s.select(x_link=s.link_id, x_holder=s.holder_kana)
    j = commits.inner_join(x, commits.e_link == x.x_link).select(
        x.x_link, x.x_holder, commits.e_res, commits.e_at
    )
    return j.left_join(r, j.e_res == r.r_id).select(
        j, commit_name=r.r_name, commit_household=r.r_household
    )


def _second_checks(
    named: ir.Table,
    members: ir.Table,
    others: ir.Table,
    namecheck: Callable[..., ir.Value],
    seen: list[ir.Table],
) -> ir.Table:
    """The holder against the card resident, the neighbours and the household members: each
    distinct (reading, holder) pair once (many holders are empty, many readings repeat), and
    none step (1) already checked (``seen``: looked up there instead; at 10M links 39,949 of
    271,039 pairs)."""
    n = named
    wanted = ibis.union(
        *(n.select(q_name=n[f"{p}_name"], q_holder=n.x_holder) for p in ("card", "prev", "next")),
        members.select(q_name=members.m_name, q_holder=members.x_holder),
        others.select(q_name=others.commit_name, q_holder=others.x_holder),
        distinct=True,
    )
    wanted = wanted.filter(wanted.q_name.notnull())
    if seen:
        known = _union(seen)
        wanted = wanted.anti_join(
            known, [wanted.q_name == known.p_name, wanted.q_holder == known.p_holder]
        )
    return wanted.mutate(q_check=namecheck(wanted.q_name, wanted.q_holder))


def _second(
    s: ir.Table, n: ir.Table, fam: ir.Table, others: ir.Table, checked: ir.Table
) -> ir.Table:
    """The suspicious links ``s`` with their second name checks (``checked``: no pair twice)
    looked up for the card resident and the neighbours (``n``, from ``_named``), the
    household members (``fam``, from ``_members``) and the other residents committed before
    the link in its visit (``others``, from ``_commit_residents``): worked out on the narrow
    rows, then joined back to ``s`` once by link ID (which identifies a link).

    Of those other residents the commit evidence (``commit_resident``, ``commit_check``,
    ``commit_household``) is the one the holder matches best (match, close, no match, then
    unchecked), of equals the latest committed, of those the lowest ID: the resident a
    logout omission would have let the link's account come from."""

    def check_of(n: ir.Table, name: str, out: str) -> ir.Table:
        q = checked.view()
        j = n.left_join(q, [n[name] == q.q_name, n.x_holder == q.q_holder])
        return j.select(n, **{out: q.q_check})

    n = check_of(n, "card_name", "card_check")
    n = check_of(n, "prev_name", "prev_check")
    n = check_of(n, "next_name", "next_check")
    o = check_of(others, "commit_name", "commit_check")
    unchecked = ibis.literal(UNAVAILABLE, type="int8")
    best = ibis.window(
        group_by=o.x_link,
        order_by=[o.commit_check.fill_null(unchecked), ibis.desc(o.e_at), o.e_res],
    )
    o = o.mutate(_n=ibis.row_number().over(best))
    o = o.filter(o._n == 0).select(
        c_x_link=o.x_link,
        commit_resident=o.e_res,
        commit_check=o.commit_check,
        commit_household=o.commit_household,
    )
    n = n.left_join(o, n.x_link == o.c_x_link).select(
        n, o.commit_resident, o.commit_check, o.commit_household
    )
    q = checked.view()
    fam = fam.inner_join(q, [fam.m_name == q.q_name, fam.x_holder == q.q_holder]).select(
        fam.x_link, fam.m_id, m_check=q.q_check
    )
    fam = (
        fam.filter(fam.m_check == MATCH)
        .group_by(fam.x_link)
        .aggregate(family_member=fam.m_id.min())
    )
    n = n.left_join(fam, n.x_link == fam.x_link).select(n, fam.family_member)
    return s.left_join(n, s.link_id == n.x_link).select(
        s,
        n.card_name,
        n.card_household,
        n.prev_name,
        n.prev_household,
        n.next_name,
        n.next_household,
        n.card_check,
        n.prev_check,
        n.next_check,
        n.commit_resident,
        n.commit_check,
        n.commit_household,
        n.family_member,
    )


@dataclass(frozen=True)
class Rule:
    """One rule: when it holds for a link, the cause it suggests and the score it gives."""

    name: str
    cause: str
    condition: Callable[[ir.Table], ir.BooleanValue]
    score: Callable[[ir.Table], ir.FloatingValue]
    other: Callable[[ir.Table], ir.StringValue]
    """The other resident the evidence points to (null when none)."""


def _s(score: float) -> ir.FloatingValue:
    """A score literal typed float64 (Spark would otherwise make it a decimal)."""
    return ibis.literal(score, type="float64")


def _nomatch(f: ir.Table) -> ir.BooleanValue:
    return f.own != MATCH


def _explained_by(check: ir.IntegerValue) -> ir.BooleanValue:
    return check.notnull() & (check == MATCH)


def _other_in_order(f: ir.Table) -> ir.BooleanValue:
    """Desk evidence of another resident before the commit, in its session: their card read
    last (``card_other``), or the link of a resident of another household committed since that
    read (``commit_resident``). A household member's commit there is the family served
    together (a parent's procedure committed late after the child's card was read, or both
    cards read in one second): issue 13's family account, never a mis-link."""
    other_household = f.commit_resident.notnull() & (
        f.commit_household.isnull() | f.a_household.isnull() | (f.commit_household != f.a_household)
    )
    return f.card_other.fill_null(False) | other_household


def _commit_decides(f: ir.Table) -> ir.BooleanValue:
    """Whether a logout omission rests on the other resident's commit rather than the card
    read: there is such a commit, and no other resident's card was read last, or the holder
    matches the commit's resident better than the card's (0 match, 1 close, 2 no match)."""
    unchecked = ibis.literal(UNAVAILABLE, type="int8")
    better = f.commit_check.fill_null(unchecked) < f.card_check.fill_null(unchecked)
    return f.commit_resident.notnull() & (~f.card_other.fill_null(False) | better)


def _logout_score(check: ir.IntegerValue, f: ir.Table) -> ir.FloatingValue:
    return ibis.cases(
        (check == MATCH, _s(0.97)),
        (check == CLOSE, _s(0.85)),
        (f.own == UNAVAILABLE, _s(0.75)),
        else_=_s(0.6),
    )


def _wrong_card(f: ir.Table) -> ir.BooleanValue:
    """A's card read, the holder matching B at the visit beside the commit (another
    household), and the other evidence the issue's definition asks for: A's card was read
    at the visit on the other side too, so it was read again in B's turn (A's own visit, then
    A's card again for B; or A's card for B, then A's own visit). The holder's name alone
    pointing at a neighbour is a typed wrong ID whose stranger is the neighbour's namesake."""
    prev_b = (
        _explained_by(f.prev_check)
        & (f.prev_resident != f.resident_id)
        & (f.prev_household != f.a_household)
        & (f.next_resident == f.resident_id)
    )
    next_b = (
        _explained_by(f.next_check)
        & (f.next_resident != f.resident_id)
        & (f.next_household != f.a_household)
        & (f.prev_resident == f.resident_id)
    )
    return ~f.card_other.fill_null(False) & _nomatch(f) & (prev_b | next_b).fill_null(False)


def _wrong_card_other(f: ir.Table) -> ir.StringValue:
    return ibis.cases(
        (_explained_by(f.prev_check).fill_null(False), f.prev_resident), else_=f.next_resident
    )


RULES: tuple[Rule, ...] = (
    Rule(
        name="family_account.v1",
        cause="family_account",
        condition=lambda f: (
            _nomatch(f) & f.family_member.notnull() & ~_other_in_order(f) & ~f.staff_anomaly
        ),
        score=lambda f: _s(0.9),
        other=lambda f: f.family_member,
    ),
    Rule(
        name="lent_terminal.v1",
        cause="lent_terminal",
        condition=lambda f: f.staff_anomaly,
        score=lambda f: ibis.cases(
            (f.own == NO_MATCH, _s(0.95)), (f.own == MATCH, _s(0.6)), else_=_s(0.85)
        ),
        other=lambda f: ibis.null("string"),
    ),
    Rule(
        name="logout_omission.v1",
        cause="logout_omission",
        condition=lambda f: _nomatch(f) & f.card_other.fill_null(False) & ~_commit_decides(f),
        score=lambda f: _logout_score(f.card_check, f),
        other=lambda f: f.card_resident,
    ),
    Rule(
        name=LOGOUT_OMISSION_BY_COMMIT,
        cause="logout_omission",
        condition=lambda f: _nomatch(f) & _commit_decides(f),
        score=lambda f: _logout_score(f.commit_check, f),
        other=lambda f: f.commit_resident,
    ),
    Rule(
        name="wrong_card.v1",
        cause="wrong_card",
        condition=_wrong_card,
        score=lambda f: _s(0.9),
        other=_wrong_card_other,
    ),
    Rule(
        name="typed_wrong_id.v1",
        cause="typed_wrong_id",
        condition=lambda f: f.own == NO_MATCH,
        score=lambda f: ibis.cases((f.desk_logged, _s(0.85)), else_=_s(0.8)),
        other=lambda f: ibis.null("string"),
    ),
)
"""In order of precedence: the first rule that holds decides a link's cause."""


def findings(feat: ir.Table, rules: tuple[Rule, ...] = RULES) -> ir.Table:
    """One row per flagged link: link_id, cause, score, rule, and the evidence columns."""
    conds = [r.condition(feat).fill_null(False) for r in rules]

    def pick(attr: str) -> ir.Value:
        return ibis.cases(
            *((cond, getattr(r, attr)(feat)) for cond, r in zip(conds, rules, strict=True)),
            else_=ibis.null(),
        )

    out = feat.mutate(
        cause=ibis.cases(
            *((c, r.cause) for c, r in zip(conds, rules, strict=True)), else_=ibis.null("string")
        ),
        rule=ibis.cases(
            *((c, r.name) for c, r in zip(conds, rules, strict=True)), else_=ibis.null("string")
        ),
        # Rounded: DuckDB turns the decimal literals into doubles by multiplication
        # (0.95 -> 0.9500000000000001), Spark by division; both agree on 4 places.
        score=pick("score").cast("float64").round(4),
        other_resident_id=pick("other").cast("string"),
    )
    out = out.filter(out.cause.notnull())
    return out.select(
        "link_id",
        "cause",
        "score",
        "rule",
        "resident_id",
        "other_resident_id",
        "programme",
        "channel",
        "municipality_code",
        "terminal_id",
        "staff_id",
        "linked_at",
        "account_hash",
        "account_last4",
        # The account holder's name as the input gave it ("" when unknown): the case opened
        # from the finding shows it and compares it with the resident's.
        "holder_kana",
        holder_check=out.own.cast("int8"),
        session_staff=out.session_staff,
    ).order_by("link_id")
