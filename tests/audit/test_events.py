"""The event registry: stable ids in domain blocks, clashes refused at registration."""

import pytest

from madoguchi.audit import events
from madoguchi.audit.events import EventRegistryError, EventType


def free_id(block: int) -> int:
    """An id in the block that no engineer has registered (blocks fill from the bottom)."""
    return next(i for i in range(block + 999, block, -1) if i not in events._by_id)


@pytest.fixture
def scratch_registry(monkeypatch):
    """Register into copies, so these tests leave the real registry untouched."""
    monkeypatch.setattr(events, "_by_id", dict(events._by_id))
    monkeypatch.setattr(events, "_by_name", dict(events._by_name))


def test_pre_registered_events_have_their_blocks():
    expected = {
        "accounts.signed_in": 1000,
        "accounts.sign_in_failed": 1000,
        "accounts.locked_out": 1000,
        "accounts.signed_out": 1000,
        "accounts.totp_failed": 1000,
        "accounts.totp_device_added": 1000,
        "terminals.registered": 2000,
        "terminals.credential_issued": 2000,
        "terminals.credential_revoked": 2000,
        "terminals.credential_rejected": 2000,
        "terminals.desk_session_opened": 2000,
        "terminals.desk_session_closed": 2000,
        "audit.checkpoint_written": 9000,
    }
    for name, block in expected.items():
        event = events.get(name)
        assert event.block == block, name
        assert events.get(event.id) is event


@pytest.mark.usefixtures("scratch_registry")
def test_register_and_look_up():
    number = free_id(4000)
    event = events.register(EventType(number, "benefits.test_thing", ja="{x} です", en="{x} it is"))
    assert events.get("benefits.test_thing") is event
    assert events.get(number) is event
    assert events.get(event) is event


@pytest.mark.usefixtures("scratch_registry")
@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (EventType(1001, "accounts.other", ja="a", en="a"), "already registered as"),
        (
            EventType(free_id(1000), "accounts.signed_in", ja="a", en="a"),
            "already registered with id",
        ),
        (EventType(8001, "nowhere.thing", ja="a", en="a"), "not inside a domain block"),
        (EventType(4000, "benefits.block_base", ja="a", en="a"), "not inside a domain block"),
        (EventType(-5, "benefits.negative", ja="a", en="a"), "positive integer"),
        (EventType(4002, "Benefits Thing", ja="a", en="a"), "dotted lower-case"),
        (EventType(4003, "benefits", ja="a", en="a"), "dotted lower-case"),
        (EventType(4004, "benefits.no_en", ja="a", en=""), "both ja and en"),
        (EventType(4005, "benefits.bad_format", ja="{oops", en="a"), "not a valid format"),
        (EventType(4006, "benefits.attr", ja="{x.__class__}", en="a"), "plain payload key"),
        (EventType(4007, "benefits.index", ja="a", en="{x[0]}"), "plain payload key"),
    ],
)
def test_bad_or_clashing_definitions_are_refused(event, reason):
    before = (dict(events._by_id), dict(events._by_name))
    with pytest.raises(EventRegistryError, match=reason):
        events.register(event)
    assert (events._by_id, events._by_name) == before


def test_unknown_lookups_fail():
    with pytest.raises(events.UnknownEventError, match="register it"):
        events.get("accounts.nope")
    with pytest.raises(events.UnknownEventError):
        events.get(1998)


def test_render_uses_payload_and_tolerates_missing_keys():
    event = events.get("accounts.sign_in_failed")
    assert event.render({"username": "sato", "reason": "bad password"}, "en") == (
        "Sign-in failed for user name sato (reason: bad password)"
    )
    assert event.render({"username": "sato"}, "ja") == (
        "ユーザー名 sato のサインインに失敗しました（理由: ?）"
    )
