"""Lock order: adding a bundle of trust anchors locks every existing anchor it touches before
recording the audit events for the new ones (see tests/lockorder.py)."""

from madoguchi.card.testca import TestCA
from madoguchi.identity import services as identity
from madoguchi.identity.models import TrustAnchor
from tests.lockorder import LockOrder


def test_a_bundle_of_new_and_known_anchors_locks_before_auditing(db, pki):
    known = pki.ca.certificates_pem()
    identity.trust_anchor_add(pem=known)
    TrustAnchor.objects.update(is_active=False)
    other = TestCA.load_or_create(pki.ca.directory.parent / "other-ca-lock-order")
    with LockOrder() as order:
        identity.trust_anchor_add(pem=other.certificates_pem() + known)
    order.assert_rows_before_audit()
    assert not TrustAnchor.objects.filter(is_active=False).exists()
    n_other = other.certificates_pem().count(b"BEGIN CERTIFICATE")
    assert [e for e, _ in order.events].count("audit") == n_other
