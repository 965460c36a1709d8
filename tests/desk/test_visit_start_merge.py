"""A visit starting at the very moment of a renewal merge (`identity link-renewal`, identity.merge):
the visit's card was read (its certificate, and the interim holder it became at first sight)
just before the merge moved that certificate to the old card's holder and deleted the interim
holder, and the visit was then written for the deleted holder: a foreign-key failure, a server
error at the desk. The visit's start locks its holder first, in the merge's order: it waits for
a merge under way and starts for the holder the certificate has after it, or a merge that comes
second finds the open visit and is refused."""

import threading

import pytest
from cryptography.hazmat.primitives import serialization
from django.db import connection

from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Visit
from madoguchi.desk.services.visits import start
from madoguchi.identity import services as identity
from madoguchi.identity.models import Holder, HolderCertificate
from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.visits import ORIGIN, start_visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def renewed(pki, settings):
    """Resident A's card seen at a desk, then C's card standing for A's reissued one: its first
    sight made an interim holder. Returns the desk session, the old and the interim holder."""
    settings.MADOGUCHI_ORIGIN = ORIGIN
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    desk = terminal_services.desk_session_open(
        terminal=factories.terminal(), staff=factories.staff()
    )
    old = start_visit(desk, pki.card("A")).holder
    interim = start_visit(desk, pki.card("C")).holder
    services.visit_end(
        visit=Visit.objects.get(holder=interim, ended_at=None), reason=VisitEndReason.CARD_REMOVED
    )
    assert interim != old
    return desk, old, interim


def _link_renewal(pki) -> object:
    """What `identity link-renewal` does, on a connection of its own (another thread)."""
    try:
        return identity.certificate_renewal_link(
            old_fingerprint=identity.fingerprint(pki.card("A").auth_certificate),
            new_certificate_pem=pki.card("C").auth_certificate.public_bytes(
                serialization.Encoding.PEM
            ),
        )
    except Exception as exc:  # the test reads it
        return exc
    finally:
        connection.close()


def test_a_visit_started_as_the_merge_commits_waits_and_belongs_to_the_merged_holder(
    renewed, pki, monkeypatch
):
    """The card read, then the merge commits (a second thread) before the visit is written."""
    desk, old, interim = renewed
    real = identity.authenticate
    merged: list[object] = []

    def read_then_merge(**kwargs):
        cert = real(**kwargs)
        assert cert.holder_id == interim.pk  # read before the merge
        thread = threading.Thread(target=lambda: merged.append(_link_renewal(pki)))
        thread.start()
        thread.join()
        return cert

    monkeypatch.setattr(start.identity, "authenticate", read_then_merge)
    visit = start_visit(desk, pki.card("C"))
    assert merged[0].merged, merged  # the interim holder was merged
    assert not Holder.objects.filter(pk=interim.pk).exists()
    assert visit.holder_id == old.pk
    assert Visit.objects.get(pk=visit.pk).holder_id == old.pk
    assert HolderCertificate.objects.get(pk=visit.certificate_id).holder_id == old.pk


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
def test_a_merge_that_comes_while_the_visit_starts_is_refused_for_its_open_visit(
    renewed, pki, monkeypatch
):
    """The visit holds its holder's lock when the merge starts (a second thread): the merge
    waits for the visit to commit, then finds it open and is refused; nothing is merged."""
    desk, _old, interim = renewed
    real = start.insert
    merged: list[object] = []
    thread = threading.Thread(target=lambda: merged.append(_link_renewal(pki)))

    def merge_meanwhile(row, *args, **kwargs):
        if isinstance(row, Visit):
            thread.start()
            # The merge has started and waits for the holder's lock the visit holds: wait until
            # its connection is seen waiting on a lock (no fixed sleep).
            _wait_for_a_lock_wait()
        return real(row, *args, **kwargs)

    monkeypatch.setattr(start, "insert", merge_meanwhile)
    visit = start_visit(desk, pki.card("C"))
    thread.join()
    assert visit.holder_id == interim.pk
    assert isinstance(merged[0], identity.IdentityRefused), merged
    assert merged[0].code == "renewal_visit_open"
    assert Holder.objects.filter(pk=interim.pk).exists()


def _wait_for_a_lock_wait() -> None:
    """Until another connection of this database waits on a lock (pg_stat_activity, its
    snapshot cleared each time: within a transaction it is read once and kept)."""
    import time

    from django.db import connections

    with connections["default"].cursor() as cursor:
        for _ in range(600):
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the merge never waited for the visit's lock")


def test_a_holder_that_changes_again_refuses_the_start_saying_why(renewed, pki, monkeypatch):
    """The certificate's holder could not be locked twice in a row (merged again meanwhile):
    no visit, and a sentence saying why and what to do, in Japanese for the desk."""
    desk, _old, interim = renewed
    monkeypatch.setattr(start, "_CERTIFICATE_LOCKED", lambda **_: [])
    with pytest.raises(start.VisitRefused) as refused:
        start_visit(desk, pki.card("C"))
    assert refused.value.code == "holder_changing"
    assert refused.value.message_ja.startswith("受付の開始と同時に、このカードの持ち主の記録が")
    assert "Start the visit again with the card." in refused.value.message_en
    assert not Visit.objects.filter(holder=interim, ended_at=None).exists()
