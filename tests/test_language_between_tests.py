"""A test starts in Japanese (settings.LANGUAGE_CODE) whatever language the test before it left
active: an English page requested through the test client leaves English active in the thread
(LocaleMiddleware activates a request's language and never undoes it), and the name-check reason
tests, run after the incident-text tests, read their Japanese sentences in English. These two
run in this order in one process (pytest's order, `--reverse` apart): the first leaves English
behind, the second must not see it."""

import pytest
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_an_english_page_leaves_english_active_in_the_thread(client):
    assert client.get("/accounts/sign-in/?lang=en").status_code == 200
    assert translation.get_language() == "en"


def test_the_next_test_starts_in_japanese():
    assert translation.get_language() == "ja"
    assert translation.gettext("Sign in") != "Sign in"
