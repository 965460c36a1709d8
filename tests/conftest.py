"""Project-wide test configuration."""

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests import cardkit

# The properties are about values, not speed: on a loaded 2-core machine generating an example
# can take seconds, and neither Hypothesis's "generation too slow" check nor its 200 ms deadline
# is something these tests assert. Example counts stay as each test sets them.
hypothesis_settings.register_profile(
    "madoguchi", suppress_health_check=[HealthCheck.too_slow], deadline=None
)
hypothesis_settings.load_profile("madoguchi")


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
