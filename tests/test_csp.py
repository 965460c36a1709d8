"""The Content-Security-Policy header: the exact text django-csp builds from the settings, on
every response, built once per policy (issue 15, seventh round) and built anew when the
setting changes; a response's own policy (django-csp's decorators, a nonce) still gets it."""

import csp.middleware
import pytest
from csp.constants import NONCE, SELF
from csp.decorators import csp_exempt, csp_update
from csp.utils import build_policy
from django.http import HttpResponse
from django.template import engines
from django.test import Client
from django.urls import include, path

import madoguchi.core.csp
import madoguchi.urls


def _plain(request):
    return HttpResponse("ok")


@csp_update({"img-src": ["https://tiles.example"]})
def _updated(request):
    return HttpResponse("ok")


@csp_exempt()
def _exempt(request):
    return HttpResponse("ok")


def _nonce(request):
    page = engines["django"].from_string("<script nonce='{{ request.csp_nonce }}'></script>")
    return HttpResponse(page.render({}, request))


urlpatterns = [
    path("test-csp/plain", _plain),
    path("test-csp/updated", _updated),
    path("test-csp/exempt", _exempt),
    path("test-csp/nonce", _nonce),
    path("", include(madoguchi.urls)),
]


@pytest.fixture
def client(settings):
    settings.ROOT_URLCONF = __name__
    return Client()


def _directives(header: str) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in header.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_every_response_carries_the_settings_policy_as_django_csp_writes_it(client, settings):
    assert "madoguchi.core.csp.CSPMiddleware" in settings.MIDDLEWARE
    assert "csp.middleware.CSPMiddleware" not in settings.MIDDLEWARE
    for _ in range(3):
        header = client.get("/test-csp/plain")["Content-Security-Policy"]
        assert header == build_policy()
    agent = settings.CARD_AGENT_ORIGIN
    assert _directives(header) == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", agent],
        "frame-src": [agent],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
    assert "Content-Security-Policy-Report-Only" not in client.get("/test-csp/plain")


def test_the_header_is_built_once_per_policy(client, monkeypatch):
    built = []

    def counting(*args, **kwargs):
        built.append(kwargs.get("report_only", False))
        return build_policy(*args, **kwargs)

    monkeypatch.setattr(madoguchi.core.csp, "build_policy", counting)
    monkeypatch.setattr(csp.middleware, "build_policy", counting)
    first = client.get("/test-csp/plain")["Content-Security-Policy"]
    built.clear()
    for _ in range(5):
        assert client.get("/test-csp/plain")["Content-Security-Policy"] == first
    assert built == []


def test_a_changed_policy_reaches_the_next_response(client, settings):
    before = client.get("/test-csp/plain")["Content-Security-Policy"]
    policy = {k: list(v) for k, v in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items()}
    policy["connect-src"] = [SELF, "http://127.0.0.1:47999"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": policy}
    after = client.get("/test-csp/plain")["Content-Security-Policy"]
    assert after != before
    assert _directives(after)["connect-src"] == ["'self'", "http://127.0.0.1:47999"]
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {
        "DIRECTIVES": {"default-src": [SELF], "report-uri": "/csp-reports"}
    }
    response = client.get("/test-csp/plain")
    assert response["Content-Security-Policy"] == after
    assert response["Content-Security-Policy-Report-Only"] == build_policy(report_only=True)
    assert _directives(response["Content-Security-Policy-Report-Only"]) == {
        "default-src": ["'self'"],
        "report-uri": ["/csp-reports"],
    }


def test_a_policy_excluded_by_prefix_is_left_out(client, settings):
    settings.CONTENT_SECURITY_POLICY = {
        **settings.CONTENT_SECURITY_POLICY,
        "EXCLUDE_URL_PREFIXES": ["/test-csp/plain"],
    }
    assert "Content-Security-Policy" not in client.get("/test-csp/plain")
    assert "Content-Security-Policy" in client.get("/test-csp/updated")


def test_a_response_with_its_own_policy_still_gets_it(client, settings):
    updated = client.get("/test-csp/updated")["Content-Security-Policy"]
    assert _directives(updated)["img-src"] == ["'self'", "data:", "https://tiles.example"]
    assert "Content-Security-Policy" not in client.get("/test-csp/exempt")
    # The settings' policy is unchanged by it.
    assert _directives(client.get("/test-csp/plain")["Content-Security-Policy"])["img-src"] == [
        "'self'",
        "data:",
    ]


def test_a_nonce_used_by_the_page_is_in_its_header(client, settings):
    policy = {k: list(v) for k, v in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"].items()}
    policy["script-src"] = [SELF, NONCE]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": policy}
    response = client.get("/test-csp/nonce")
    nonce = response.content.decode().split("nonce='")[1].split("'")[0]
    assert nonce
    assert _directives(response["Content-Security-Policy"])["script-src"] == [
        "'self'",
        f"'nonce-{nonce}'",
    ]
    # A page that does not use it gets no nonce.
    plain = client.get("/test-csp/plain")["Content-Security-Policy"]
    assert _directives(plain)["script-src"] == ["'self'"]
