"""Server-side SVG charts (no JavaScript; presentation attributes only, no inline styles, so the
page stays within the CSP). Each value's title dates its day as the page does (令和8年11月30日 on
a Japanese page, 2026-11-30 on an English one)."""

from __future__ import annotations

from datetime import date
from html import escape

from django.utils.safestring import SafeString, mark_safe

from madoguchi.dates import local_day

PALETTE = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bc4c00", "#0969da", "#57606a"]
W, H = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
# The axes' numbers and days, in the SVG's units: the chart is drawn 720 wide and shown as wide as
# its column (520 px at the narrowest, two charts a row), so 11 read about 8 px on the page; 15
# reads at least 10.8 px, and the days' labels (one per day of 14, "11/30") still fit apart.
AXIS_FONT = 15


def _frame(title: str, days: list[date], top: int) -> list[str]:
    plot_h = H - TOP - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" '
        f'class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for k in range(5):
        v = top * k / 4
        y = TOP + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" font-size="{AXIS_FONT}" fill="#57606a">{v:g}</text>'
        )
    step = (W - LEFT - RIGHT) / max(len(days), 1)
    every = max(1, len(days) // 10)
    for i, d in enumerate(days):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            parts.append(
                f'<text x="{x:.1f}" y="{H - BOTTOM + 20}" text-anchor="middle" '
                f'font-size="{AXIS_FONT}" '
                f'fill="#57606a">{d.month}/{d.day}</text>'
            )
    return parts


def _legend(names: list[str]) -> list[str]:
    """The chart's key, under it in the page's own text: one swatch and the whole name per
    series, wrapping as the window allows. Drawn inside the SVG beside the plot, it shrank with
    the chart (to about 8 px at 1366 px, two charts a row) and names longer than its margin were
    cut with an ellipsis, so two desks named alike (本庁舎1階 総合窓口 第1番, 第2番) read the same."""
    items = "".join(
        f'<li><span class="swatch swatch-{i % len(PALETTE)}" aria-hidden="true"></span>'
        f"{escape(name)}</li>"
        for i, name in enumerate(names)
    )
    return [f'<ul class="chart-legend">{items}</ul>'] if names else []


def _top(values: list[int]) -> int:
    m = max(values or [0])
    if m <= 4:
        return 4
    return ((m + 3) // 4) * 4


def bar_chart(
    title: str, days: list[date], series: dict[str, list[int]], *, stacked: bool = False
) -> SafeString:
    """Bars per day; one colour per series (grouped side by side, or stacked)."""
    names = list(series)
    if stacked:
        totals = [sum(series[n][i] for n in names) for i in range(len(days))]
    else:
        totals = [v for n in names for v in series[n]]
    top = _top(totals)
    plot_h = H - TOP - BOTTOM
    parts = _frame(title, days, top)
    step = (W - LEFT - RIGHT) / max(len(days), 1)
    for i in range(len(days)):
        base: float = TOP + plot_h
        for j, name in enumerate(names):
            v = series[name][i]
            if not v:
                continue
            h: float = plot_h * v / top
            colour = PALETTE[j % len(PALETTE)]
            if stacked:
                x, w = LEFT + step * i + step * 0.15, step * 0.7
                base -= h
                y = base
            else:
                w = step * 0.8 / max(len(names), 1)
                x, y = LEFT + step * i + step * 0.1 + w * j, TOP + plot_h - h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(name)} {escape(local_day(days[i]))}: {v}</title></rect>"
            )
    parts.append("</svg>")
    parts += _legend(names)
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def line_chart(title: str, days: list[date], series: dict[str, list[int]]) -> SafeString:
    names = list(series)
    top = _top([v for n in names for v in series[n]])
    plot_h = H - TOP - BOTTOM
    parts = _frame(title, days, top)
    step = (W - LEFT - RIGHT) / max(len(days), 1)
    for j, name in enumerate(names):
        colour = PALETTE[j % len(PALETTE)]
        pts = [
            (LEFT + step * (i + 0.5), TOP + plot_h - plot_h * v / top)
            for i, v in enumerate(series[name])
        ]
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            + '"/>'
        )
        for (x, y), v, d in zip(pts, series[name], days, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {escape(local_day(d))}: {v}</title></circle>"
            )
    parts.append("</svg>")
    parts += _legend(names)
    return mark_safe("".join(parts))  # noqa: S308
