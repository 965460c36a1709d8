"""The dashboard's SVG charts: every legend entry ends inside the chart."""

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from madoguchi.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 11, 18) + timedelta(days=i) for i in range(14)]
SENTENCE = (
    "署名したカードが、受付を開始したカードと異なります。確定は行われず、受付を終了しました。"
)


def _legend(svg: str) -> list[tuple[str, str | None]]:
    """(the text drawn, its tooltip) of each legend entry."""
    root = ET.fromstring(svg)
    out = []
    for text in root.iter(f"{SVG}text"):
        if float(text.get("x", 0)) < charts.W - charts.RIGHT:
            continue  # an axis label
        tip = text.find(f"{SVG}title")
        drawn = (tip.tail if tip is not None else text.text) or ""
        out.append((drawn, tip.text if tip is not None else None))
    return out


def test_a_sentence_in_the_legend_is_cut_to_fit_and_whole_in_its_tooltip():
    series = {SENTENCE: [0] * 13 + [1], "desk-01": [1] * 14}
    for chart in (charts.bar_chart, charts.line_chart):
        (drawn, tip), (short, no_tip) = _legend(chart("拒否件数", DAYS, series))
        assert drawn.endswith("…")
        assert SENTENCE.startswith(drawn[:-1])
        assert charts._text_width(drawn) <= charts.LEGEND_ROOM
        assert tip == SENTENCE
        # A name that fits is drawn whole, without a tooltip.
        assert (short, no_tip) == ("desk-01", None)


def test_the_width_counts_japanese_characters_as_wide():
    assert charts._text_width("あい") == 2 * charts.LEGEND_FONT
    assert charts._text_width("ab") < charts._text_width("あい")
