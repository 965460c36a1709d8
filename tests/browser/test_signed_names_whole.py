"""The lines a resident signs keep each word of a name on one line. A browser may break a line
between any two Japanese characters: the PIN pad at a phone's width read 「鈴木 一」 / 「郎」 and
「ｽｽﾞｷ ｲﾁ」 / 「ﾛｳ」 (thirty-second session). The words of the names are set as the masked
numbers are, each kept whole; a longer phrase still breaks where it must."""

from __future__ import annotations

import pytest

from madoguchi.agent import pinpad
from madoguchi.agent.requests import CardRequest, Kind

pytestmark = pytest.mark.browser

LINES = (
    "ご本人のお名前: 鈴木 一郎（フリガナ: スズキ イチロウ）",
    "口座名義: ｽｽﾞｷ ｲﾁﾛｳ",
    "被保険者: 長谷川 健太郎",
)
WORDS = ("鈴木", "一郎", "スズキ", "イチロウ", "ｽｽﾞｷ", "ｲﾁﾛｳ", "長谷川", "健太郎")
SHIFTS = range(16)  # characters before each line, so that each word meets a line's end

# Each word's rectangles in its line: a word laid out on two lines has two distinct tops.
BROKEN_WORDS = """(words) => {
  const broken = [];
  let lines = 0;
  for (const li of document.querySelectorAll('#signed-lines li')) {
    const range = document.createRange();
    range.selectNodeContents(li);
    lines = Math.max(lines, new Set([...range.getClientRects()].map(r => Math.round(r.top))).size);
    const walker = document.createTreeWalker(li, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of words) {
        const at = node.data.indexOf(word);
        if (at < 0) continue;
        range.setStart(node, at);
        range.setEnd(node, at + word.length);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (tops.size > 1) broken.push(li.textContent + ' / ' + word);
      }
    }
  }
  return {broken, lines};
}"""


def _pinpad(display: tuple[str, ...]) -> str:
    request = CardRequest(
        id="r1", kind=Kind.SIGN_COMPLETION, created=0.0, expires=1e12, display=display
    )
    return pinpad.render(request, "ja", "n0nce")


@pytest.mark.parametrize("width", [390, 560])
def test_the_pin_pad_keeps_each_word_of_a_name_on_one_line(browser, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        broken, wrapped = [], 0
        for shift in SHIFTS:
            page.set_content(_pinpad(tuple("あ" * shift + line for line in LINES)))
            found = page.evaluate(BROKEN_WORDS, list(WORDS))
            broken += found["broken"]
            wrapped = max(wrapped, found["lines"])
        assert wrapped > 1  # the lines did wrap: each word met a line's end at some shift
        assert broken == []
    finally:
        page.close()


def test_a_signed_line_keeps_names_and_masked_numbers_whole_and_escapes_the_rest():
    assert pinpad.signed_line("口座名義: ｽｽﾞｷ ｲﾁﾛｳ") == (
        '口座名義: <span class="nowrap">ｽｽﾞｷ</span> <span class="nowrap">ｲﾁﾛｳ</span>'
    )
    assert pinpad.signed_line("被保険者番号: ＊＊＊＊0045") == (
        '被保険者番号: <span class="nowrap">＊＊＊＊0045</span>'
    )
    # A phrase longer than a name's word may break; markup in a line stays text.
    long = "名義照合: 類似 ・ご本人が口座名義を確認済み"
    assert pinpad.signed_line(long).endswith(" ・ご本人が口座名義を確認済み")
    assert pinpad.signed_line("<b>: 山田 太郎") == (
        '&lt;b&gt;: <span class="nowrap">山田</span> <span class="nowrap">太郎</span>'
    )


def test_the_signed_lines_are_marked_japanese_on_an_english_pin_pad():
    """The lines a resident signs are Japanese whatever the pad's language; on the English pad
    they sat in `<html lang="en">` unmarked, so a screen reader read them in an English voice."""
    request = CardRequest(
        id="r1", kind=Kind.SIGN_COMPLETION, created=0.0, expires=1e12, display=LINES
    )
    for lang in ("en", "ja"):
        page = pinpad.render(request, lang, "n0nce")
        assert f'<html lang="{lang}">' in page
        assert '<ul id="signed-lines" lang="ja" ' in page
