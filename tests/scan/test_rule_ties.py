"""Issue 13's desk evidence at the second's resolution of a desk log: events at the same
instant (a shift change), and another resident's commit as the evidence of a logout omission."""

from tests.scan.builders import Desk, family
from tests.scan.conftest import findings_of

A_OWN = "ﾔﾏﾀﾞ ﾀﾛｳ"
B_OWN = "ｽｽﾞｷ ｲﾁﾛｳ"


def test_a_shift_change_logged_in_one_second_is_no_lent_terminal(duck):
    """S1 signs out and S2 signs in at the same second (a desk log at second resolution, a
    'switch user'): S2's session is S2's. The tie order (login before logout) closes S2's
    session at once, so every commit of it is flagged a lent terminal (score 0.6 even with
    the resident's own account)."""
    d = Desk()
    family(d)
    d.event(0, "login", staff="S1")
    d.visit(1, "A", [("L1", A_OWN)], staff="S1")
    d.event(30, "logout", staff="S1")
    d.event(30, "login", staff="S2")
    d.visit(31, "B", [("L2", B_OWN)], staff="S2")
    d.event(60, "logout", staff="S2")
    assert findings_of(duck, d) == {}


def test_logout_omission_evidenced_by_another_residents_commit(duck):
    """Issue 13's taxonomy: a logout omission is a commit under A's card after another
    resident's card was read *or their commit happened* at the same terminal, with no logout
    or card read between, the holder matching that other resident, not A. Here B's commit
    (no card read of B logged) comes between A's card read and A's commit into B's account:
    the rule sees only card reads and calls it a typed wrong ID with no other resident."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.event(1, "card_read", resident="A")
    d.link("L1", "A", A_OWN, minute=2)
    d.link("L2", "B", B_OWN, minute=3)  # B's commit happened at this terminal
    d.link("L3", "A", B_OWN, minute=4)  # A's link into B's account, nothing between
    d.event(60, "logout")
    found = findings_of(duck, d)
    assert (found["L3"]["cause"], found["L3"]["other_resident_id"]) == ("logout_omission", "B")


def test_a_commit_logged_with_its_sessions_logout_stays_in_that_session(duck):
    """A commit and the logout at the same second: what ends comes first, the procedure before
    the session, so the commit is S1's, not a commit under no one signed in."""
    d = Desk()
    family(d)
    d.event(0, "login", staff="S1")
    d.event(1, "card_read", resident="A")
    d.link("L1", "A", A_OWN, minute=5)
    d.event(5, "logout", staff="S1")
    assert findings_of(duck, d) == {}


def test_a_commit_logged_with_the_next_card_read_stays_in_the_visit_before(duck):
    """A's commit and B's card read at the same second: the commit ends A's visit before B's
    begins, so it is no commit of A's under B's card (a logout omission of 0.6 before)."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.event(1, "card_read", resident="A")
    d.link("L1", "A", "ﾔﾏﾀﾞ ﾀﾛ", minute=5)  # A's own account, the bank's rendering close
    d.event(5, "card_read", resident="B")
    d.link("L2", "B", B_OWN, minute=6)
    d.event(60, "logout")
    assert "L1" not in findings_of(duck, d)


def test_a_card_read_logged_with_a_login_is_in_the_new_session(duck):
    """S2 signs in and reads B's card in the same second, after S1's session with A: B's
    card is read in S2's session, so B's commit under S2 is neither a lent terminal nor a
    commit under A's card."""
    d = Desk()
    family(d)
    d.event(0, "login", staff="S1")
    d.visit(1, "A", [("L1", A_OWN)], staff="S1")
    d.event(30, "logout", staff="S1")
    d.event(30, "login", staff="S2")
    d.event(30, "card_read", resident="B", staff="S2")
    d.link("L2", "B", B_OWN, minute=31, staff="S2")
    d.event(60, "logout", staff="S2")
    assert findings_of(duck, d) == {}


def test_logout_omission_by_a_commit_before_ones_own(duck):
    """B's commit, then A's own, then A's link into B's account, all under A's card: the
    latest commit of *another* resident is the evidence, not the one just before."""
    d = Desk()
    family(d)
    d.event(0, "login")
    d.event(1, "card_read", resident="A")
    d.link("L2", "B", B_OWN, minute=2)
    d.link("L1", "A", A_OWN, minute=3)
    d.link("L3", "A", B_OWN, minute=4)
    d.event(60, "logout")
    found = findings_of(duck, d)
    assert set(found) == {"L3"}  # B's own link matches B: not flagged
    assert (found["L3"]["cause"], found["L3"]["other_resident_id"]) == ("logout_omission", "B")
    assert (found["L3"]["rule"], found["L3"]["score"]) == ("logout_omission_by_commit.v1", 0.97)


def test_a_commit_in_another_visit_or_session_is_no_evidence(duck):
    """B's commit, then a card read of A (a visit of A's), or a logout and login: no longer
    evidence for A's link into a stranger's account, a typed wrong ID."""
    for between in (
        [(3, "card_read", {"resident": "A"})],
        [(3, "logout", {}), (3.5, "login", {})],
    ):
        d = Desk()
        family(d)
        d.event(0, "login")
        d.event(1, "card_read", resident="A")
        d.link("L2", "B", B_OWN, minute=2)
        for minute, event, kw in between:
            d.event(minute, event, **kw)
        d.link("L3", "A", B_OWN, minute=4)
        d.event(60, "logout")
        found = findings_of(duck, d)
        assert (found["L3"]["cause"], found["L3"]["other_resident_id"]) == (
            "typed_wrong_id",
            None,
        ), between


def test_the_card_read_decides_unless_the_commit_matches_better(duck):
    """C's card read last, then B's commit, then A's link: into C's account the card read is
    the evidence (logout_omission.v1, C); into B's, the commit (B)."""
    for holder, rule, other in (
        ("ﾀﾅｶ ﾊﾅｺ", "logout_omission.v1", "C"),
        (B_OWN, "logout_omission_by_commit.v1", "B"),
    ):
        d = Desk()
        family(d)
        d.event(0, "login")
        d.event(1, "card_read", resident="C")
        d.link("L2", "B", B_OWN, minute=2)
        d.link("L3", "A", holder, minute=4)
        d.event(60, "logout")
        found = findings_of(duck, d)["L3"]
        assert (found["cause"], found["rule"], found["other_resident_id"], found["score"]) == (
            "logout_omission",
            rule,
            other,
            0.97,
        )


def test_the_reasoning_of_a_logout_omission_by_commit_names_the_commit(duck):
    """Not 「直前に端末で読み取られたカードは B のもの」: no card of B's was read."""
    from django.utils import translation

    from madoguchi.scan.report import explain_ja
    from madoguchi.scans.models import Finding
    from madoguchi.scans.names import reasoning

    d = Desk()
    family(d)
    d.event(0, "login")
    d.event(1, "card_read", resident="A")
    d.link("L2", "B", B_OWN, minute=2)
    d.link("L3", "A", B_OWN, minute=4)
    d.event(60, "logout")
    row = findings_of(duck, d)["L3"]
    said = explain_ja(row)
    assert said.startswith(
        "A の手続きとして確定されましたが、その前にこの端末で B の手続きが確定されており、"
        "その間にログアウトもカードの読み取りもありません。"
    )
    assert "カードは B" not in said
    finding = Finding(**{k: row[k] for k in ("link_id", "cause", "score", "rule")})
    finding.resident_id, finding.other_resident_id = "A", "B"
    finding.holder_check, finding.programme = row["holder_check"], row["programme"]
    with translation.override("ja"):
        assert reasoning(finding).startswith(said[: said.index("。") + 1])
    with translation.override("en"):
        assert reasoning(finding).startswith(
            "Committed as A's procedure, but a procedure of B's was committed before it at the "
            "terminal, with neither a sign-out nor a card reading between."
        )
