"""`?lang=en` on a page shows it in English and keeps the choice (it only worked on the card
agent's PIN pad; the pages took only the header's switch)."""

import pytest


@pytest.mark.django_db
def test_lang_in_the_query_picks_the_pages_language_and_keeps_it(client):
    ja = client.get("/accounts/sign-in/").content.decode()
    assert '<html lang="ja">' in ja
    en = client.get("/accounts/sign-in/?lang=en")
    assert '<html lang="en">' in en.content.decode()
    assert en.cookies["django_language"].value == "en"
    # The choice sticks, as the switch's does, until another is made.
    assert '<html lang="en">' in client.get("/accounts/sign-in/").content.decode()
    assert '<html lang="ja">' in client.get("/accounts/sign-in/?lang=ja").content.decode()
    assert '<html lang="ja">' in client.get("/accounts/sign-in/").content.decode()


@pytest.mark.django_db
def test_an_unknown_lang_is_ignored(client):
    r = client.get("/accounts/sign-in/?lang=xx")
    assert '<html lang="ja">' in r.content.decode()
    assert "django_language" not in r.cookies
