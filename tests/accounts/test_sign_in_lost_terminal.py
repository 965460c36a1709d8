"""The README (step 4): "a browser you enrolled as desk-02 stops being that terminal and its next
desk page says so". It said so only while a staff member was signed in there: a desk browser
whose sign-in had ended (the morning after) was sent to the sign-in page, which read only the
general "this browser is not a registered desk terminal" (a walk of the README, round 20)."""

from django.test import Client

from madoguchi.terminals import services as terminal_services
from tests import factories


def test_a_browser_no_longer_a_terminal_is_told_why_on_the_sign_in_page(client, db):
    terminal = factories.terminal()
    raw = terminal_services.credential_issue(terminal=terminal, actor=None).raw
    assert client.post("/terminal/enrol/", {"credential": raw}).status_code == 200
    other = Client()  # make scenario enrols itself as the same terminal
    assert other.post("/terminal/enrol/", {"credential": raw}).status_code == 200
    text = client.get("/desk/", follow=True).content.decode()
    assert f"このブラウザは端末 {terminal.name} ではなくなりました" in text
    assert "別のブラウザがこの端末として登録されました" in text
    assert "このブラウザは登録された窓口端末ではありません" not in text


def test_a_browser_never_enrolled_reads_the_general_line(client, db):
    text = client.get("/accounts/sign-in/").content.decode()
    assert "このブラウザは登録された窓口端末ではありません" in text
    assert 'data-testid="lost-terminal"' not in text
