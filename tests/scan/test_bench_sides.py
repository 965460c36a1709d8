"""The bench's three sides of the scan (`madoguchi bench scan`): the ibis rules, the same rules
hand-written in DuckDB SQL (``bench.HAND_SQL``) and in pandas (``bench.pandas_findings``) give
the same findings, rule, cause, score and other resident, on hand-made desk logs holding every
rule, including ones the generator never writes (another resident's commit as the evidence of a
logout omission, events at the same second)."""

import duckdb
import pytest

from madoguchi.scan import bench
from madoguchi.scan.rules import RULES
from tests.scan.builders import Desk, family

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"
A2_OWN = "ﾔﾏﾀﾞ ｼﾞﾛｳ"
C_OWN = "ﾀﾅｶ ﾊﾅｺ"
STRANGER = "ｻﾄｳ ﾐﾂｺ"


def by_commit(d: Desk) -> None:
    """B's commit (no card of B's read) between A's card read and A's link into B's account."""
    d.event(0, "login")
    d.event(1, "card_read", resident="A")
    d.link("L1", "A", A_OWN, minute=2)
    d.link("L2", "B", B_OWN, minute=3)
    d.link("L3", "A", B_OWN, minute=4)
    d.event(60, "logout")


def by_an_earlier_commit(d: Desk) -> None:
    """B's commit, A's own, then A's link into B's account: the latest *other* commit counts."""
    d.event(0, "login")
    d.event(1, "card_read", resident="A")
    d.link("L2", "B", B_OWN, minute=2)
    d.link("L1", "A", A_OWN, minute=3)
    d.link("L3", "A", B_OWN, minute=4)
    d.event(60, "logout")


def card_or_commit(d: Desk) -> None:
    """C's card read last, then B's commit: into C's account the card decides (L3, T1), into
    B's the commit (L6, T2); into a stranger's neither matches, so the card read (L9, T3)."""
    for term, (mine, theirs), holder in (
        ("T1", ("L3", "L2"), C_OWN),
        ("T2", ("L6", "L5"), B_OWN),
        ("T3", ("L9", "L8"), STRANGER),
    ):
        d.event(0, "login", term=term)
        d.event(1, "card_read", resident="C", term=term)
        d.link(theirs, "B", B_OWN, minute=2, term=term)
        d.link(mine, "A", holder, minute=4, term=term)
        d.event(60, "logout", term=term)


def two_others_at_one_instant(d: Desk) -> None:
    """B's and C's commits at the same second before A's (the lowest ID), A's commit at the
    same second as another (not before it), and one after a card read or a new session."""
    d.event(0, "login")
    d.event(1, "card_read", resident="A")
    d.link("L2", "C", C_OWN, minute=2)
    d.link("L1", "B", B_OWN, minute=2)
    d.link("L3", "A", STRANGER, minute=4)
    d.link("L4", "B", B_OWN, minute=4)
    d.link("L5", "A", C_OWN, minute=4)
    d.event(5, "card_read", resident="A")
    d.link("L6", "A", B_OWN, minute=6)
    d.event(7, "logout")
    d.event(7.5, "login")
    d.link("L7", "A", B_OWN, minute=8)
    d.event(60, "logout")


def same_second(d: Desk) -> None:
    """A shift change in one second, a commit logged with its session's logout, a commit logged
    with the next card read, a card read logged with a login: none flagged; then a logout
    omission."""
    d.event(0, "login", staff="S1")
    d.visit(1, "A", [("L1", A_OWN)], staff="S1")
    d.event(30, "logout", staff="S1")
    d.event(30, "login", staff="S2")
    d.event(31, "card_read", resident="A", staff="S2")
    d.link("L2", "A", "ﾔﾏﾀﾞ ﾀﾛ", minute=35, staff="S2")
    d.event(35, "card_read", resident="B", staff="S2")
    d.link("L3", "B", B_OWN, minute=36, staff="S2")
    d.link("L4", "B", B_OWN, minute=40, staff="S2")
    d.event(40, "logout", staff="S2")
    d.event(40, "login", staff="S1")
    d.event(40, "card_read", resident="C", staff="S1")
    d.link("L5", "C", C_OWN, minute=41, staff="S1")
    d.link("L6", "A", C_OWN, minute=42, staff="S1")  # under C's card: a logout omission
    d.event(60, "logout", staff="S1")


def the_other_rules(d: Desk) -> None:
    """A logout omission by card read (holder matching, unknown), a typed wrong ID at the desk
    and online, a lent terminal (another staff member; nobody signed in), a wrong card, a
    family account at the desk and online, and clean visits."""
    d.resident("D", "ヤマダ ジロウ", "H9")
    d.event(0, "login", term="T1")
    d.visit(1, "A", [("L1", A_OWN)], term="T1")
    d.event(10, "card_read", resident="B", term="T1")
    d.link("L2", "B", B_OWN, minute=11, term="T1")
    d.link("L3", "A", B_OWN, minute=12, term="T1")
    d.link("L4", "A", None, minute=13, term="T1")
    d.event(18, "card_removed", resident="B", term="T1")
    d.event(60, "logout", term="T1")
    d.event(0, "login", term="T2")
    d.visit(1, "A", [("L5", STRANGER)], term="T2")
    d.visit(10, "C", [("L6", C_OWN)], term="T2")
    d.event(20, "card_read", resident="C", term="T2")
    d.link("L7", "C", STRANGER, minute=21, term="T2", staff="S2")
    d.event(60, "logout", term="T2")
    d.event(70, "card_read", resident="C", term="T2")
    d.link("L8", "C", C_OWN, minute=71, term="T2")
    d.link("L9", "C", "ﾔﾏｸﾞﾁ ｹﾝ", channel="self")
    d.event(0, "login", term="T3")
    d.visit(1, "B", [("L10", B_OWN)], term="T3")
    d.event(10, "card_read", resident="A", term="T3")
    d.link("L11", "A", B_OWN, minute=11, term="T3")
    d.event(12, "card_removed", resident="A", term="T3")
    d.visit(20, "A", [("L12", A_OWN)], term="T3")
    d.visit(30, "A", [("L13", A2_OWN)], term="T3")
    d.link("L14", "A2", A_OWN, channel="self")
    d.visit(40, "C", [("L15", A2_OWN)], term="T3")
    d.event(60, "logout", term="T3")


CASES = [by_commit, by_an_earlier_commit, card_or_commit, two_others_at_one_instant]
CASES += [same_second, the_other_rules]


def three_sides(duck, desk: Desk) -> tuple[list, list, list]:
    """The compared columns of each side's findings, by link: ibis, SQL, pandas."""
    tables = desk.tables()
    ours = bench._pairs(duck.to_arrow(duck.findings(duck.register(tables))))
    con = duckdb.connect()
    try:
        for name, table in tables.items():
            con.register(name, table)
        hand = bench._pairs(con.sql(bench.hand_sql(con)).to_arrow_table())
    finally:
        con.close()
    frames = {name: table.to_pandas() for name, table in tables.items()}
    return ours, hand, bench.pandas_findings(frames).to_dict("records")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_the_bench_sides_give_the_same_findings_as_the_rules(duck, case):
    d = Desk()
    family(d)
    case(d)
    ours, hand, pdf = three_sides(duck, d)
    assert ours
    assert hand == ours
    assert pdf == ours


def test_the_hand_made_cases_hold_every_rule_and_the_commit_evidence(duck):
    """Every rule decides at least one link across the cases (so every rule of the bench's
    SQL and pandas is compared), and the commit rule decides where no card of the other
    resident was read."""
    found = {}
    for case in CASES:
        d = Desk()
        family(d)
        case(d)
        for row in three_sides(duck, d)[0]:
            found[(case.__name__, row["link_id"])] = row
    assert {r["rule"] for r in found.values()} == {rule.name for rule in RULES}
    assert found[("by_commit", "L3")] == {
        "link_id": "L3",
        "cause": "logout_omission",
        "rule": "logout_omission_by_commit.v1",
        "score": 0.97,
        "other_resident_id": "B",
    }
    assert found[("card_or_commit", "L3")]["rule"] == "logout_omission.v1"
    assert found[("card_or_commit", "L6")]["rule"] == "logout_omission_by_commit.v1"
