"""A desk's place keeps each of its words on one line on the resident's own page. A browser may
break a line between any two Japanese characters: at a phone's width the line naming a signed
completion read 「本庁 1階 支」 / 「援窓口 1番」 (thirty-third session's walk), and its time could break inside
the day (「令和8年12」 / 「月5日」). Both now break only between their words, and a word wider than the
line still breaks rather than run off it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from madoguchi.accounts.constants import Role
from madoguchi.terminals import services as terminal_services
from tests import factories
from tests.residents.test_resident_page import ME_ORIGIN, ORIGIN, desk_completion, sign_in

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "src" / "madoguchi"
STYLES = (STATIC / "core/static/madoguchi/desk.css", STATIC / "residents/static/residents/me.css")
PLACE = "本庁 1階 支援窓口 1番"
WORDS = ("本庁", "1階", "支援窓口", "1番")

SELECTOR = "[data-testid=me-completion] p, dd"

# The words values (a place, a time) whose text reaches past the right edge of their line's box.
OVER = """selector => [...document.querySelectorAll(selector)].flatMap(block =>
  [...block.querySelectorAll('.words')].filter(e => {
    const right = block.getBoundingClientRect().right;
    return [...e.getClientRects()].some(r => r.right > right + 1);
  }).map(e => e.textContent))"""

# Each word's rectangles in the given elements: a word laid out on two lines has two tops (one
# wider than its element's line is not counted: it must break).
BROKEN = """([selector, words]) => {
  const broken = [];
  let lines = 0;
  for (const e of document.querySelectorAll(selector)) {
    const range = document.createRange();
    range.selectNodeContents(e);
    lines = Math.max(lines, new Set([...range.getClientRects()].filter(r => r.width > 0)
      .map(r => Math.round(r.top))).size);
    const block = getComputedStyle(e).display === 'inline' ? e.parentElement : e;
    const line = block.clientWidth;
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of words) {
        for (let at = node.data.indexOf(word); at >= 0; at = node.data.indexOf(word, at + 1)) {
          range.setStart(node, at);
          range.setEnd(node, at + word.length);
          const rects = [...range.getClientRects()].filter(r => r.width > 0);
          const tops = new Set(rects.map(r => Math.round(r.top)));
          // A word wider than its line breaks where it must.
          const wide = rects.reduce((sum, r) => sum + r.width, 0) > line;
          if (tops.size > 1 && !wide) broken.push(e.textContent.trim().slice(0, 40) + ' / ' + word);
        }
      }
    }
  }
  return {broken, lines};
}"""


@pytest.fixture
def signed_in(trusted, settings):
    """A resident signed in on their own page after a completion at a desk whose place is
    several words: the client and the completion."""
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.RESIDENT_ORIGIN = ME_ORIGIN
    settings.SECURE_SSL_REDIRECT = False
    settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS = 120
    terminal = terminal_services.terminal_register(
        name="desk-07", location=PLACE, contractor=factories.contractor(), actor=None
    )
    desk = terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())
    card = trusted.card("A")
    completion = desk_completion(desk, card)
    client = Client()
    assert sign_in(client, card).status_code == 200
    return client, completion


def _served(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200
    return page.content.decode()


@pytest.fixture
def records_page(signed_in) -> str:
    """The resident's records page, as served."""
    html = _served(signed_in[0], "/me/records/")
    assert PLACE in html
    return html


def _broken_at_widths(page, selector: str, words: list[str]) -> list[str]:
    """The words broken inside at widths from 300 to 440 px, so that each meets a line's end;
    asserts the text did wrap at some width."""
    broken, wrapped = [], 0
    for width in range(300, 441, 4):
        page.set_viewport_size({"width": width, "height": 900})
        found = page.evaluate(BROKEN, [selector, words])
        broken += [f"{width}: {b}" for b in found["broken"]]
        wrapped = max(wrapped, found["lines"])
    assert wrapped > 1  # the lines did wrap at these widths
    return broken


def _open(browser, html: str):
    """The page as served, its style sheets in it and its scripts out (no card agent here)."""
    html = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    html = re.sub(r'<link rel="stylesheet"[^>]*>', "", html)
    styles = "".join(f"<style>{style.read_text()}</style>" for style in STYLES)
    context = browser.new_context()
    page = context.new_page()
    page.set_content(html.replace("</head>", styles + "</head>", 1))
    return context, page


def test_the_desks_place_breaks_only_between_its_words(browser, records_page):
    context, page = _open(browser, records_page)
    try:
        # The place's words, and the day of the completion's time (令和8年12月5日 / 09:30).
        words = [*WORDS, *re.findall(r"令和\d+年\d+月\d+日", records_page)[:1]]
        assert len(words) == len(WORDS) + 1
        assert _broken_at_widths(page, SELECTOR, words) == []
        # A word no line can hold still breaks: it does not run past its box.
        page.set_viewport_size({"width": 120, "height": 900})
        assert page.evaluate(OVER, SELECTOR) == []
    finally:
        context.close()


def test_the_reported_records_description_breaks_between_its_parts(browser, signed_in):
    """ "This was not me": the record reported, named by what, when and where, broke
    「令和8年12」 / 「月5日」 and 「支援」 / 「窓口」 at a phone's width. Its parts (between its spaces,
    commas and brackets) now stay whole."""
    client, completion = signed_in
    html = _served(client, f"/me/not-me/completion/{completion.pk}/")
    item = re.search(r'data-testid="not-me-item">(.*?)</strong>', html, re.S).group(1)
    assert "本庁" in item
    words = [w for w in re.split(r"[\s、,（）()]+", re.sub(r"<[^>]+>", "", item)) if len(w) > 1]
    assert {"支援窓口", "カードで署名された手続"} <= set(words), words
    context, page = _open(browser, html)
    try:
        assert _broken_at_widths(page, "[data-testid=not-me-item]", words) == []
    finally:
        context.close()


def test_the_officials_visit_page_keeps_the_places_words_whole(browser, signed_in):
    """The officials' visit page names its terminal with the place (desk-07 (本庁 1階 支援窓口
    1番)): on a phone it broke inside 支援窓口 too."""
    _, completion = signed_in
    official = Client()
    official.force_login(factories.staff(Role.CITY_OFFICIAL))
    html = _served(official, f"/officials/visits/{completion.visit.public_id}/?reason=incident")
    context, page = _open(browser, html)
    try:
        assert _broken_at_widths(page, "dd", [*WORDS, "desk-07"]) == []
    finally:
        context.close()
