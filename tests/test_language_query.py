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


@pytest.mark.django_db
def test_the_language_cookie_is_no_scripts_and_pages_vary_on_it(client, settings):
    """The cookie was readable by scripts with no SameSite; a page shown in the cookie's
    language said only `Vary: Accept-Language`, so a shared cache could serve one reader's
    language to the next."""
    cookie = client.get("/accounts/sign-in/?lang=en").cookies["django_language"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert settings.LANGUAGE_COOKIE_SECURE == settings.SESSION_COOKIE_SECURE
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert '<html lang="en">' in page.content.decode()
    assert "Cookie" in page["Vary"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/accounts/sign-in/", "/me/"])
def test_the_headers_switch_works_on_a_page_opened_with_lang(client, page):
    """The switch posted `next` as the page's whole address, `?lang=en` with it: the redirect
    chose English again, and 日本語 did nothing until the reader removed `lang` by hand."""
    import re

    html = client.get(f"{page}?lang=en&x=1").content.decode()
    sent = re.search(r'name="next" value="([^"]*)"', html).group(1).replace("&amp;", "&")
    assert "lang=" not in sent
    assert sent == f"{page}?x=1"
    back = client.post("/i18n/setlang/", {"language": "ja", "next": sent}, follow=True)
    assert '<html lang="ja">' in back.content.decode()
