"""How a value is set on a page, as template filters (`{% load markup %}`).

`unbroken`: a value kept on one line, such as a case's reference (CASE-00001), which broke after
its hyphen at the end of a sentence's line or in a narrow column. The value is escaped as any
value is; the result may be given to `blocktranslate ... with`, which keeps it as it is.

`masked_unbroken`: a line of text (a signed line) with each masked number in it (＊＊＊＊0001)
kept on one line: the confirmation page broke it 「＊」 / 「＊＊＊0001」. Escaped as any value is.
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def unbroken(value: Any) -> SafeString:
    return format_html('<span class="nowrap">{}</span>', value)


MASKED = re.compile(r"＊{4}[0-9A-Za-z]{0,4}")


@register.filter
def masked_unbroken(line: Any) -> SafeString:
    return mark_safe(  # noqa: S308 - escaped first; only the span is added
        MASKED.sub(lambda m: f'<span class="nowrap">{m.group(0)}</span>', str(escape(line)))
    )
