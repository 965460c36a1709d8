"""The officials' visit page shows the visit's checklist ticks in the reader's language."""

from madoguchi.accounts.constants import Role
from madoguchi.checklists import services as checklists
from tests import factories
from tests.visits import start_visit

from .test_services import prepare


def test_the_visit_checklist_is_in_the_readers_language(client, trusted, desk, checklist):
    """The visit page's checklist table showed each ticked item in Japanese on the English page
    (its audit trail beside it already read in English)."""
    visit = start_visit(desk, trusted.card("A"))
    prepare(desk)
    face = checklist.items.get(code="card_face_matches")
    checklists.tick(visit=visit, item=face, staff=desk.staff)
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    url = f"/officials/visits/{visit.public_id}/?reason=incident"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<td class="sentence">{face.label_en}</td>' in english
    assert face.label_ja not in english
    japanese = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert f'<td class="sentence">{face.label_ja}</td>' in japanese
