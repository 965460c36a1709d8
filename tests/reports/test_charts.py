"""The dashboard's SVG charts: every series named whole in the chart's key, under the chart."""

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

from madoguchi.reports import charts

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 11, 18) + timedelta(days=i) for i in range(14)]
SENTENCE = (
    "署名したカードが、受付を開始したカードと異なります。確定は行われず、受付を終了しました。"
)


def test_the_key_names_every_series_whole_under_the_chart():
    """The key was drawn inside the SVG's right margin: it shrank with the chart, and a name
    longer than the margin was cut with an ellipsis, so two desks named alike read the same.
    Now it is a list under the chart, each name whole beside its series' colour."""
    series = {
        SENTENCE: [0] * 13 + [1],
        "本庁舎1階 総合窓口 第1番": [1] * 14,
        "本庁舎1階 総合窓口 第2番": [2] * 14,
    }
    for chart in (charts.bar_chart, charts.line_chart):
        drawn = str(chart("拒否件数", DAYS, series))
        svg, key = drawn.split("</svg>")
        root = ET.fromstring(svg + "</svg>")
        texts = [t.text or "" for t in root.iter(f"{SVG}text")]
        assert not any("…" in t or "第1番" in t for t in texts)  # axis labels only
        items = re.findall(r'<li><span class="swatch swatch-(\d)"[^>]*></span>(.*?)</li>', key)
        assert items == [(str(i), name) for i, name in enumerate(series)]


def test_the_swatches_are_the_charts_colours_in_order():
    css = (Path(charts.__file__).parents[1] / "incidents/static/madoguchi/oversight.css").read_text(
        encoding="utf-8"
    )
    found = dict(re.findall(r"\.swatch-(\d) \{ background: (#[0-9a-f]{6}); \}", css))
    assert [found[str(i)] for i in range(len(charts.PALETTE))] == charts.PALETTE


def test_a_chart_without_series_has_no_key():
    assert "chart-legend" not in str(charts.bar_chart("受付件数", DAYS, {}))


def test_the_axes_labels_read_at_least_10_px_in_the_narrowest_column():
    """The axes' numbers and days were drawn at 11 in a 720-wide drawing shown 520 px wide (the
    dashboard's narrowest column, two charts a row): about 8 px on the page, too small to read at
    a desk. Every label now reads at least 10 px there."""
    svg = ET.fromstring(charts.bar_chart("t", DAYS, {"本庁舎": [3] * 14}).split("<ul")[0])
    labels = svg.findall(f"{SVG}text")
    assert len(labels) == 5 + 14  # the five values and the fourteen days
    for label in labels:
        assert float(label.get("font-size")) * 520 / charts.W >= 10, label.text
