"""`madoguchi check` names J-LIS input-support keys that cannot be loaded (they were loaded
first at a desk's card read, a server error there), and `check --deploy` warns when there are
none (every read of a card's basic four is then refused)."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core import checks
from django.core.checks.registry import registry

from madoguchi.desk.checks import card_support_keys_set

KEY_ID = "00112233445566778899aabbccddeeff"


def _messages(id_):
    return [m for m in checks.run_checks() if m.id == id_]


def _deploy_messages():
    # The deployment checks read the database too (the checklist's): this one alone, then.
    assert card_support_keys_set in registry.deployment_checks
    return card_support_keys_set()


def _public_pem(path, key):
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture
def rsa_pem(tmp_path):
    return _public_pem(tmp_path / "support.pem", rsa.generate_private_key(65537, 2048))


def test_keys_that_load_are_fine(settings, rsa_pem):
    settings.CARD_SUPPORT_KEYS = [f"{KEY_ID}={rsa_pem}"]
    assert _messages("madoguchi.E104") == []
    assert _deploy_messages() == []


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("{pem}", "KEYID=PEM with a 16-byte hex key ID"),
        ("0011={pem}", "KEYID=PEM with a 16-byte hex key ID"),
        (KEY_ID + "={missing}", "No such file or directory"),
        (KEY_ID + "={not_pem}", "not.pem does not hold a PEM public key"),
        (KEY_ID + "={ec_pem}", "does not hold an RSA public key"),
    ],
)
def test_keys_that_cannot_be_loaded_are_an_error(settings, tmp_path, rsa_pem, spec, said):
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a key")
    ec_pem = _public_pem(tmp_path / "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    settings.CARD_SUPPORT_KEYS = [
        spec.format(pem=rsa_pem, missing=tmp_path / "nowhere.pem", not_pem=not_pem, ec_pem=ec_pem)
    ]
    errors = _messages("madoguchi.E104")
    assert len(errors) == 1
    assert errors[0].msg.startswith("CARD_SUPPORT_KEYS cannot be loaded (")
    assert said in errors[0].msg
    assert "\n" not in errors[0].msg


def test_no_keys_is_a_deployment_warning(settings):
    settings.CARD_SUPPORT_KEYS = []
    settings.DEMO = False
    assert _messages("madoguchi.E104") == []
    warned = _deploy_messages()
    assert [w.id for w in warned] == ["madoguchi.W103"]
    assert warned[0].msg.startswith("CARD_SUPPORT_KEYS is not set")
    assert _messages("madoguchi.W103") == []  # not a check of a development machine


def test_the_demo_is_not_warned(settings):
    settings.CARD_SUPPORT_KEYS = []
    settings.DEMO = True
    assert _deploy_messages() == []


def test_the_test_cas_key_on_a_deployment_is_an_error(settings, rsa_pem):
    """The demo's CARD_SUPPORT_KEYS line (the test CA's key ID, JPKI-TEST-ROOT01) copied to a
    deployment: virtual cards' basic four would pass as J-LIS-certified, and nothing said so."""
    from madoguchi.card.testca import SUPPORT_ROOT_KEY_ID

    settings.DEMO = False
    settings.CARD_SUPPORT_KEYS = [
        f"{KEY_ID}={rsa_pem}",
        f"{SUPPORT_ROOT_KEY_ID.hex().upper()}={rsa_pem}",
    ]
    [error] = _deploy_messages()
    assert error.id == "madoguchi.E106"
    assert "the test CA's input-support key" in error.msg
    assert "JPKI-TEST-ROOT01" in error.msg
    settings.DEMO = True
    assert _deploy_messages() == []
