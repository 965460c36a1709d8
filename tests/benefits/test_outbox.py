"""The outbox (issue 15): the signed completion commits the insurer call instead of making it;
the worker performs it with its idempotency key, outside any transaction; a crash between the
insurer's answer and our update is repaired by re-sending under the same key; a refusal after
the signature is an incident; reconcile finds and repairs every kind of disagreement."""

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from madoguchi.audit.models import AuditEvent
from madoguchi.benefits import outside, receipts
from madoguchi.benefits.models import Grant, HealthInsuranceRegistration, OutsideCall
from madoguchi.benefits.services import outbox
from madoguchi.benefits.services.reconcile import reconcile
from madoguchi.desk import procedures as desk_procedures
from madoguchi.desk import services as desk_services
from madoguchi.desk.models import Completion
from madoguchi.identity import services as identity
from madoguchi.incidents.models import Incident
from madoguchi.residents.selectors import records
from tests.benefits.conftest import (
    FAST,
    apply_fields,
    commit,
    drain,
    make_providers,
    new_desk,
    prepare,
    sign,
    start_visit,
)
from tests.benefits.test_registrations import HI

uses_sims = pytest.mark.usefixtures("providers", "systems")
ANOTHER_CARDS = {**HI, "insured_number": "88120099", "branch": "00"}  # registered to another card


def _insurer_requests(sims):
    return sims.insurer.control.stats()["requests"]


def _hi_completion(trusted, desk, fields=HI):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **fields)
    return commit(desk, c)


def _later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


@uses_sims
def test_the_completion_commits_the_call_and_calls_nothing(trusted, desk, sims):
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)
    before = _insurer_requests(sims)
    completion = commit(desk, c)
    assert _insurer_requests(sims) == before  # not even the person's look-up
    call = OutsideCall.objects.get()
    reg = HealthInsuranceRegistration.objects.get()
    assert call.state == "pending"
    assert call.key.startswith("madoguchi-hi:")
    assert call.registration == reg
    assert reg.completion == completion
    assert reg.state == "registering"
    assert AuditEvent.objects.filter(event_name="benefits.health_insurance_requested").exists()
    # The receipt, the desk's receipt page and the resident's page say 登録手続き中.
    assert "登録手続き中" in receipts.receipt_html(completion)
    assert "登録手続き中" in " ".join(desk_procedures.status_lines(completion))
    assert "登録手続き中" in records(reg.holder).registrations[0]["state"]
    assert records(reg.holder, "en").registrations[0]["state"].startswith("Registering")
    drain()
    assert desk_procedures.status_lines(completion) == ["健康保険証としての利用登録: 登録済み"]
    # The English desk page said it in Japanese.
    english = " ".join(desk_procedures.status_lines(completion, "en"))
    assert english.startswith("Health-insurance use registration: ")
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", english), english
    assert records(reg.holder).registrations[0]["state"] == "登録済み"


@uses_sims
def test_the_worker_calls_outside_any_transaction_and_drains(trusted, desk, systems, monkeypatch):
    completion = _hi_completion(trusted, desk)
    base = len(connection.atomic_blocks)  # the test's own transaction
    depths = []
    for name in ("lookup_insured", "register_use"):
        real = getattr(systems.insurer, name)

        def spy(*args, _real=real, **kwargs):
            depths.append(len(connection.atomic_blocks))
            return _real(*args, **kwargs)

        monkeypatch.setattr(systems.insurer, name, spy)
    result = drain()
    assert [o.outcome for o in result.outcomes] == ["registered"]
    assert depths == [base, base]
    assert drain().outcomes == []  # drained: nothing left to do
    call = OutsideCall.objects.get()
    assert call.state == "done"
    assert call.attempts == 1
    assert "88120045" not in str(call.payload)  # the numbers only until answered
    reg = HealthInsuranceRegistration.objects.get()
    assert reg.state == "registered"
    assert reg.registration_ref.startswith("ins-reg-")
    assert "登録手続き中" not in receipts.receipt_html(completion)
    assert [r.request_ref for r in systems.insurer.registrations() if r.request_ref] == [call.key]


@uses_sims
def test_a_transient_failure_is_retried_after_a_backoff(trusted, desk, sims):
    _hi_completion(trusted, desk)
    sims.insurer.control.set(fail_next=10)  # every attempt of this pass: 503
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    call = OutsideCall.objects.get()
    assert call.state == "pending"
    assert call.last_error == "outside_unavailable"
    assert call.next_attempt_at > timezone.now()
    assert drain().outcomes == []  # not due yet
    sims.insurer.control.set(reset_faults=True)
    assert [o.outcome for o in drain(_later(400)).outcomes] == ["registered"]
    assert OutsideCall.objects.get().attempts == 2


@uses_sims
def test_a_worker_killed_between_the_answer_and_the_update_is_repaired_by_resending(
    trusted, desk, sims, systems, monkeypatch
):
    _hi_completion(trusted, desk)
    sims.insurer.control.set(reset_stats=True)

    def killed(call, answer, now=None):
        raise SystemExit("worker killed after the insurer answered")

    monkeypatch.setattr(outbox, "record", killed)
    with pytest.raises(SystemExit):
        drain()
    monkeypatch.undo()
    call = OutsideCall.objects.get()
    assert call.state == "pending"  # the insurer registered it; we do not know yet
    assert HealthInsuranceRegistration.objects.get().state == "registering"
    assert drain().outcomes == []  # its lease has not run out
    assert [o.outcome for o in drain(_later(3600)).outcomes] == ["registered"]
    stats = sims.insurer.control.stats()
    assert stats["replayed"] == 1  # the same key: the insurer's first answer, not a second
    assert len([r for r in systems.insurer.registrations() if r.request_ref]) == 1
    call.refresh_from_db()
    assert (call.state, call.attempts) == ("done", 2)
    assert HealthInsuranceRegistration.objects.get().state == "registered"


@uses_sims
def test_a_refusal_after_the_signature_is_an_incident_and_the_receipt_says_so(trusted, desk):
    completion = _hi_completion(trusted, desk, ANOTHER_CARDS)
    assert [o.code for o in drain().outcomes] == ["registered_to_another_card"]
    reg = HealthInsuranceRegistration.objects.get()
    assert reg.state == "refused"
    incident = Incident.objects.get(reason_code="insurer_refused_after_signature")
    assert (incident.kind, incident.severity) == ("outside_refused", "high")
    assert incident.visit_id == reg.visit_id
    assert AuditEvent.objects.filter(event_name="benefits.health_insurance_refused").exists()
    html = receipts.receipt_html(completion)
    assert "登録できませんでした" in html
    assert "別のマイナンバーカードで既に利用登録" in html
    assert "登録できませんでした" in records(reg.holder).registrations[0]["state"]
    assert "registered_to_another_card" not in html  # sentences, never codes
    # A refused registration does not hold the resident's place: they may register again.
    c = trusted.card("C")
    start_visit(desk, c)
    prepare(desk, kind="health_insurance_use", **HI)


@uses_sims
def test_the_health_insurance_grant_follows_the_insurers_answer(trusted, desk):
    c = trusted.card("C")
    visit = start_visit(desk, c)
    prepare(desk, **apply_fields())
    prepare(desk, kind="health_insurance_use", **HI)
    completion = commit(desk, c)
    assert not Grant.objects.filter(holder=visit.holder, category="health_insurance").exists()
    drain()
    grant = Grant.objects.get(holder=visit.holder, category="health_insurance")
    assert grant.completion == completion


# --- reconcile --------------------------------------------------------------------------------


def _findings(report):
    return sorted((f.finding, f.action.split(":")[0]) for f in report.findings)


@uses_sims
def test_reconcile_marks_done_what_the_insurer_answered_but_we_did_not_record(
    trusted, desk, systems, monkeypatch
):
    _hi_completion(trusted, desk)
    monkeypatch.setattr(outbox, "record", lambda *a, **k: (_ for _ in ()).throw(SystemExit()))
    with pytest.raises(SystemExit):
        drain()
    monkeypatch.undo()
    report = reconcile()
    assert _findings(report) == [("answered_not_recorded", "marked registered")]
    assert HealthInsuranceRegistration.objects.get().state == "registered"
    assert reconcile().findings == []  # idempotent


@uses_sims
def test_reconcile_resends_what_never_reached_the_insurer(trusted, desk, sims):
    _hi_completion(trusted, desk)
    report = reconcile()
    assert _findings(report) == [("not_sent", "re-sent")]
    assert OutsideCall.objects.get().state == "done"
    assert reconcile().findings == []


@uses_sims
def test_reconcile_reports_a_registration_the_insurer_lost(trusted, desk, sims):
    _hi_completion(trusted, desk)
    drain()
    sims.insurer.control.set(reset_state=True)  # the insurer no longer has it
    assert _findings(reconcile()) == [("missing_at_insurer", "incident recorded")]
    assert _findings(reconcile()) == [("missing_at_insurer", "incident already recorded")]
    assert Incident.objects.filter(reason_code="reconcile_missing_at_insurer").count() == 1


@pytest.fixture
def reconcile_exit(capsys, monkeypatch):
    """`madoguchi outside reconcile` as the shell runs it (`run_from_argv`): its exit status,
    stdout and stderr. Its closing of the database connections is left out: the test's
    transaction is on one of them."""
    from django.db import connections

    from madoguchi.benefits.management.commands.outside import Command

    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run() -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            Command().run_from_argv(["madoguchi", "outside", "reconcile"])
            code = 0  # returned: the shell's status 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@uses_sims
def test_reconcile_exits_3_on_a_new_incident_then_4_while_it_stays_open(
    trusted, desk, sims, reconcile_exit
):
    """An operator's cron must notice a disagreement reconcile could not repair (it exited 0)."""
    _hi_completion(trusted, desk)
    code, out, err = reconcile_exit()
    assert (code, err) == (0, "")  # not sent: re-sent and registered, so repaired
    assert out.startswith("not_sent")
    assert reconcile_exit()[0] == 0  # in agreement
    sims.insurer.control.set(reset_state=True)  # the insurer loses the registration
    code, out, err = reconcile_exit()
    assert code == 3, (out, err)
    assert out.startswith("missing_at_insurer")
    assert err.strip() == (
        "reconcile: 1 finding left for people, 1 with an incident recorded by this run "
        "(exit 3); the officials' incident list shows them."
    )
    code, out, err = reconcile_exit()
    assert code == 4, (out, err)
    assert "incident already recorded" in out
    assert "0 with an incident recorded by this run (exit 4)" in err


@uses_sims
def test_reconcile_exits_4_while_a_resend_still_fails(
    trusted, desk, sims, reconcile_exit, monkeypatch
):
    _hi_completion(trusted, desk)  # not sent yet; the insurer's list is read, the send fails
    monkeypatch.setattr(
        outbox,
        "process",
        lambda pk, now: outbox.Outcome(OutsideCall.objects.get(pk=pk).key, "retry", "x", 1),
    )
    code, out, err = reconcile_exit()
    assert code == 4, (out, err)
    assert out.startswith("not_sent")
    assert "re-sent: retry" in out
    assert OutsideCall.objects.get().state == "pending"


@uses_sims
def test_reconcile_reports_a_registration_unknown_to_us(trusted, desk, systems):
    systems.insurer.register_use(
        "06139992", "1234", "5678", "00", "ab" * 32, request_ref="madoguchi-hi:stray"
    )
    assert _findings(reconcile()) == [("unknown_to_us", "incident recorded")]
    assert Incident.objects.filter(
        reason_code="reconcile_unknown_to_us", detail__key="madoguchi-hi:stray"
    ).exists()
    reconcile()
    assert Incident.objects.filter(reason_code="reconcile_unknown_to_us").count() == 1


@uses_sims
def test_reconcile_reports_a_refusal_the_insurer_registered_anyway(trusted, desk, systems):
    _hi_completion(trusted, desk)
    call = OutsideCall.objects.get()
    refused = outbox.Answer("refused", code="outside_protocol_error", message_en="odd answer")
    outbox.record(call, refused)
    p = call.payload
    keys = (p["insurer_number"], "SYM-7731", "88120045", "01")
    systems.insurer.register_use(*keys, p["certificate"], request_ref=call.key)
    assert _findings(reconcile()) == [("refused_but_registered", "incident recorded")]


@pytest.mark.django_db(transaction=True)
def test_two_reconciles_at_once_record_one_incident_per_finding():
    """Side doors round 5: `outside reconcile` looked for the finding's incident, then recorded
    one, holding nothing in between, so two runs at once (an overlapping cron, an operator
    running it by hand beside the timer) each recorded the same disagreement. The check and
    the record are now one step under a lock of the call key's own."""
    from madoguchi.benefits.services import reconcile as reconcile_module
    from madoguchi.outside import InsurerRecord
    from tests.racekit import at_once

    record = InsurerRecord(
        registration_ref="R-1",
        request_ref="madoguchi-hi:stray",
        insurer_number="06139992",
        insured_last4="5678",
        card_cert_fingerprint="ab" * 32,
        insured_name_kana=None,
        registered_at="2026-12-01T10:00:00+09:00",
    )

    def run():
        return reconcile_module._incident(
            "madoguchi-hi:stray", "unknown_to_us", None, record
        ).action

    outcomes = at_once(reconcile_module, "incident_record", run, run)
    assert sorted(outcomes) == ["incident already recorded", "incident recorded"]
    assert Incident.objects.filter(reason_code="reconcile_unknown_to_us").count() == 1


# --- a hanging insurer holds up nobody ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_hanging_insurer_does_not_hold_up_desks_that_do_not_use_it(pki, sims, settings):
    """While the insurer hangs inside the worker's call, the health-insurance completion has
    already committed and two other desks' completions (no health insurance) commit at once;
    then the insurer answers and the registration completes. Ordering, not timings."""
    settings.OUTSIDE_WORKER = {**settings.OUTSIDE_WORKER, "kick": False}
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    for sim in (sims.provider, sims.bank, sims.insurer):
        sim.control.reset()
    systems = sims.outside(FAST)
    hi_desk, desks = new_desk(), [new_desk(), new_desk()]
    start_visit(hi_desk, pki.card("C"))
    with outside.use(systems):
        prepare(hi_desk, kind="health_insurance_use", **HI)
        hi_signed = sign(hi_desk, pki.card("C"))
        signed = []
        for d, card, fields in (
            (desks[0], pki.card("B"), apply_fields("7010000000000003", "890", "スズキ イチロウ")),
            (desks[1], pki.card("A"), apply_fields()),
        ):
            start_visit(d, card)
            prepare(d, **fields)
            signed.append((d, *sign(d, card)))
        entered, release = threading.Event(), threading.Event()
        real = systems.insurer.register_use

        def hanging(*args, **kwargs):
            entered.set()
            assert release.wait(60), "the test never released the insurer"
            return real(*args, **kwargs)

        systems.insurer.register_use = hanging
        events: list[str] = []

        def health_insurance_desk(ch, token):
            try:
                desk_services.completion_commit(
                    desk_session=hi_desk, token=token, nonce=ch.nonce.value
                )
                events.append("hi committed")
                drain()  # the worker (here in the same thread, as a kick would be)
                events.append("hi answered")
            finally:
                connection.close()

        def other_desk(d, ch, token):
            try:
                desk_services.completion_commit(desk_session=d, token=token, nonce=ch.nonce.value)
                events.append("other committed")
            finally:
                connection.close()

        hi = threading.Thread(target=health_insurance_desk, args=hi_signed)
        hi.start()
        assert entered.wait(60), "the worker never called the insurer"
        others = [threading.Thread(target=other_desk, args=s) for s in signed]
        for t in others:
            t.start()
        for t in others:
            t.join(60)
        assert events == ["hi committed", "other committed", "other committed"]
        assert hi.is_alive()  # still inside the insurer's call
        release.set()
        hi.join(60)
    systems.close()
    assert events[-1] == "hi answered"
    assert HealthInsuranceRegistration.objects.get().state == "registered"
    assert Completion.objects.count() == 3


@uses_sims
def test_the_commands_drain_report_and_reconcile(trusted, desk):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("outside", "status", stdout=out)  # printed nothing: a newcomer saw no answer
    assert out.getvalue() == (
        "The outbox is empty: no outside call has been queued yet "
        "(a signed health-insurance registration queues the insurer's call).\n"
    )
    _hi_completion(trusted, desk)
    out = StringIO()
    call_command("outside", "status", stdout=out)
    assert (
        "health-insurance registration [insurer.register_use]  "
        "waiting for the insurer [pending]  1 call\n"
    ) in out.getvalue()
    out = StringIO()
    call_command("outside", "worker", "--once", stdout=out)
    assert ": registered by the insurer [registered]\n" in out.getvalue()
    assert "Outbox: 1 registered, 0 refused, 0 to retry." in out.getvalue()
    out = StringIO()
    call_command("outside", "reconcile", stdout=out)
    assert "Reconciled 1 call with 1 insurer record: 0 disagreements." in out.getvalue()


@uses_sims
def test_reconcile_prints_the_next_attempt_in_local_time(trusted, desk, sims):
    from io import StringIO

    from django.core.management import call_command

    _hi_completion(trusted, desk)
    sims.insurer.control.set(fail_next=10)
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    sims.insurer.control.set(reset_faults=True)  # reachable again; the call is not due yet
    call = OutsideCall.objects.get()
    out = StringIO()
    call_command("outside", "reconcile", stdout=out)
    local = timezone.localtime(call.next_attempt_at)
    assert local.utcoffset() == timedelta(hours=9)  # TIME_ZONE is Asia/Tokyo
    assert f"next attempt at {local:%H:%M:%S} JST" in out.getvalue()
    assert OutsideCall.objects.get().next_attempt_at == call.next_attempt_at  # stored as it was


@pytest.mark.django_db(transaction=True)
def test_the_commit_kicks_the_call_at_once_without_the_worker(pki, sims, settings):
    """After the completion commits, a thread sends its call (so the desk sees 登録済み soon);
    no worker runs here."""
    settings.OUTSIDE_WORKER = {**settings.OUTSIDE_WORKER, "kick": True}
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    sims.insurer.control.reset()
    systems = sims.outside(FAST)
    d = new_desk()
    with outside.use(systems):
        start_visit(d, pki.card("C"))
        prepare(d, kind="health_insurance_use", **HI)
        commit(d, pki.card("C"))
        deadline = timezone.now() + timedelta(seconds=60)
        while OutsideCall.objects.get().state == "pending" and timezone.now() < deadline:
            threading.Event().wait(0.05)
    systems.close()
    assert OutsideCall.objects.get().state == "done"
    assert HealthInsuranceRegistration.objects.get().state == "registered"


@pytest.mark.django_db(transaction=True)
def test_kicks_in_flight_are_bounded_and_the_rest_is_left_to_the_worker(
    pki, sims, settings, monkeypatch
):
    """The operator's walk (eighteenth session): with the insurer answering in seconds, every
    signed registration started a kick thread that held a database connection for the whole
    call, without bound. Beyond KICK_LIMIT in flight the call is left to the worker."""
    from madoguchi.benefits.services import outbox

    settings.OUTSIDE_WORKER = {**settings.OUTSIDE_WORKER, "kick": True}
    monkeypatch.setattr(outbox, "_kicks", threading.BoundedSemaphore(1))
    identity.trust_anchor_add(pem=pki.ca.certificates_pem())
    identity.crl_import(data=pki.ca.crl_pem())
    make_providers()
    sims.insurer.control.reset()
    systems = sims.outside(FAST)
    outbox._kicks.acquire()  # the one kick this process may run is in flight
    d = new_desk()
    try:
        with outside.use(systems):
            start_visit(d, pki.card("C"))
            prepare(d, kind="health_insurance_use", **HI)
            commit(d, pki.card("C"))
            assert not [t for t in threading.enumerate() if t.name == "outbox-kick"]
            assert OutsideCall.objects.get().state == "pending"
            outbox._kicks.release()  # that kick ended: the next one runs
            call = OutsideCall.objects.get()
            outbox.kick(call.pk)
            deadline = timezone.now() + timedelta(seconds=60)
            while OutsideCall.objects.get().state == "pending" and timezone.now() < deadline:
                threading.Event().wait(0.05)
    finally:
        systems.close()
    assert OutsideCall.objects.get().state == "done"
    assert outbox._kicks.acquire(blocking=False)  # released when the kick ended


@uses_sims
def test_reconcile_with_the_insurer_down_says_what_it_could_not_read_and_changed_nothing(
    trusted, desk, sims
):
    """It printed the desk's sentence ("Could not reach the health insurer. Nothing was
    linked. ...") to an operator; it now names the insurer's address, why, and that nothing
    was compared or changed, and exits 1."""
    from django.core.management import CommandError, call_command

    _hi_completion(trusted, desk)
    sims.insurer.control.set(fail_next=100)  # every attempt: 503
    with pytest.raises(CommandError) as refused:
        call_command("outside", "reconcile")
    message = str(refused.value)
    assert refused.value.returncode == 1
    assert message.startswith(
        f"reconcile: could not read the health insurer's registrations at {sims.insurer.base_url} "
        "(it could not be reached: HTTP 503, "
    )
    assert "Nothing was compared or changed" in message
    assert "linked" not in message
    assert OutsideCall.objects.get().state == "pending"
    assert not Incident.objects.exists()


@uses_sims
def test_status_shows_calls_waiting_to_be_retried_after_a_failure(trusted, desk, sims):
    """ADR 1501 says `outside status` shows the calls being retried; it printed only
    `insurer.register_use pending 1`, the same as a call never tried."""
    from io import StringIO

    from django.core.management import call_command

    _hi_completion(trusted, desk)
    out = StringIO()
    call_command("outside", "status", stdout=out)
    assert "failed before" not in out.getvalue()
    sims.insurer.control.set(fail_next=10)
    assert [o.outcome for o in drain().outcomes] == ["retry"]
    call = OutsideCall.objects.get()
    out = StringIO()
    call_command("outside", "status", stdout=out)
    due = timezone.localtime(call.next_attempt_at)
    assert (
        "1 pending call failed before and waits to be retried; the first next attempt at "
        f"{due:%H:%M:%S} JST; the latest error: "
    ) in out.getvalue()
    assert f"[{call.last_error}]. The worker retries" in out.getvalue()
    assert call.last_error


@uses_sims
def test_status_says_what_a_retried_calls_error_means_and_what_to_do(trusted, desk, sims):
    """The operator's walk (eighteenth session): the latest error was printed as its code alone,
    `outside_unavailable`, with nothing to say what it meant or whether to act."""
    from io import StringIO

    from django.core.management import call_command

    _hi_completion(trusted, desk)
    sims.insurer.control.set(fail_next=10)
    out = StringIO()
    call_command("outside", "worker", "--once", stdout=out)
    assert (
        ": not answered; to be retried [retry]; the insurer could not be reached or answered "
        "with a server error [outside_unavailable]\nOutbox: 0 registered, 0 refused, 1 to retry."
    ) in out.getvalue()
    out = StringIO()
    call_command("outside", "status", stdout=out)
    assert (
        "the latest error: the insurer could not be reached or answered with a server error "
        "[outside_unavailable]. The worker retries by itself under the same keys (nothing is "
        "registered twice); if the error stays, check the insurer and OUTSIDE_INSURER_URL."
    ) in out.getvalue()


@pytest.mark.django_db
def test_status_names_pending_calls_no_worker_has_taken_and_refused_calls():
    """A completion's kick tries its call once; only a worker retries. With no worker running,
    failed calls stayed pending for ever and `outside status` read as if all was well; a refused
    call was a count with nothing to say what follows from it."""
    from io import StringIO

    from django.core.management import call_command

    from madoguchi.benefits.management.commands.outside import OVERDUE_SECONDS

    now = timezone.now()
    kind = "insurer.register_use"
    OutsideCall.objects.create(key="due-now", kind=kind, next_attempt_at=now)
    out = StringIO()
    call_command("outside", "status", stdout=out)
    assert "without a worker" not in out.getvalue()
    for key, ago in (("a", OVERDUE_SECONDS + 60), ("b", OVERDUE_SECONDS + 600)):
        due = now - timedelta(seconds=ago)
        OutsideCall.objects.create(key=key, kind=kind, next_attempt_at=due, last_error="x")
    OutsideCall.objects.create(
        key="c", kind=kind, state="done", next_attempt_at=now - timedelta(days=1)
    )
    OutsideCall.objects.create(
        key="d", kind=kind, state="refused", next_attempt_at=now - timedelta(days=1)
    )
    out = StringIO()
    call_command("outside", "status", stdout=out)
    oldest = timezone.localtime(now - timedelta(seconds=OVERDUE_SECONDS + 600))
    assert (
        f"2 pending calls have been due since {oldest:%Y-%m-%d %H:%M:%S %Z} or later without a "
        "worker taking them: check that `madoguchi outside worker` runs beside `madoguchi "
        "serve`, with the same DATABASE_URL (docs/outside.md, The worker)."
    ) in out.getvalue()
    assert (
        "1 refused call: the insurer refused it after the resident signed (or after a case asked "
        "for a suspension); each has a high incident on the officials' incident list, and "
        "nothing is retried."
    ) in out.getvalue()


@pytest.mark.django_db
def test_status_aligns_its_columns_by_the_longest_call_kind():
    """insurer.cancel_registration is 27 characters: a fixed 24-character column pushed its
    state and count out of line with the other rows."""
    from io import StringIO

    from django.core.management import call_command

    due = timezone.now()
    OutsideCall.objects.create(key="a", kind="insurer.register_use", next_attempt_at=due)
    OutsideCall.objects.create(
        key="b", kind="insurer.cancel_registration", state="done", next_attempt_at=due
    )
    out = StringIO()
    call_command("outside", "status", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        "health-insurance suspension (a case's) [insurer.cancel_registration]  "
        "answered [done]                    1 call",
        "health-insurance registration [insurer.register_use]                  "
        "waiting for the insurer [pending]  1 call",
    ]
