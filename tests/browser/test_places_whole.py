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

# Each word's rectangles in the given elements: a word laid out on two lines has two tops.
BROKEN = """([selector, words]) => {
  const broken = [];
  let lines = 0;
  for (const e of document.querySelectorAll(selector)) {
    const range = document.createRange();
    range.selectNodeContents(e);
    lines = Math.max(lines, new Set([...range.getClientRects()].filter(r => r.width > 0)
      .map(r => Math.round(r.top))).size);
    const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of words) {
        for (let at = node.data.indexOf(word); at >= 0; at = node.data.indexOf(word, at + 1)) {
          range.setStart(node, at);
          range.setEnd(node, at + word.length);
          const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
            .map(r => Math.round(r.top)));
          if (tops.size > 1) broken.push(e.textContent.trim().slice(0, 40) + ' / ' + word);
        }
      }
    }
  }
  return {broken, lines};
}"""


@pytest.fixture
def records_page(trusted, settings) -> str:
    """The resident's records page, as served, after a completion at a desk whose place is
    several words."""
    settings.MADOGUCHI_ORIGIN = ORIGIN
    settings.RESIDENT_ORIGIN = ME_ORIGIN
    settings.SECURE_SSL_REDIRECT = False
    settings.RESIDENT_PRESENCE_TIMEOUT_SECONDS = 120
    terminal = terminal_services.terminal_register(
        name="desk-07", location=PLACE, contractor=factories.contractor(), actor=None
    )
    desk = terminal_services.desk_session_open(terminal=terminal, staff=factories.staff())
    card = trusted.card("A")
    desk_completion(desk, card)
    client = Client()
    assert sign_in(client, card).status_code == 200
    page = client.get("/me/records/")
    assert page.status_code == 200
    html = page.content.decode()
    assert PLACE in html
    return html


def test_the_desks_place_breaks_only_between_its_words(browser, records_page):
    # The page as served, its style sheets in it and its scripts out (no card agent here).
    html = re.sub(r"<script\b.*?</script>", "", records_page, flags=re.S)
    html = re.sub(r'<link rel="stylesheet"[^>]*>', "", html)
    styles = "".join(f"<style>{style.read_text()}</style>" for style in STYLES)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content(html.replace("</head>", styles + "</head>", 1))
        # The place's words, and the day of the completion's time (令和8年12月5日 / 09:30).
        words = [*WORDS, *re.findall(r"令和\d+年\d+月\d+日", records_page)[:1]]
        assert len(words) == len(WORDS) + 1
        broken, wrapped = [], 0
        for width in range(300, 441, 4):  # so that each word meets a line's end at some width
            page.set_viewport_size({"width": width, "height": 900})
            found = page.evaluate(BROKEN, [SELECTOR, words])
            broken += found["broken"]
            wrapped = max(wrapped, found["lines"])
        assert wrapped > 1  # the lines did wrap at these widths
        assert broken == []
        # A word no line can hold still breaks: it does not run past its box.
        page.set_viewport_size({"width": 120, "height": 900})
        assert page.evaluate(OVER, SELECTOR) == []
    finally:
        context.close()
