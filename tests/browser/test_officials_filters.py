"""The officials' filter rows: the Show button stands in line with the field beside it."""

from __future__ import annotations

import pytest

from .test_case_page import official_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("path", "control"),
    [("/officials/", "#date"), ("/officials/incidents/?reason=daily_check", "#severity")],
)
@pytest.mark.parametrize("width", [1280, 1024])
def test_the_show_button_is_in_line_with_its_field(official_page, path, control, width):  # noqa: F811
    """The button stood a field's margin (and, beside the date, its hint) below the field."""
    page, _official, url = official_page
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(url + path)
    field = page.locator(f"form.filters {control}").bounding_box()
    button = page.locator("form.filters button[type=submit]").bounding_box()
    assert abs(button["y"] - field["y"]) <= 1, (field, button)
    assert abs(button["height"] - field["height"]) <= 1, (field, button)
    assert button["x"] >= field["x"] + field["width"], (field, button)
