"""Side doors, round 22: the resident's "this was not me" comment that shows nothing (a
zero-width space, a Hangul filler, blank Braille) was kept as a comment: the case's intake,
the incident and the city's report said 「本人のコメント: 」 with nothing after it. Such a
comment is no comment (`plaintext.blank`), as an empty one."""

import pytest
from django.test import Client

from madoguchi.incidents.models import Incident
from madoguchi.residents.models import NotMeReport
from tests.residents.test_resident_page import (  # noqa: F401
    _origins,
    desk,
    desk_completion,
    sign_in,
)


@pytest.mark.parametrize("comment", ["\u200b", "\u3164", "\u2800 \uffa0"])
def test_a_comment_that_shows_nothing_is_no_comment(trusted, desk, comment):  # noqa: F811
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    client = Client()
    sign_in(client, card)
    r = client.post(
        f"/me/not-me/completion/{completion.pk}/", {"reason": "not_at_desk", "comment": comment}
    )
    assert r.status_code == 302, r.status_code
    report = NotMeReport.objects.get()
    assert report.comment == ""
    intake = report.case.timeline.order_by("seq").first()
    assert "本人のコメント" not in intake.summary
    incident = Incident.objects.get(reason_code="resident_not_me")
    assert "comment" not in incident.detail["text"]["params"]
