"""Round 22: the desk's email form's one-time key was looked up by its model only: a key sent
with one completion's email form, sent again with another completion's, read "This email form
was sent twice" and sent nothing for a notice never sent. The key is that completion's form's."""

from django.core import mail

from madoguchi.once import services as once
from madoguchi.residents import services
from tests.residents.test_resident_page import (  # noqa: F401 -- fixtures
    _origins,
    desk,
    desk_completion,
)


def test_one_completions_email_key_sent_with_anothers_sends_that_notice(
    trusted,
    desk,  # noqa: F811
):
    first = desk_completion(desk, trusted.card("A"))
    second = desk_completion(desk, trusted.card("A"), account="PAY-A-0002")
    key = once.new_key()
    assert services.completion_email(first, "a@example.jp", once_key=key)
    assert services.completion_email(second, "a@example.jp", once_key=key)
    assert len(mail.outbox) == 2
    # The same completion's form sent again: sent twice, nothing sent.
    assert not services.completion_email(second, "a@example.jp", once_key=key)
    assert len(mail.outbox) == 2
