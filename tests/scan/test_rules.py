"""Each rule on small hand-made desk logs: a positive case and the negatives next to it."""

import pytest

from tests.scan.builders import Desk, family
from tests.scan.conftest import findings_of

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"
A2_OWN = "ﾔﾏﾀﾞ ｼﾞﾛｳ"
STRANGER = "ｻﾄｳ ﾐﾂｺ"


def session(*, staff="S1", term="T1", start=0, end=60):
    d = Desk()
    family(d)
    d.event(start, "login", staff=staff, term=term)
    d.event(end, "logout", staff=staff, term=term)
    return d


def test_clean_visits_give_no_finding(duck):
    d = session()
    d.visit(1, "A", [("L1", A_OWN), ("L2", "ﾀﾛｳ ﾔﾏﾀﾞ")])  # order swapped: still a match
    d.visit(10, "B", [("L3", B_OWN), ("L4", None)])  # holder unknown, own visit: nothing
    d.visit(20, "C", [("L5", "ﾀﾅｶ ﾊﾅｺ")])
    d.link("L6", "C", "タナカ　ハナコ", channel="self")
    assert findings_of(duck, d) == {}


def test_logout_omission_commit_under_a_after_b_card_read(duck):
    d = session()
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="B")
    d.link("L2", "B", B_OWN, minute=11)
    d.link("L3", "A", B_OWN, minute=12)  # A's session never closed: B's account under A
    d.event(18, "card_removed", resident="B")
    found = findings_of(duck, d)
    assert set(found) == {"L3"}
    f = found["L3"]
    assert (f["cause"], f["rule"], f["other_resident_id"]) == (
        "logout_omission",
        "logout_omission.v1",
        "B",
    )
    assert f["score"] == pytest.approx(0.97)


def test_logout_omission_with_unknown_holder_scores_lower(duck):
    d = session()
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="B")
    d.link("L3", "A", None, minute=12)
    found = findings_of(duck, d)
    assert found["L3"]["cause"] == "logout_omission"
    assert found["L3"]["score"] == pytest.approx(0.75)


def test_card_reads_at_the_same_instant_are_ordered_by_resident(duck):
    """Two cards read in the same second: the later by resident ID (B after A) is the card
    the commit follows, so A's commit of B's account is a logout omission pointing at B (in
    the other order A's own card would be the last, and B the visit before: a wrong card)."""
    d = session()
    d.event(5, "card_read", resident="B")
    d.event(5, "card_read", resident="A")
    d.link("L3", "A", B_OWN, minute=6)
    found = findings_of(duck, d)
    assert (found["L3"]["cause"], found["L3"]["other_resident_id"]) == ("logout_omission", "B")


def test_commit_under_a_with_a_own_account_after_b_card_is_no_finding(duck):
    d = session()
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="B")
    d.link("L3", "A", A_OWN, minute=12)  # A's own account: late, but not a mis-link
    assert findings_of(duck, d) == {}


def test_a_logout_between_clears_the_session(duck):
    """B's card read in a session that was closed does not count as logout-omission evidence."""
    d = Desk()
    family(d)
    d.event(0, "login", staff="S1")
    d.event(10, "card_read", resident="B")
    d.event(11, "logout", staff="S1")
    d.event(12, "login", staff="S1")
    d.link("L3", "A", B_OWN, minute=13)
    d.event(30, "logout", staff="S1")
    found = findings_of(duck, d)
    assert found["L3"]["cause"] != "logout_omission"


def test_typed_wrong_id(duck):
    d = session()
    d.visit(1, "A", [("L1", STRANGER)])
    d.visit(10, "B", [("L2", B_OWN)])
    d.link("L3", "C", "ﾔﾏｸﾞﾁ ｹﾝ", channel="self")
    found = findings_of(duck, d)
    assert {k: v["cause"] for k, v in found.items()} == {
        "L1": "typed_wrong_id",
        "L3": "typed_wrong_id",
    }
    assert found["L1"]["score"] > found["L3"]["score"]  # desk evidence is firmer


def test_a_close_holder_name_is_not_a_wrong_id(duck):
    d = session()
    d.visit(1, "A", [("L1", "ﾔﾏﾀﾞ ﾀﾛ")])  # one kana dropped by the bank: close
    assert findings_of(duck, d) == {}


def test_lent_terminal_in_another_staff_members_session(duck):
    d = session(staff="S1")
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="C")
    d.link("L2", "C", STRANGER, minute=11, staff="S2")
    found = findings_of(duck, d)
    assert set(found) == {"L2"}
    assert found["L2"]["cause"] == "lent_terminal"
    assert found["L2"]["session_staff"] == "S1"
    assert found["L2"]["score"] == pytest.approx(0.95)


def test_lent_terminal_with_no_one_signed_in(duck):
    d = session(staff="S1", end=30)
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(40, "card_read", resident="C", staff="S1")
    d.link("L2", "C", STRANGER, minute=41, staff="S1")
    found = findings_of(duck, d)
    assert found["L2"]["cause"] == "lent_terminal"
    assert found["L2"]["session_staff"] is None


def test_the_signed_in_staff_member_is_no_lent_terminal(duck):
    d = session(staff="S2")
    d.visit(1, "C", [("L2", "ﾀﾅｶ ﾊﾅｺ")], staff="S2")
    assert findings_of(duck, d) == {}


@pytest.mark.parametrize("b_first", [False, True], ids=["then-b", "b-then-own-visit"])
def test_wrong_card_read_again_beside_the_holders_visit(duck, b_first):
    """A's card, left on the desk, read again in B's turn and B's account committed under it:
    after A's own visit and before B's, or (b_first) after B's visit and before A's own."""
    d = session()
    d.visit(1, "B" if b_first else "A", [("L1", B_OWN if b_first else A_OWN)])
    d.event(10, "card_read", resident="A")
    d.link("L2", "A", B_OWN, minute=11)
    d.event(12, "card_removed", resident="A")
    d.visit(20, "A" if b_first else "B", [("L3", A_OWN if b_first else B_OWN)])
    found = findings_of(duck, d)
    assert set(found) == {"L2"}
    assert (found["L2"]["cause"], found["L2"]["other_resident_id"]) == ("wrong_card", "B")


def test_a_holder_named_like_the_next_resident_alone_is_a_typed_wrong_id(duck):
    """A's card read once, at A's own visit, and an account in a stranger's name that happens
    to be the next resident's: the holder's name is the only thing pointing at B, and the
    issue's wrong card needs other evidence too (A's card read again in B's turn). It is a
    typed wrong ID, as the generator made it (a wrong card flagged so halved the wrong card's
    precision in small runs)."""
    d = session()
    d.visit(1, "C", [("L1", "ﾀﾅｶ ﾊﾅｺ")])
    d.visit(10, "A", [("L2", B_OWN)])  # a namesake of B's account, typed under A
    d.visit(20, "B", [("L3", B_OWN)])
    found = findings_of(duck, d)
    assert {k: (v["cause"], v["other_resident_id"]) for k, v in found.items()} == {
        "L2": ("typed_wrong_id", None)
    }


def test_a_holder_named_like_the_resident_before_alone_is_a_typed_wrong_id(duck):
    d = session()
    d.visit(1, "B", [("L1", B_OWN)])
    d.visit(10, "A", [("L2", B_OWN)])
    d.visit(20, "C", [("L3", "ﾀﾅｶ ﾊﾅｺ")])
    found = findings_of(duck, d)
    assert {k: v["cause"] for k, v in found.items()} == {"L2": "typed_wrong_id"}


def test_wrong_card_needs_another_household(duck):
    """The neighbour whose name the account carries is in A's household: a family account."""
    d = session()
    d.visit(1, "A", [("L1", A_OWN)])
    d.visit(10, "A", [("L2", A2_OWN)])
    d.visit(20, "A2", [("L3", A2_OWN)])
    found = findings_of(duck, d)
    assert {k: v["cause"] for k, v in found.items()} == {"L2": "family_account"}


def test_family_account_is_reported_apart_at_the_desk_and_online(duck):
    d = session()
    d.visit(1, "A", [("L1", A2_OWN)])
    d.link("L2", "A2", A_OWN, channel="self")
    found = findings_of(duck, d)
    assert {k: (v["cause"], v["other_resident_id"]) for k, v in found.items()} == {
        "L1": ("family_account", "A2"),
        "L2": ("family_account", "A"),
    }


def test_a_holder_of_another_household_with_the_same_family_name_is_no_family_account(duck):
    d = session()
    d.resident("D", "ヤマダ ジロウ", "H9")  # same name as A2, other household
    d.visit(1, "C", [("L1", A2_OWN)])
    found = findings_of(duck, d)
    assert found["L1"]["cause"] == "typed_wrong_id"


def test_a_logout_omissions_reasoning_says_whose_name_the_account_is_in(duck):
    """The decisive evidence of a logout omission is the holder matching the other resident:
    the reasoning says so, and says when the holder matches neither."""
    from madoguchi.scan.report import explain_ja

    d = session()
    d.visit(1, "A", [("L1", A_OWN)])
    d.event(10, "card_read", resident="B")
    d.link("L3", "A", B_OWN, minute=12)
    d.link("L4", "A", STRANGER, minute=13)
    found = findings_of(duck, d)
    assert found["L3"]["cause"] == found["L4"]["cause"] == "logout_omission"
    matched = explain_ja(found["L3"])
    assert "B と一致します" in matched
    assert "B の決済サービスが A の手続きで" in matched  # a point link: a payment service
    assert "B とも一致しません" in explain_ja(found["L4"])
