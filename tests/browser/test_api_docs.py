"""The API's Swagger UI page (/api/v1/docs) in chromium, under the pages' Content-Security-Policy:
it renders the schema's operations from our own static files, and the browser reports no
refused script or style."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_page_renders_the_api_under_the_csp(live_server, browser):
    context = browser.new_context()
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url),
    )
    try:
        page.goto(live_server.url + "/api/v1/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("madoguchi API")
        expect(page.locator("main h1")).to_contain_text("madoguchi API")  # the page's one h1
        assert page.locator("h1").count() == 1
        assert page.locator("html").get_attribute("lang") == "en"
        # An operation of the schema, e.g. the agent's card events.
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        assert page.locator(".opblock").count() > 5
        assert refused == []
        assert outside == []
    finally:
        context.close()
