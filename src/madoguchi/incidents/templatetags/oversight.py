"""`{% may_open "app:name" as ok %}`: whether the reader may open that page."""

from typing import Any

from django import template

from madoguchi.incidents.access import may_open as _may_open

register = template.Library()


@register.simple_tag(takes_context=True)
def may_open(context: dict[str, Any], url_name: str) -> bool:
    request = context.get("request")
    return request is not None and _may_open(request.user, url_name)
