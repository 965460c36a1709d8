"""`check --deploy` warns when IDENTIFIER_HASH_KEY is not a setting of its own: it defaulted to
SECRET_KEY silently, so rotating SECRET_KEY unbound every card record (identity.HolderRecord)
and every keyed hash of a payment ID, account or insured number."""

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
