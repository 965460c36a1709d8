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


def test_the_systems_withdrawal_is_the_systems_on_the_visit_page(client, trusted, desk, checklist):
    """A withdrawal because the summary changed has no staff member: the page says the system
    withdrew it, and why (it read "None" in the staff column)."""
    visit = start_visit(desk, trusted.card("A"))
    prepare(desk)
    summary = checklist.items.get(code="summary_confirmed")
    checklists.tick(visit=visit, item=summary, staff=desk.staff)
    prepare(desk)  # a second procedure: the summary changed
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    url = f"/officials/visits/{visit.public_id}/?reason=incident"
    japanese = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    table = japanese.split('data-testid="visit-checklist"')[1].split("</table>")[0]
    assert "None" not in table
    assert "システム" in table
    assert "署名する確定内容が変わった" in table


def test_each_tick_names_the_completion_it_belongs_to(client, trusted, desk, checklist):
    """The record shows which completion each tick was for (docs/desk.md "One completion's
    ticks"); the page listed the ticks of a visit of two completions as one list, the first
    completion's receipt tick beside the second's own checks with nothing to tell them apart."""
    from .test_ticks_per_completion import commit, tick_all
    from .test_ticks_per_completion import prepare as prepare_account

    card = trusted.card("A")
    visit = start_visit(desk, card)
    prepare_account(desk, "PAY-A-0001")
    tick_all(visit, desk.staff)  # round 0: the first completion's checks
    commit(desk, card)
    checklists.tick_many(
        visit=visit, stage="after_completion", codes={"receipt_handed"}, staff=desk.staff
    )
    prepare_account(desk, "PAY-A-0002")
    face = checklist.items.get(code="card_face_matches")
    checklists.tick(visit=visit, item=face, staff=desk.staff)  # for a second, never committed
    client.force_login(factories.staff(Role.CITY_OFFICIAL))
    url = f"/officials/visits/{visit.public_id}/?reason=incident"
    japanese = client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    table = japanese.split('data-testid="visit-checklist"')[1].split("</table>")[0]
    shown = [cell.split("</td>")[0] for cell in table.split('data-testid="tick-completion">')[1:]]
    assert '<th scope="col">確定</th>' in table
    assert shown == ["1件目の確定"] * 5 + ["2件目の確定（確定されていません）"]
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Completion 1</td>" in english
    assert "Completion 2 (not committed)</td>" in english
