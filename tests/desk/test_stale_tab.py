"""A desk page left open in a tab (or a second tab) for one resident's visit, sent after that
visit ended and the next resident's started: the procedure form (the first resident's bank
account or payment ID, typed for them), the checklist and "end the visit" each act on the
desk's *current* visit, so the first resident's account was prepared into the next resident's
visit, their checklist ticked, or their visit ended. Each form carries the visit it was shown
for; sent for another, it is refused, saying why, and nothing is recorded (docs/security.md,
side doors round 12). The page's own script notices a changed visit within a second while it
runs; a tab in the background is throttled, and a form can be sent before it notices."""

from django.contrib.messages import get_messages

from madoguchi.desk import services
from madoguchi.desk.constants import VisitEndReason
from madoguchi.desk.models import Procedure
from tests.desk import test_text_rules

staff_client = test_text_rules.staff_client  # the enrolled terminal with desk staff signed in
_start = test_text_rules._start

FORM = "/desk/visit/procedures/test_link/"
SAID = "この画面は前の来庁のものです"


def _said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_a_stale_tabs_forms_do_not_act_on_the_next_residents_visit(trusted, staff_client):
    a = _start(staff_client, trusted.card("A"))
    page = staff_client.get(FORM).content.decode()
    assert f'name="visit" value="{a.reference}"' in page
    services.visit_end(visit=a, reason=VisitEndReason.NEXT_RESIDENT, actor=staff_client.desk.staff)
    b = _start(staff_client, trusted.card("B"))

    r = staff_client.post(FORM, {"visit": a.reference, "account": "PAY-A-1", "points": "5"})
    assert r.status_code == 302
    assert SAID in _said(r)
    assert not Procedure.objects.filter(visit=b).exists()

    r = staff_client.post("/desk/visit/checklist/", {"visit": a.reference, "stage": "x"})
    assert r.status_code == 302
    assert SAID in _said(r)

    r = staff_client.post("/desk/visit/end/", {"visit": a.reference})
    assert SAID in _said(r)
    b.refresh_from_db()
    assert b.ended_at is None

    # The same forms shown for the current visit are taken.
    r = staff_client.post(FORM, {"visit": b.reference, "account": "PAY-A-1", "points": "5"})
    assert Procedure.objects.filter(visit=b).count() == 1
    staff_client.post("/desk/visit/end/", {"visit": b.reference})
    b.refresh_from_db()
    assert b.ended_at is not None
