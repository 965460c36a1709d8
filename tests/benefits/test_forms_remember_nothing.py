"""A desk terminal serves one resident after another: its browser must not remember what staff
type for one (a kana name, a payment service ID, a bank account, an insurance number, an email
address) and offer it for the next, where a click on the suggestion links the next resident to
the last one's account, and the next resident reads the last one's name in the list. Every
field a procedure's form shows, and every form a case, a report or a resident's own page sends,
asks the browser to remember nothing (autocomplete="off", on the field or on its form)."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.desk.test_pages import _origin, staff_client, start  # noqa: F401  (fixtures)

TYPED = {"text", "number", "email", "password", "tel", "search", "date", ""}


class _Fields(HTMLParser):
    """The typed fields of the page's POST forms that the browser may remember."""

    def __init__(self) -> None:
        super().__init__()
        self.form_off: bool | None = None  # None: outside a POST form
        self.remembered: list[str] = []
        self.fields = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.form_off = a.get("autocomplete") == "off"
        elif self.form_off is not None and (
            (tag == "input" and a.get("type", "").lower() in TYPED) or tag == "textarea"
        ):
            self.fields += 1
            if not self.form_off and a.get("autocomplete") != "off":
                self.remembered.append(a.get("name", "?"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form_off = None


def remembered(html: str) -> tuple[list[str], int]:
    parser = _Fields()
    parser.feed(html)
    return parser.remembered, parser.fields


@pytest.mark.usefixtures("providers", "systems")
@pytest.mark.parametrize(
    "kind", ["point_application", "public_fund_account", "health_insurance_use", "test_link"]
)
def test_a_procedures_form_asks_the_browser_to_remember_nothing(trusted, staff_client, kind):  # noqa: F811
    start(staff_client, trusted.card("C"))
    page = staff_client.get(f"/desk/visit/procedures/{kind}/")
    assert page.status_code == 200
    fields, seen = remembered(page.content.decode())
    assert seen >= 1, kind
    assert fields == [], kind


SRC = Path(__file__).resolve().parents[2] / "src" / "madoguchi"


@pytest.mark.parametrize(
    "template",
    [
        "desk/templates/desk/procedure.html",
        "cases/templates/cases/new.html",
        "cases/templates/cases/detail.html",
        "cases/templates/cases/report.html",
        "residents/templates/residents/not_me.html",
        "residents/templates/residents/_desk_email.html",
        "incidents/templates/incidents/complaint.html",
    ],
)
def test_every_post_form_with_typed_fields_asks_to_remember_nothing(template):
    """These forms render their fields from Django forms (`{{ f }}`): the form itself carries
    the attribute, whatever fields it is given."""
    text = (SRC / template).read_text()
    forms = re.findall(r'<form method="post"[^>]*>', text)
    assert forms, template
    assert all('autocomplete="off"' in f for f in forms), (template, forms)
