"""How a value is set on a page, as template filters (`{% load markup %}`).

`unbroken`: a value kept on one line, such as a case's reference (CASE-00001), which broke after
its hyphen at the end of a sentence's line or in a narrow column. The value is escaped as any
value is; the result may be given to `blocktranslate ... with`, which keeps it as it is.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def unbroken(value: Any) -> SafeString:
    return format_html('<span class="nowrap">{}</span>', value)
