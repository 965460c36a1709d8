"""A checklist form ticks only what its page showed: the summary and the completion it was shown
for (docs/desk.md "One completion's ticks"). A tab left on an earlier summary confirms nothing;
a tab left on an earlier completion's receipt ticks that completion's items, never the next's;
and the visit's end names what each completion left unticked."""

from madoguchi.checklists import services as checklists
from madoguchi.checklists.constants import Stage
from madoguchi.checklists.models import ChecklistTick
from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.incidents.constants import IncidentKind
from madoguchi.incidents.models import Incident
from tests import cardkit

from .test_pages import ORIGIN, _origin, prepare, shown_form, staff_client, start  # noqa: F401

HTMX = {"HX-Request": "true"}
BEFORE = Stage.BEFORE_COMPLETION
AFTER = Stage.AFTER_COMPLETION
STALE_JA = "この画面は、このご来庁の前の確定内容か前の確定のときのものなので"
AFTER_STALE_JA = "この画面は、このご来庁の別の確定のときのものなので、チェックは記録していません。"


def _tick_all(visit, staff, stage=BEFORE):
    for item in checklists.items_for(visit, stage):
        checklists.tick(visit=visit, item=item, staff=staff)


def _commit(desk, card):
    ch = services.completion_challenge(desk_session=desk)
    token = cardkit.completion_token(card, ORIGIN, ch.nonce.value, ch.transaction_bytes)
    return services.completion_commit(desk_session=desk, token=token, nonce=ch.nonce.value)


def _unticked(visit):
    return Incident.objects.filter(kind=IncidentKind.CHECKLIST_UNTICKED, visit=visit)


def _said(client, response):
    return client.get(response["HX-Redirect"]).content.decode()


def test_a_confirmation_page_shown_before_the_summary_changed_does_not_confirm_the_new_one(
    trusted,
    staff_client,  # noqa: F811
):
    """Tab 1 shows the confirmation page for PAY-A-0001 alone. In tab 2 everything is ticked,
    then a second account is added: the system withdraws "the resident confirmed the summary".
    Back in tab 1 (still showing the old lines) the staff member ticks it, with the own-name
    item: it was recorded for the new summary, which nobody showed, and the completion went
    through on it. Now refused as stale, nothing recorded, the page reloaded saying why."""
    checklists.template_install_default()
    card = trusted.card("A")
    visit = start(staff_client, card)
    prepare(staff_client, "PAY-A-0001")
    old_page = staff_client.get("/desk/visit/confirm/").content.decode()
    assert "PAY-B-0002" not in old_page
    old_form = shown_form(old_page)
    assert old_form.keys() == {"visit", "stage", "round", "summary"}
    _tick_all(visit, staff_client.desk.staff)
    prepare(staff_client, "PAY-B-0002")  # the system withdraws the summary's items
    rows_before = ChecklistTick.objects.filter(visit=visit).count()
    r = staff_client.post(
        "/desk/visit/checklist/",
        {**old_form, "item": ["summary_confirmed", "payment_card_in_name"]},
        headers=HTMX,
    )
    assert r["HX-Redirect"] == "/desk/visit/confirm/"
    missing = {i.code for i in checklists.missing(visit, BEFORE)}
    assert "summary_confirmed" in missing, (
        "a tick from a page showing the old summary stands for the new one"
    )
    assert ChecklistTick.objects.filter(visit=visit).count() == rows_before
    page = _said(staff_client, r)
    assert STALE_JA in page
    assert "確定内容を来庁者本人に確認してもらってから" in page
    assert "PAY-B-0002" in page  # the page as it is now
    # The page as shown now confirms it.
    r = staff_client.post(
        "/desk/visit/checklist/",
        {**shown_form(page), "item": ["summary_confirmed", "payment_card_in_name"]},
        headers=HTMX,
    )
    assert r.status_code == 200
    assert checklists.missing(visit, BEFORE) == []


def test_a_summary_changed_with_nothing_ticked_is_not_confirmed_from_the_older_page(
    trusted,
    staff_client,  # noqa: F811
):
    """Nothing was ticked when tab 2 added the second account (so nothing was withdrawn): tab 1,
    showing one account, confirms nothing for two; a discard changes the summary too."""
    checklists.template_install_default()
    visit = start(staff_client, trusted.card("A"))
    prepare(staff_client, "PAY-A-0001")
    old_form = shown_form(staff_client.get("/desk/visit/confirm/").content.decode())
    second = prepare(staff_client, "PAY-B-0002")
    staff_client.post(
        "/desk/visit/checklist/", {**old_form, "item": ["summary_confirmed"]}, headers=HTMX
    )
    assert not ChecklistTick.objects.filter(visit=visit).exists()
    # Shown with both, then the second discarded in another tab: the two-account page is stale.
    two_form = shown_form(staff_client.get("/desk/visit/confirm/").content.decode())
    services.procedure_discard(desk_session=staff_client.desk, procedure_id=second.pk)
    staff_client.post(
        "/desk/visit/checklist/", {**two_form, "item": ["summary_confirmed"]}, headers=HTMX
    )
    assert not ChecklistTick.objects.filter(visit=visit).exists()
    # The page as it is now (one account again) is taken; so is the first one, which shows it.
    staff_client.post(
        "/desk/visit/checklist/", {**old_form, "item": ["summary_confirmed"]}, headers=HTMX
    )
    assert ChecklistTick.objects.filter(visit=visit, item__code="summary_confirmed").exists()


def test_a_confirmation_form_that_names_no_summary_is_refused(trusted, staff_client):  # noqa: F811
    """A form without the summary (or the round) it showed, sent by hand or kept from before
    forms carried them, cannot show what it confirms: refused as a stale page's."""
    checklists.template_install_default()
    visit = start(staff_client, trusted.card("A"))
    prepare(staff_client, "PAY-A-0001")
    form = shown_form(staff_client.get("/desk/visit/confirm/").content.decode())
    for without in ("summary", "round"):
        sent = {k: v for k, v in form.items() if k != without}
        r = staff_client.post(
            "/desk/visit/checklist/", {**sent, "item": ["card_face_matches"]}, headers=HTMX
        )
        assert r["HX-Redirect"] == "/desk/visit/confirm/"
    assert not ChecklistTick.objects.filter(visit=visit).exists()
    r = staff_client.post(
        "/desk/visit/checklist/", {**form, "item": ["card_face_matches"], "round": "x"}
    )
    assert r["Location"] == "/desk/visit/confirm/"
    assert not ChecklistTick.objects.filter(visit=visit).exists()


def test_the_first_completions_confirmation_page_ticks_nothing_for_the_second(
    trusted,
    staff_client,  # noqa: F811
):
    """Tab 1 stays on the first completion's confirmation page; the first completion is signed
    and the next procedure prepared in tab 2. Tab 1's boxes tick nothing for the second."""
    checklists.template_install_default()
    card = trusted.card("A")
    visit = start(staff_client, card)
    prepare(staff_client, "PAY-A-0001")
    first_form = shown_form(staff_client.get("/desk/visit/confirm/").content.decode())
    assert first_form["round"] == "0"
    _tick_all(visit, staff_client.desk.staff)
    _commit(staff_client.desk, card)
    prepare(staff_client, "PAY-A-0002")
    r = staff_client.post(
        "/desk/visit/checklist/",
        {**first_form, "item": ["card_face_matches", "pin_by_resident"]},
        headers=HTMX,
    )
    assert r["HX-Redirect"] == "/desk/visit/confirm/"
    assert not ChecklistTick.objects.filter(visit=visit, completion_round=1).exists()


def test_a_receipt_page_of_the_first_completion_does_not_tick_the_seconds_items(
    trusted,
    staff_client,  # noqa: F811
):
    """Tab 1 stays on the first completion's receipt. In tab 2 the same resident's next
    procedure is prepared, checked and signed (its own receipt, its own after-completion items).
    Tab 1's "End the visit (next resident)" with its two boxes ticked recorded them for the
    second completion, whose receipt nobody handed over: no incident named what was left. Now
    they are the first completion's, and the end names the second's."""
    checklists.template_install_default()
    card = trusted.card("A")
    visit = start(staff_client, card)
    prepare(staff_client, "PAY-A-0001")
    _tick_all(visit, staff_client.desk.staff)
    first = _commit(staff_client.desk, card)
    receipt = staff_client.get("/desk/visit/receipt/").content.decode()
    assert first.transaction_digest[:16] in receipt
    first_receipt = shown_form(receipt)
    assert first_receipt["round"] == "1"
    # Tab 2: the next procedure, its own ticks, its own completion.
    prepare(staff_client, "PAY-A-0002")
    _tick_all(visit, staff_client.desk.staff)
    second = _commit(staff_client.desk, card)
    assert second.pk != first.pk
    # Tab 1, on the first receipt, ticks its boxes and ends the visit.
    staff_client.post(
        "/desk/visit/end/", {**first_receipt, "item": ["receipt_handed", "visit_ended"]}
    )
    visit.refresh_from_db()
    assert visit.ended_at is not None
    after = ChecklistTick.objects.filter(visit=visit, item__stage=AFTER)
    assert sorted(after.values_list("item__code", "completion_round")) == [
        ("receipt_handed", 1),
        ("visit_ended", 1),
    ]
    # The second completion's after-completion items were never ticked on its receipt.
    incident = _unticked(visit).get()
    assert incident.detail["completions"] == {"2": ["receipt_handed", "visit_ended"]}
    ja = incident.detail["text"]["params"]["items"]["ja"]
    assert ja.startswith("2件目の確定: 控え（受付票）を来庁者に渡した")
    assert "1件目" not in ja


def test_an_earlier_receipts_htmx_tick_is_that_completions_and_shows_its_boxes(
    trusted,
    staff_client,  # noqa: F811
):
    """The first receipt's box, ticked by htmx after the second completion: recorded for the
    first, its fieldset still the first's (round 1, ticked), the second's receipt untouched."""
    checklists.template_install_default()
    card = trusted.card("A")
    visit = start(staff_client, card)
    prepare(staff_client, "PAY-A-0001")
    _tick_all(visit, staff_client.desk.staff)
    _commit(staff_client.desk, card)
    first_receipt = shown_form(staff_client.get("/desk/visit/receipt/").content.decode())
    prepare(staff_client, "PAY-A-0002")
    _tick_all(visit, staff_client.desk.staff)
    _commit(staff_client.desk, card)
    r = staff_client.post(
        "/desk/visit/checklist/",
        {**first_receipt, "stage": "after_completion", "item": ["receipt_handed"]},
        headers=HTMX,
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert '<input type="hidden" name="round" value="1">' in body
    assert 'name="shown" value="receipt_handed"' in body
    assert {i.code for i in checklists.missing(visit, AFTER)} == {"receipt_handed", "visit_ended"}
    second = staff_client.get("/desk/visit/receipt/").content.decode()
    assert '<input type="hidden" name="round" value="2">' in second
    assert 'name="shown"' not in second.split('data-testid="checklist-after_completion"')[1]
    # A round the visit does not have is refused, nothing recorded.
    count = ChecklistTick.objects.filter(visit=visit).count()
    for bad in ("3", "0"):
        r = staff_client.post(
            "/desk/visit/checklist/",
            {**first_receipt, "round": bad, "stage": "after_completion", "item": ["visit_ended"]},
            headers=HTMX,
        )
        assert r["HX-Redirect"] == "/desk/visit/receipt/"
    assert ChecklistTick.objects.filter(visit=visit).count() == count


def test_an_end_form_that_names_no_completion_is_refused_and_the_visit_stays_open(
    trusted,
    staff_client,  # noqa: F811
):
    checklists.template_install_default()
    card = trusted.card("A")
    visit = start(staff_client, card)
    prepare(staff_client, "PAY-A-0001")
    _tick_all(visit, staff_client.desk.staff)
    _commit(staff_client.desk, card)
    r = staff_client.post(
        "/desk/visit/end/", {"visit": visit.reference, "item": ["receipt_handed", "visit_ended"]}
    )
    assert r["Location"] == "/desk/visit/receipt/"
    visit.refresh_from_db()
    assert visit.ended_at is None
    assert AFTER_STALE_JA in staff_client.get(r["Location"]).content.decode()
    # The end form of the visit page (no boxes) ends it as before.
    staff_client.post("/desk/visit/end/", {"visit": visit.reference})
    visit.refresh_from_db()
    assert visit.ended_at is not None


def test_a_first_completions_after_items_left_unticked_are_recorded(trusted, staff_client):  # noqa: F811
    """Each completion's after-completion items are its own (docs/desk.md "One completion's
    ticks"), yet the first completion's, never ticked on its receipt, were recorded nowhere: the
    visit's end checked only the last completion's. Now the end names the first completion's
    own item (the receipt); "the card returned, the visit ended" is the visit's, once, at its
    end."""
    checklists.template_install_default()
    card = trusted.card("A")
    visit = start(staff_client, card)
    desk = staff_client.desk
    prepare(staff_client, "PAY-A-0001")
    _tick_all(visit, desk.staff)
    _commit(desk, card)
    # Straight back to the visit: the first receipt's items are never ticked.
    prepare(staff_client, "PAY-A-0002")
    _tick_all(visit, desk.staff)
    _commit(desk, card)
    checklists.tick_many(
        visit=visit, stage=AFTER, codes={"receipt_handed", "visit_ended"}, staff=desk.staff
    )
    services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    incident = _unticked(visit).get()
    assert incident.detail["items"] == ["receipt_handed"]
    assert incident.detail["completions"] == {"1": ["receipt_handed"]}
    params = incident.detail["text"]["params"]["items"]
    assert params == {
        "ja": "1件目の確定: 控え（受付票）を来庁者に渡した",
        "en": "completion 1: The receipt was handed to the resident",
    }


def test_every_completions_receipt_ticked_leaves_no_incident(trusted, staff_client):  # noqa: F811
    checklists.template_install_default()
    card = trusted.card("A")
    visit = start(staff_client, card)
    desk = staff_client.desk
    for account in ("PAY-A-0001", "PAY-A-0002", "PAY-A-0003"):
        prepare(staff_client, account)
        _tick_all(visit, desk.staff)
        _commit(desk, card)
        checklists.tick_many(visit=visit, stage=AFTER, codes={"receipt_handed"}, staff=desk.staff)
    checklists.tick_many(
        visit=visit, stage=AFTER, codes={"receipt_handed", "visit_ended"}, staff=desk.staff
    )
    services.visit_end(visit=visit, reason=VisitEndReason.NEXT_RESIDENT)
    assert not _unticked(visit).exists()
