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
import ibis.expr.types as ir

from madoguchi.scan.labels import CAUSES, MISLINK_CAUSES
from madoguchi.scan.namematch import CLOSE, MATCH, NO_MATCH, UNAVAILABLE

__all__ = ["CAUSES", "MISLINK_CAUSES", "RULES", "Rule", "features", "findings"]


_RANK = {"login": 0, "card_read": 1, "commit": 2, "card_removed": 3, "logout": 4}


def _event_rank(e: ir.Table) -> ir.IntegerColumn:
    return ibis.cases(*((e.event == k, v) for k, v in _RANK.items()), else_=9)


def features(
    t: dict[str, ir.Table],
    namecheck: Callable[..., ir.Value],
    materialize: Callable[[ir.Table], ir.Table] | None = None,
) -> ir.Table:
    """One row per suspicious link (name not a match, or desk evidence out of order) with the
    evidence columns the rules read. Links whose holder matches the resident and whose commit
    sits in its own card's visit under the signed-in staff member leave here.

    ``materialize`` is applied to the suspicious links before the evidence around them is
    gathered (they are read five times): an engine passes its ``cache`` so the scan over every
    link runs once; the expression is the same either way."""
    e = t["desk_events"]
    # Card removals move neither count and no rule reads them here (the report's timelines
    # show them): leaving them out spares the window a quarter of its rows.
    e = e.filter(e.event.isin(["login", "logout", "card_read", "commit"]))
    # The running counts are sums of 0/1 doubles, cast back to integers: exact (far below
    # 2**53), and DuckDB's windowed SUM over doubles runs about twice as fast as over integers
    # (which it accumulates as 128-bit integers).
    e = e.mutate(
        _rank=_event_rank(e),
        _bound=e.event.isin(["login", "logout"]).cast("float64"),
        _card=(e.event == "card_read").cast("float64"),
    )
    # Ties: events of one kind at the same instant. Only card reads need an order among
    # themselves (by resident: it decides which is the visit before the commit); commits move
    # neither count, so their order among themselves (by link, as it was) changes no row's
    # counts, and a sort key fewer is about 7% of the window's time.
    w = ibis.window(
        group_by=e.terminal_id,
        order_by=[e.at, e._rank, e.resident_id.fill_null("")],
        rows=(None, 0),
    )
    e = e.mutate(
        segment=e._bound.sum().over(w).cast("int64"), visit=e._card.sum().over(w).cast("int64")
    )
    sessions = e.filter(e.event == "login").select(
        s_term=e.terminal_id, s_seg=e.segment, session_staff=e.staff_id
    )
    visits = e.filter(e.event == "card_read").select(
        v_term=e.terminal_id, v_no=e.visit, v_seg=e.segment, v_res=e.resident_id, v_at=e.at
    )
    commits = e.filter(e.event == "commit").select(
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

    links, res = t["links"], t["residents"]
    # Narrow until the suspicious links are known: the joins over every link carry only the
    # keys, the holder and the name (at 100M links the wide link columns made DuckDB spill
    # every join); the other link columns and the household join the few suspicious ones.
    a = res.select(a_id=res.resident_id, a_name=res.name_kana)
    # Empty, not null: DuckDB does not call a UDF on a null argument, and an unknown holder is
    # a result of its own (unavailable).
    ln = links.select(links.link_id, links.resident_id, holder_kana=links.holder_kana.fill_null(""))
    f = ln.left_join(a, ln.resident_id == a.a_id).select(ln, a.a_name)
    f = f.left_join(c, f.link_id == c.c_link).select(
        f,
        c.c_at,
        c.commit_staff,
        c.session_staff,
        c.card_resident,
        c.prev_resident,
        c.next_resident,
    )
    # Every link's holder against its resident, each distinct (reading, holder) pair once:
    # the same outcome per link, far fewer UDF calls (names repeat across a country).
    # (Built from views of the inputs: built from f, ibis would read the join as f with itself.)
    lv, rv = links.view(), res.view()
    pairs = (
        lv.left_join(rv, lv.resident_id == rv.resident_id)
        .select(p_name=rv.name_kana, p_holder=lv.holder_kana.fill_null(""))
        .distinct()
    )
    pairs = pairs.mutate(own=namecheck(pairs.p_name, pairs.p_holder))
    f = f.view()
    f = f.left_join(pairs, [f.a_name == pairs.p_name, f.holder_kana == pairs.p_holder]).select(
        f, pairs.own
    )
    f = f.mutate(
        desk_logged=f.c_at.notnull(),
        staff_anomaly=f.c_at.notnull()
        & (f.session_staff.isnull() | (f.session_staff != f.commit_staff)),
        card_other=f.card_resident.notnull() & (f.card_resident != f.resident_id),
    )
    s = f.filter((f.own != MATCH) | f.staff_anomaly)
    # The link's other columns (the link ID identifies a link) and its resident's household.
    lw = links.view()
    s = s.inner_join(lw, s.link_id == lw.link_id).select(
        s,
        lw.programme,
        lw.account_hash,
        lw.account_last4,
        lw.channel,
        lw.municipality_code,
        lw.terminal_id,
        lw.staff_id,
        lw.linked_at,
    )
    rh = res.view()
    s = s.left_join(rh, s.resident_id == rh.resident_id).select(s, a_household=rh.household_id)
    if materialize is not None:
        s = materialize(s)

    def named(s: ir.Table, col: str, prefix: str) -> ir.Table:
        r = res.view()
        j = s.left_join(r, s[col] == r.resident_id)
        return j.select(s, **{f"{prefix}_name": r.name_kana, f"{prefix}_household": r.household_id})

    s = named(s, "card_resident", "card")
    s = named(s, "prev_resident", "prev")
    s = named(s, "next_resident", "next")
    # The household: the other members of the resident's household, by name.
    members = res.select(m_id=res.resident_id, m_household=res.household_id, m_name=res.name_kana)
    fam = s.select(
        fl_link=s.link_id, fl_res=s.resident_id, fl_hh=s.a_household, fl_holder=s.holder_kana
    )
    fam = fam.inner_join(
        members, [fam.fl_hh == members.m_household, fam.fl_res != members.m_id]
    ).select(fam.fl_link, members.m_id, members.m_name, fam.fl_holder)
    # The holder against the card resident, the neighbours and the household members: again
    # each distinct (reading, holder) pair once (many holders are empty, many readings repeat).
    wanted = ibis.union(
        *(
            s.select(q_name=s[f"{p}_name"], q_holder=s.holder_kana)
            for p in ("card", "prev", "next")
        ),
        fam.select(q_name=fam.m_name, q_holder=fam.fl_holder),
        distinct=True,
    )
    wanted = wanted.filter(wanted.q_name.notnull())
    checked = wanted.mutate(q_check=namecheck(wanted.q_name, wanted.q_holder))

    def check_of(s: ir.Table, name: str, out: str) -> ir.Table:
        q = checked.view()
        j = s.left_join(q, [s[name] == q.q_name, s.holder_kana == q.q_holder])
        return j.select(s, **{out: q.q_check})

    s = check_of(s, "card_name", "card_check")
    s = check_of(s, "prev_name", "prev_check")
    s = check_of(s, "next_name", "next_check")
    q = checked.view()
    fam = fam.inner_join(q, [fam.m_name == q.q_name, fam.fl_holder == q.q_holder]).select(
        fam.fl_link, fam.m_id, m_check=q.q_check
    )
    fam = (
        fam.filter(fam.m_check == MATCH)
        .group_by(fam.fl_link)
        .aggregate(family_member=fam.m_id.min())
    )
    s = s.left_join(fam, s.link_id == fam.fl_link).select(s, fam.family_member)
    return s


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


def _wrong_card(f: ir.Table) -> ir.BooleanValue:
    prev_b = (
        _explained_by(f.prev_check)
        & (f.prev_resident != f.resident_id)
        & (f.prev_household != f.a_household)
    )
    next_b = (
        _explained_by(f.next_check)
        & (f.next_resident != f.resident_id)
        & (f.next_household != f.a_household)
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
            _nomatch(f)
            & f.family_member.notnull()
            & ~f.card_other.fill_null(False)
            & ~f.staff_anomaly
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
        condition=lambda f: _nomatch(f) & f.card_other.fill_null(False),
        score=lambda f: ibis.cases(
            (f.card_check == MATCH, _s(0.97)),
            (f.card_check == CLOSE, _s(0.85)),
            (f.own == UNAVAILABLE, _s(0.75)),
            else_=_s(0.6),
        ),
        other=lambda f: f.card_resident,
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
        holder_check=out.own.cast("int8"),
        session_staff=out.session_staff,
    ).order_by("link_id")
