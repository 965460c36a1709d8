"""``{% language_switch %}``: the switch as a link, in a template that has the request (the
Django admin's header, src/madoguchi/templates/admin/base_site.html)."""

from __future__ import annotations

from typing import Any

from django import template

from madoguchi.language import switch

register = template.Library()


@register.inclusion_tag("core/language_switch.html", takes_context=True)
def language_switch(context: Any) -> dict[str, Any]:
    request = context.get("request")
    return {"switch": switch(request) if request is not None else None}
