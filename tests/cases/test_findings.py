"""Automatic findings, derived from the evidence (pure)."""

from datetime import UTC, datetime, timedelta

from madoguchi.cases.findings import Evidence, derive

T0 = datetime(2024, 4, 1, 10, 0, tzinfo=UTC)


def codes(ev):
    return [f.code for f in derive(ev)]


def test_signed_clean_link_has_no_finding():
    assert codes(Evidence(signed=True, signer_is_holder=True, name_outcome="match")) == []


def test_card_removed_before_commit():
    ev = Evidence(
        signed=True,
        signer_is_holder=True,
        visit_started_at=T0,
        committed_at=T0 + timedelta(minutes=5),
        card_removed_at=[T0 + timedelta(minutes=3)],
    )
    assert codes(ev) == ["committed_after_card_removed"]
    ev.card_removed_at = [T0 + timedelta(minutes=6)]  # after the commit: not a cause
    assert codes(ev) == []


def test_signed_by_another_card_ranks_first():
    ev = Evidence(
        signed=True, signer_is_holder=False, name_outcome="no_match", comparison="different"
    )
    assert codes(ev) == ["signed_by_other_card", "name_no_match", "identifier_differs"]


def test_name_outcomes():
    assert codes(Evidence(signed=True, name_outcome="close", close_confirmed=True)) == [
        "name_close_confirmed"
    ]
    assert codes(Evidence(signed=True, name_outcome="unavailable", close_confirmed=True)) == [
        "name_close_confirmed"
    ]
    assert codes(
        Evidence(signed=True, name_outcome="no_match", name_exception="minor_representative")
    ) == ["exception_used"]
    assert codes(Evidence(signed=True, card_swapped=True)) == ["card_swapped"]


def test_legacy_link_without_session_records():
    f = derive(Evidence(signed=False))
    assert [x.code for x in f] == ["unsigned_legacy"]
    assert "署名導入前" in f[0].ja or "署名付き確定の導入前" in f[0].ja
    assert f[0].prevention_ja


def _log(*rows):
    return [
        {"at": (T0 + timedelta(minutes=m)).isoformat(), "event": e, "resident": r}
        for m, e, r in rows
    ]


def test_legacy_session_served_two_residents_without_logout():
    log = _log(
        (0, "login", ""), (1, "card_read", "A"), (10, "card_read", "B"), (12, "committed", "B")
    )
    assert codes(Evidence(signed=False, session_log=log)) == [
        "session_not_closed",
        "unsigned_legacy",
    ]


def test_legacy_logout_between_residents_is_not_a_finding():
    log = _log(
        (1, "card_read", "A"),
        (5, "logout", ""),
        (6, "login", ""),
        (7, "card_read", "B"),
        (8, "committed", "B"),
    )
    assert codes(Evidence(signed=False, session_log=log)) == ["unsigned_legacy"]


def test_a_resident_served_after_the_previous_card_came_off_is_a_closed_turn():
    """A desk log serves several residents per sign-in, each from their card's reading to its
    removal (the forensic scan's input): a commit for the resident whose card was read after
    the previous one came off is that resident's own turn, not a session left open; a commit
    for the resident before, after the next one's card was read, is."""
    turn_a = _log((0, "login", ""), (1, "card_read", "A"), (5, "card_removed", "A"))
    log = [*turn_a, *_log((7, "card_read", "B"), (9, "committed", "B"))]
    assert codes(Evidence(signed=False, session_log=log)) == ["unsigned_legacy"]
    log = [*log[:-1], *_log((9, "committed", "A"))]
    assert codes(Evidence(signed=False, session_log=log)) == [
        "session_not_closed",
        "unsigned_legacy",
    ]


def test_legacy_commit_after_card_removed():
    log = _log(
        (0, "login", ""), (1, "card_read", "A"), (3, "card_removed", ""), (9, "committed", "A")
    )
    assert codes(Evidence(signed=False, session_log=log)) == [
        "committed_after_card_removed",
        "unsigned_legacy",
    ]
    log = _log(
        (0, "login", ""),
        (1, "card_read", "A"),
        (3, "card_removed", ""),
        (4, "card_read", "A"),
        (9, "committed", "A"),
    )
    assert codes(Evidence(signed=False, session_log=log)) == ["unsigned_legacy"]


def test_every_finding_has_a_cause_clause_and_a_prevention_or_none():
    from madoguchi.cases.findings import CAUSE_JA

    evidences = [
        Evidence(
            signed=True,
            signer_is_holder=False,
            card_swapped=True,
            name_outcome="no_match",
            comparison="different",
            visit_started_at=T0,
            committed_at=T0 + timedelta(minutes=2),
            card_removed_at=[T0 + timedelta(minutes=1)],
        ),
        Evidence(signed=True, name_outcome="no_match", name_exception="minor_representative"),
        Evidence(signed=True, name_outcome="close", close_confirmed=True),
        Evidence(
            signed=False,
            session_log=_log(
                (0, "login", ""),
                (1, "card_read", "A"),
                (2, "card_removed", ""),
                (3, "committed", "B"),
            ),
        ),
        # A public-fund and an insurance case's comparison that differs.
        Evidence(signed=False, comparison="different", programme="public_fund"),
        Evidence(signed=False, comparison="different", programme="health_insurance"),
    ]
    found = {f.code for ev in evidences for f in derive(ev)}
    assert found == set(CAUSE_JA)
    assert all(not CAUSE_JA[c].endswith(("。", "ます")) for c in found)
