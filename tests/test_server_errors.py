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
