"""Project-wide test configuration."""

import pytest

from tests import cardkit


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A JPKI-TEST CA and residents A, B, C's virtual cards (made once per session)."""
    return cardkit.make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def trusted(db, pki):
    """The test CA configured as trust anchor, with a fresh CRL imported."""
    from madoguchi.identity import services as identity

    identity.trust_anchor_add(pem=pki.ca.certificates_pem(), name="JPKI-TEST")
    identity.crl_import(data=pki.ca.crl_pem(), source="test")
    return pki


@pytest.fixture(autouse=True)
def _test_procedure(settings):
    settings.DESK_TEST_PROCEDURE = True
