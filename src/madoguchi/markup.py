"""How a value is set on a page, as template filters (`{% load markup %}`).

`unbroken`: a value kept on one line, such as a case's reference (CASE-00001), which broke after
its hyphen at the end of a sentence's line or in a narrow column. The value is escaped as any
value is; the result may be given to `blocktranslate ... with`, which keeps it as it is.

`words`: a value of several words, such as a desk's place (本庁 1階 支援窓口 1番), which breaks only
between its words: a phone's line broke it 「支」 / 「援窓口」. A word wider than the line still breaks.

`words_between`: a one-line description of several parts (what was done, where and when:
「公金受取口座の登録（… ＊＊＊＊6789、令和8年12月5日 09:38、本庁 1階 支援窓口 1番）」), each part between
its spaces, commas and brackets set as `words` does, so the line breaks between them.

`masked_unbroken`: a line of text (a signed line, a letter's paragraph) with each masked number
in it (＊＊＊＊0001) kept on one line: the confirmation page broke it 「＊」 / 「＊＊＊0001」, and
WeasyPrint the letters' and reports' paragraphs. Escaped as any value is; a value already safe
(`blocktranslate ... asvar`) is not escaped again.

`phone`: a phone number (the call centre's 0120-95-0178), which breaks only after one of its
hyphens, never inside a group of digits: kept on one line it ran past a phone's screen at 200%
zoom, and left to the browser it breaks nowhere (no break between a hyphen and a digit).

`signed_line`: a line a resident signs (the confirmation page, the receipt page, the resident's
and the officials' pages), its masked numbers and the words of its names (鈴木, 一郎, ｽｽﾞｷ) each
kept on one line, as the PIN pad sets it.
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeData, SafeString, mark_safe

from madoguchi.agent import pinpad

register = template.Library()


@register.filter
def unbroken(value: Any) -> SafeString:
    return format_html('<span class="nowrap">{}</span>', value)


@register.filter
def words(value: Any) -> SafeString:
    return format_html('<span class="words">{}</span>', value)


# What separates the parts of a description: spaces, commas and brackets, Japanese or not.
_BETWEEN = re.compile(r"([\s、,（）()]+)")


@register.filter
def words_between(value: Any) -> SafeString:
    parts = _BETWEEN.split(str(value))
    return mark_safe(  # noqa: S308 - each part escaped
        "".join(
            conditional_escape(part)
            if i % 2
            else (format_html('<span class="words">{}</span>', part) if part else "")
            for i, part in enumerate(parts)
        )
    )


# A hyphen, ASCII or full-width (or a dash typed for one): a place to break after.
_HYPHENS = re.compile(r"(?<=[-‐‑–—－])")


@register.filter
def phone(value: Any) -> SafeString:
    parts = [part for part in _HYPHENS.split(str(value)) if part]
    return format_html(
        '<span class="phone">{}</span>',
        mark_safe(  # noqa: S308 - each part escaped
            "<wbr>".join(format_html('<span class="nowrap">{}</span>', part) for part in parts)
        ),
    )


@register.filter
def masked_unbroken(line: Any) -> SafeString:
    # As the agent's PIN pad sets the same lines: escaped, then only the spans added.
    if isinstance(line, SafeData):
        return mark_safe(pinpad.masked_kept_whole(str(line)))  # noqa: S308
    return mark_safe(pinpad.masked_unbroken(str(line)))  # noqa: S308


@register.filter
def signed_line(line: Any) -> SafeString:
    # A signed line as the agent's PIN pad sets it: its masked numbers and its names' words
    # kept whole, escaped first.
    return mark_safe(pinpad.signed_line(str(line)))  # noqa: S308
