"""A reissued card used at a desk before its renewal was linked (docs/security.md, round 10):
its new certificate became a holder of its own at first sight, and its basic four were refused
there (bound to the old holder). `madoguchi identity link-renewal` then merges that interim
holder into the old one when it holds nothing signed or linked, and refuses with what it holds
otherwise. Over real HTTP for the whole story (a live server, the card agent with virtual cards,
the desk driver), and on the service for the failure midway."""

import copy

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command

from madoguchi.audit import services as audit
from madoguchi.audit.models import AuditEvent
from madoguchi.desk.models import Completion, Visit
from madoguchi.identity import services as identity
from madoguchi.identity.events import RECORD_READ
from madoguchi.identity.models import Holder, HolderCertificate, HolderRecord
from madoguchi.incidents.models import Incident
from madoguchi.residents.selectors import access_history
from madoguchi.scenario.driver import DeskDriver, Refusal
from madoguchi.scenario.sakai import A_ACCOUNT
from tests import cardkit, factories
from tests.desk import test_basic_four_binding as binding
from tests.desk import test_e2e
from tests.desk.test_basic_four_binding import _leave, _read, _visit
from tests.identity.test_commands import _holder_of

desk_env = test_e2e.desk_env
support_trusted = binding.support_trusted  # the card's basic four verifiable
LINKED = "identity.certificate_renewal_linked"


@pytest.fixture
def desk_extra_cards(pki):
    """Resident A's card reissued: A's basic four (the same EF0002 and EF0003) with a new
    authentication key and certificate (C's stands in for it)."""
    state = copy.deepcopy(pki.card("A").state)
    renewal = pki.card("C").state
    state["auth_key_pem"] = renewal["auth_key_pem"]
    state["auth_cert_der"] = renewal["auth_cert_der"]
    return {"sakai-a-renewed": state}


def _renewed_pem(tmp_path, pki) -> str:
    path = tmp_path / "renewed.pem"
    path.write_bytes(pki.card("C").auth_certificate.public_bytes(serialization.Encoding.PEM))
    return str(path)


def _old_fingerprint(pki) -> str:
    return identity.fingerprint(pki.card("A").auth_certificate)


def _new_fingerprint(pki) -> str:
    return identity.fingerprint(pki.card("C").auth_certificate)


def _first_sight_refused(desk: DeskDriver, *, link: bool) -> None:
    """A's old card at a desk (its basic four bound to A), then the reissued card: a new
    holder, its basic four refused; `link`: the desk then completes a link without them."""
    _visit(desk, "sakai-a")
    r = desk.api("POST", "/visits/current/basic-four", _read(desk))
    assert r.status_code == 200, r.text
    _leave(desk)
    _visit(desk, "sakai-a-renewed")
    r = desk.api("POST", "/visits/current/basic-four", _read(desk))
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "basic_four_other_card"
    assert r.json()["message_ja"].startswith("この基本4情報は、以前に別の住民のカードで")
    if link:
        prepared = desk.prepare("test_link", {"account": A_ACCOUNT, "points": 7500})
        assert not isinstance(prepared, Refusal), prepared
        done = desk.complete(cardkit.PIN)
        assert not isinstance(done, Refusal), done
    _leave(desk)


def test_a_reissued_card_refused_at_first_sight_is_merged_then_reads_its_basic_four(
    desk_env, support_trusted, pki, tmp_path, capsys
):
    desk = DeskDriver(desk_env["server"], desk_env["agent"])
    try:
        desk.enrol(desk_env["credential"])
        desk.sign_in(desk_env["username"], factories.PASSWORD)
        _first_sight_refused(desk, link=False)
        old = HolderCertificate.objects.get(fingerprint=_old_fingerprint(pki)).holder
        interim = HolderCertificate.objects.get(fingerprint=_new_fingerprint(pki)).holder
        assert interim != old
        interim_visit = Visit.objects.get(holder=interim)
        incident = Incident.objects.get(reason_code="basic_four_other_card")
        reads_before = sum(r["count"] for r in access_history(old))
        interim_reads = AuditEvent.objects.filter(
            event_name=RECORD_READ.name, subject_type="identity.holder", subject_id=interim.pk
        ).count()

        call_command("identity", "link-renewal", _old_fingerprint(pki), _renewed_pem(tmp_path, pki))
        out = capsys.readouterr().out
        assert f"holder {str(interim.public_id)[:8]}" in out
        assert "was merged into it" in out
        # The certificate and the interim holder's visit are the old holder's; the interim
        # holder is gone; the incident raised at the refused read stays.
        assert HolderCertificate.objects.get(fingerprint=_new_fingerprint(pki)).holder == old
        interim_visit.refresh_from_db()
        assert interim_visit.holder == old
        assert not Holder.objects.filter(pk=interim.pk).exists()
        incident.refresh_from_db()
        assert incident.visit == interim_visit
        event = AuditEvent.objects.get(event_name=LINKED)
        assert event.subject_id == str(old.pk)
        assert event.payload["merged_holder"] == str(interim.pk)
        assert event.payload["moved"]["desk.Visit.holder"] == 1
        # The reads recorded under the interim holder show on the resident's own page.
        assert sum(r["count"] for r in access_history(old)) == reads_before + interim_reads

        # The next visit with the reissued card reads its basic four and completes.
        _visit(desk, "sakai-a-renewed")
        r = desk.api("POST", "/visits/current/basic-four", _read(desk))
        assert r.status_code == 200, r.text
        prepared = desk.prepare("test_link", {"account": A_ACCOUNT, "points": 7500})
        assert not isinstance(prepared, Refusal), prepared
        done = desk.complete(cardkit.PIN)
        assert not isinstance(done, Refusal), done
        visit = Visit.objects.get(ended_at__isnull=True)
        assert visit.holder == old
        assert visit.card_name != ""
        _leave(desk)
    finally:
        desk.close()
    signed = Completion.objects.get()  # the stand-in procedure's record is its completion
    assert (signed.visit, signed.certificate.fingerprint) == (visit, _new_fingerprint(pki))
    assert Incident.objects.filter(reason_code="basic_four_other_card").count() == 1

    # The same command again changes nothing and is not audited again.
    call_command("identity", "link-renewal", _old_fingerprint(pki), _renewed_pem(tmp_path, pki))
    assert "is already linked to holder" in capsys.readouterr().out
    assert AuditEvent.objects.filter(event_name=LINKED).count() == 1


def test_an_interim_holder_with_a_signed_completion_is_not_merged(
    desk_env, support_trusted, pki, tmp_path
):
    """The reissued card's first visit went on without its basic four and signed a procedure:
    that is the resident's signature, which only a case may attach to a holder. (A payment
    link held: tests/identity/test_commands.py.)"""
    desk = DeskDriver(desk_env["server"], desk_env["agent"])
    try:
        desk.enrol(desk_env["credential"])
        desk.sign_in(desk_env["username"], factories.PASSWORD)
        _first_sight_refused(desk, link=True)
    finally:
        desk.close()
    interim = HolderCertificate.objects.get(fingerprint=_new_fingerprint(pki)).holder
    with pytest.raises(CommandError) as refused:
        call_command("identity", "link-renewal", _old_fingerprint(pki), _renewed_pem(tmp_path, pki))
    said = str(refused.value)
    assert f"holder {str(interim.public_id)[:8]}" in said
    assert "completions (1)" in said
    assert "open a case" in said
    assert "Nothing was linked." in said
    # Nothing moved: the certificate and the signed visit stay the interim holder's.
    assert HolderCertificate.objects.get(fingerprint=_new_fingerprint(pki)).holder == interim
    assert Completion.objects.get().visit.holder == interim
    assert Visit.objects.filter(holder=interim).count() == 1
    assert not AuditEvent.objects.filter(event_name=LINKED).exists()
    refusal = AuditEvent.objects.get(event_name="identity.certificate_renewal_refused")
    assert refusal.payload["code"] == "renewal_holder_holds"
    assert "desk.Completion.certificate=1" in refusal.payload["detail"]


def _first_sight(pki, key: str) -> HolderCertificate:
    return _holder_of(pki, pki.card(key).auth_certificate)


def test_a_merge_that_fails_midway_leaves_nothing_half_written(trusted, monkeypatch):
    old = _first_sight(trusted, "A")
    new = _first_sight(trusted, "C")  # the renewed card, first seen before the link
    interim = new.holder
    record = HolderRecord.objects.create(digest="ab" * 32, holder=interim)
    pem = trusted.card("C").auth_certificate.public_bytes(serialization.Encoding.PEM)
    real_record = audit.record

    def failing(event, **kwargs):
        if event.name == LINKED:
            raise RuntimeError("the audit log is unavailable")
        return real_record(event, **kwargs)

    monkeypatch.setattr(identity.audit, "record", failing)
    with pytest.raises(RuntimeError):
        identity.certificate_renewal_link(old_fingerprint=old.fingerprint, new_certificate_pem=pem)
    new.refresh_from_db()
    record.refresh_from_db()
    assert (new.holder_id, record.holder_id) == (interim.pk, interim.pk)
    assert Holder.objects.filter(pk=interim.pk).exists()
    assert not AuditEvent.objects.filter(event_name=LINKED).exists()

    monkeypatch.setattr(identity.audit, "record", real_record)
    done = identity.certificate_renewal_link(
        old_fingerprint=old.fingerprint, new_certificate_pem=pem
    )
    assert (done.linked, done.merged) == (True, str(interim.public_id)[:8])
    record.refresh_from_db()
    assert record.holder_id == old.holder_id
    assert not Holder.objects.filter(pk=interim.pk).exists()


def test_the_merge_waits_for_the_interim_holders_open_visit(trusted, settings):
    """The renewed card at a desk right now: refused until that visit ends, nothing moved."""
    from tests import visits
    from tests.benefits import builders

    settings.MADOGUCHI_ORIGIN = visits.ORIGIN
    old = _first_sight(trusted, "A")
    new = visits.start_visit(builders.desk_session(), trusted.card("C")).certificate
    pem = trusted.card("C").auth_certificate.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(identity.IdentityRefused) as refused:
        identity.certificate_renewal_link(old_fingerprint=old.fingerprint, new_certificate_pem=pem)
    assert refused.value.code == "renewal_visit_open"
    assert "once that visit has ended" in refused.value.message_en
    assert refused.value.message_ja.startswith("更新後の証明書のカードは、窓口で受付中です。")
    new.refresh_from_db()
    assert new.holder_id != old.holder_id
