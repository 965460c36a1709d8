"""Uncaught exceptions answer as refusals: a database that cannot be reached is 503 with
Retry-After (JSON for the API, a Japanese page for people), anything else 500; no traceback and
no internal detail reaches the client."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import include, path

import madoguchi.urls


def _db_down(request):
    raise OperationalError("server closed the connection unexpectedly")


def _bug(request):
    raise ZeroDivisionError("secret internal detail")


# This module is the URLconf of these tests: the project's routes and handler, plus two views
# that fail the ways a real request can.
urlpatterns = [
    path("api/v1/test-db-down", _db_down),
    path("desk/test-db-down", _db_down),
    path("desk/test-bug", _bug),
    path("", include(madoguchi.urls)),
]
handler500 = madoguchi.urls.handler500


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_the_project_routes_uncaught_exceptions_to_the_refusal_handler():
    assert madoguchi.urls.handler500 == "madoguchi.core.views.server_error"


def test_api_database_unreachable_is_503_with_a_refusal_body(client):
    r = client.get("/api/v1/test-db-down")
    assert r.status_code == 503
    assert r["Retry-After"] == "5"
    body = r.json()
    assert body["code"] == "database_unavailable"
    assert "try again" in body["message"]
    assert "もう一度" in body["message_ja"]
    assert "server closed" not in r.content.decode()


def japanese_page(r, status: int) -> str:
    assert r.status_code == status
    page = r.content.decode()
    assert 'lang="ja"' in page
    return page


def test_desk_page_database_unreachable_is_a_japanese_page(client):
    page = japanese_page(client.get("/desk/test-db-down"), 503)
    assert "データベースに一時的に接続できません" in page
    assert "server closed" not in page


def test_a_bug_is_500_without_its_details(client):
    r = client.get("/desk/test-bug")
    assert r.status_code == 500
    page = r.content.decode()
    assert "予期しないエラー" in page
    assert "secret internal detail" not in page
    assert "Retry-After" not in r
    r = client.get("/desk/test-bug", HTTP_ACCEPT="application/json")
    assert r.json()["code"] == "server_error"
    assert "secret" not in r.content.decode()


@pytest.mark.django_db
def test_refused_pages_are_japanese_and_the_api_gets_a_refusal_body(settings):
    """A dead link or a page the role may not open: never Django's English "Not Found" or
    "403 Forbidden", nor the views' English PermissionDenied texts."""
    from madoguchi.accounts.constants import Role
    from tests import factories

    settings.DEBUG = False
    c = Client()
    page = japanese_page(c.get("/no-such-page/"), 404)
    assert "このアドレスには何もありません" in page
    assert "Not Found" not in page
    body = c.get("/api/v1/no-such-endpoint").json()
    assert body["code"] == "not_found"
    assert "address" in body["message"]
    assert "/api/v1/openapi.json" in body["message"]  # where the operations are, for a client
    c.force_login(factories.staff(Role.DESK_STAFF))
    page = japanese_page(c.get("/officials/"), 403)
    assert "このページを開く権限がありません" in page
    assert "Forbidden" not in page
    assert "city officials" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_dead_link_has_the_sites_layout_a_sentence_and_a_way_back(settings, language):
    """The 404 page was bare HTML (no stylesheet, no header): a desk or a resident that mistyped
    an address saw a white page with a line of text. It has the site's stylesheet, header and
    card now, says what happened in the reader's language, and leads back; no internal code."""
    from django.conf import settings as conf

    settings.DEBUG = False
    c = Client()
    c.cookies[conf.LANGUAGE_COOKIE_NAME] = language
    page = c.get("/no-such-page/").content.decode()
    assert f'<html lang="{language}">' in page
    assert 'href="/static/madoguchi/desk.css"' in page
    assert 'class="topbar"' in page
    assert 'data-testid="error-page"' in page
    if language == "ja":
        assert "<h1>ページが見つかりません</h1>" in page
        assert ">最初の画面に戻る</a>" in page
    else:
        assert "<h1>Page not found</h1>" in page
        assert "There is nothing at this address." in page
        assert ">Back to the start</a>" in page
    assert "not_found" not in page  # no internal code (the page has no token to match)
    page = c.get("/me/no-such-record/").content.decode()
    assert 'href="/static/residents/me.css"' in page
    assert 'data-testid="back-to-records"' in page
    body = c.get("/api/v1/no-such-endpoint").json()  # the API stays JSON, in English
    assert body["code"] == "not_found"
    assert body["message"].startswith("There is no API operation at this address.")


def switch_link(page: str) -> str:
    """The href of the page's language switch link (the refusal pages and the admin)."""
    import html
    import re

    found = re.search(r'<a class="btn btn-link lang-switch" href="([^"]*)"', page)
    assert found, "no language switch link"
    return html.unescape(found.group(1))


@pytest.mark.django_db
def test_refused_pages_offer_the_language_switch_to_the_same_page_and_query(settings):
    """The 400, 403 and 404 pages rendered in the chosen language but had no way to switch (the
    header's switch is a form that needs the request's context): a link to the same page and
    query with ?lang= now, which keeps the choice as the switch does."""
    from madoguchi.accounts.constants import Role
    from tests import factories

    settings.DEBUG = False
    c = Client()
    page = japanese_page(c.get("/no-such-page/?a=1&lang=xx"), 404)
    assert switch_link(page) == "/no-such-page/?a=1&lang=en"
    assert ">English</a>" in page
    page = c.get(switch_link(page)).content.decode()
    assert '<html lang="en">' in page
    assert "Page not found" in page
    assert switch_link(page) == "/no-such-page/?a=1&lang=ja"
    assert ">日本語</a>" in page
    assert '<html lang="en">' in c.get("/no-such-page/").content.decode()  # the choice is kept
    c.force_login(factories.staff(Role.DESK_STAFF))
    page = c.get("/officials/?lang=ja").content.decode()
    assert switch_link(page) == "/officials/?lang=en"
    # A query too long to read is the 400's cause: the link is the page alone.
    r = Client().get("/no-such-page/?" + "&".join(f"f{i}=1" for i in range(1200)))
    assert r.status_code == 400
    assert switch_link(r.content.decode()) == "/no-such-page/?lang=en"


def test_a_server_error_page_offers_the_language_switch_without_the_database(client):
    """The 503 page is rendered when the database cannot be reached: its switch is a link that
    needs none (this test has no database; a query would fail it)."""
    page = japanese_page(client.get("/desk/test-db-down?x=y"), 503)
    assert switch_link(page) == "/desk/test-db-down?x=y&lang=en"
    page = client.get("/desk/test-bug", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert switch_link(page) == "/desk/test-bug?lang=ja"


@pytest.mark.django_db
def test_the_csrf_refusal_offers_the_switch_as_a_link_not_a_form():
    """The CSRF refusal's header had the switch's form, which the same check refuses when the
    cookie is what is missing: the switch there is a link to the page in the other language."""
    from tests import factories

    c = Client(enforce_csrf_checks=True)
    c.force_login(factories.staff())
    r = c.post("/accounts/sign-out/")
    assert r.status_code == 403
    page = r.content.decode()
    assert 'action="/i18n/setlang/"' not in page
    assert switch_link(page) == "/accounts/sign-out/?lang=en"


@pytest.mark.django_db
def test_the_admin_has_the_language_switch():
    """The Django admin rendered in the chosen language with no way to change it: its header
    has the switch, and so has its page refusing a filter it cannot look up."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from madoguchi.accounts.constants import Role
    from tests import factories

    user = factories.staff(Role.OPERATOR)
    user.is_staff = user.is_superuser = True
    user.save()
    device = factories.totp_device(user)
    c = Client()
    c.force_login(user)
    session = c.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    factories.reasons_given(c, "/admin/incidents/incident/")
    page = c.get("/admin/incidents/incident/?kind__exact=complaint").content.decode()
    assert '<html lang="ja"' in page
    link = switch_link(page)
    assert link == "/admin/incidents/incident/?kind__exact=complaint&lang=en"
    page = c.get(link).content.decode()
    assert '<html lang="en"' in page
    assert switch_link(page) == "/admin/incidents/incident/?kind__exact=complaint&lang=ja"
    r = c.get("/admin/incidents/incident/", {"kind__exact": "\x00"})
    assert r.status_code == 400
    assert switch_link(r.content.decode()) == "/admin/incidents/incident/?kind__exact=%00&lang=ja"
