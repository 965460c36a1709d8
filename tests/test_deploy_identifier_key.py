"""`check --deploy` warns when IDENTIFIER_HASH_KEY is not a setting of its own: it defaulted to
SECRET_KEY silently, so rotating SECRET_KEY unbound every card record (identity.HolderRecord)
and every keyed hash of a payment ID, account or insured number."""

import pytest
from django.core.checks.registry import registry
from django.test import override_settings

from madoguchi.core.checks import identifier_hash_key_apart


def test_the_check_is_a_deploy_check():
    assert identifier_hash_key_apart in registry.deployment_checks


@override_settings(SECRET_KEY="k" * 50, IDENTIFIER_HASH_KEY="k" * 50)
def test_an_identifier_key_that_is_the_secret_key_is_warned_about():
    warnings = identifier_hash_key_apart()
    assert [w.id for w in warnings] == ["madoguchi.W102"]
    assert "rotating SECRET_KEY" in warnings[0].msg
    assert "identity.HolderRecord" in warnings[0].msg


@override_settings(SECRET_KEY="k" * 50, IDENTIFIER_HASH_KEY="")
def test_an_empty_identifier_key_is_warned_about():
    assert [w.id for w in identifier_hash_key_apart()] == ["madoguchi.W102"]


@override_settings(SECRET_KEY="k" * 50, IDENTIFIER_HASH_KEY="i" * 50)
def test_an_identifier_key_of_its_own_passes():
    assert identifier_hash_key_apart() == []


def test_the_demo_is_not_a_deployment(settings):
    """With the demo's environment (MADOGUCHI_DEMO=1) the test CA's checks stand aside and
    nothing said so: check --deploy now does."""
    from madoguchi.core.checks import not_the_demo

    assert not_the_demo in registry.deployment_checks
    settings.DEMO = True
    [error] = not_the_demo()
    assert error.id == "madoguchi.E107"
    assert error.msg.startswith("MADOGUCHI_DEMO is on: this is the demo")
    settings.DEMO = False
    assert not_the_demo() == []


@pytest.mark.parametrize(
    ("origin", "allowed", "said"),
    [
        ("http://127.0.0.1:8000", ["madoguchi.example.jp"], ["a loopback address (the default)"]),
        ("http://localhost:8000", ["localhost"], ["a loopback address"]),
        ("http://madoguchi.example.jp", ["madoguchi.example.jp"], ["plain http"]),
        ("https://desk.example.jp", ["madoguchi.example.jp"], ["not in ALLOWED_HOSTS"]),
        ("http://desk.example.jp", [".example.org"], ["plain http", "not in ALLOWED_HOSTS"]),
        ("https://madoguchi.example.jp", ["madoguchi.example.jp"], []),
        ("https://madoguchi.example.jp:8443", [".example.jp"], []),
        ("https://madoguchi.example.jp", ["*"], []),
    ],
)
def test_cards_sign_over_the_deployments_own_https_origin(settings, origin, allowed, said):
    """A deployment that left MADOGUCHI_ORIGIN at its default started and refused every card at
    the desk (origin_mismatch) with nothing said; one on plain http let cards sign over a page
    anyone on the way could stand in for."""
    from madoguchi.core.checks import card_origins_served

    assert card_origins_served in registry.deployment_checks
    settings.DEMO = False
    settings.MADOGUCHI_ORIGIN = origin
    settings.RESIDENT_ORIGIN = ""
    settings.ALLOWED_HOSTS = allowed
    warned = card_origins_served()
    assert [w.id for w in warned] == ["madoguchi.W109"] * len(said)
    for warning, words in zip(warned, said, strict=True):
        assert warning.msg.startswith(f"MADOGUCHI_ORIGIN is {origin}, ")
        assert words in warning.msg
    # The resident page's origin, when set, is held to the same.
    settings.MADOGUCHI_ORIGIN = "https://madoguchi.example.jp"
    settings.ALLOWED_HOSTS = ["madoguchi.example.jp"]
    settings.RESIDENT_ORIGIN = "http://me.example.jp"
    assert [w.msg.split(",")[0] for w in card_origins_served()] == [
        "RESIDENT_ORIGIN is http://me.example.jp"
    ] * 2
    settings.DEMO = True
    assert card_origins_served() == []


@pytest.mark.parametrize(
    ("switch", "check_id", "said"),
    [
        ("MADOGUCHI_BENCH", "madoguchi.E112", "/bench/floor"),
        ("DESK_TEST_PROCEDURE", "madoguchi.E113", "test_link"),
    ],
)
def test_the_benchmarks_and_tests_switches_are_off_on_a_deployment(
    settings, switch, check_id, said
):
    """MADOGUCHI_BENCH mounted a view anyone could write rows through; DESK_TEST_PROCEDURE
    offered a procedure that commits made-up links. Neither was named by check --deploy."""
    from madoguchi.core.checks import no_test_switches

    assert no_test_switches in registry.deployment_checks
    settings.DEMO = False
    settings.MADOGUCHI_BENCH = False
    settings.DESK_TEST_PROCEDURE = False
    assert no_test_switches() == []
    setattr(settings, switch, True)
    [error] = no_test_switches()
    assert error.id == check_id
    assert error.msg.startswith(f"{switch} is on: ")
    assert said in error.msg
