"""Django's `i18n` template library, with `{% translate "literal" %}` remembered.

Templates `{% load i18n %}` as usual; settings.TEMPLATES maps the name `i18n` to this library,
which is Django's own (every tag and filter) except that a `translate` of a constant string (no
filter, no variable, no message context) keeps what it rendered for each translation catalogue
and escaping, instead of translating, escaping and marking it again on every render (issue
15, ninth round: the desk's confirmation page has 52 of them, about 5 µs each). The catalogue
is the active translation object itself, compared by identity, so a language switch, an
override or a reloaded catalogue (tests that change LANGUAGES or LOCALE_PATHS) never sees an
old text. What is rendered is what Django's node renders: it renders it the first time.
"""

from __future__ import annotations

from typing import Any

from django.template import Context, Library
from django.template.base import Parser, Token
from django.templatetags import i18n as django_i18n
from django.utils.translation import trans_real

from madoguchi.language import here_without_lang

register = Library()
register.tags.update(django_i18n.register.tags)
register.filters.update(django_i18n.register.filters)


class RememberedTranslateNode(django_i18n.TranslateNode):
    """A `translate` of a constant string rendered once per catalogue and escaping."""

    def __init__(self, node: django_i18n.TranslateNode) -> None:
        self.__dict__.update(node.__dict__)
        # {autoescape: (catalogue, text)}: one language at a time is the common case.
        self._remembered: dict[bool, tuple[Any, str]] = {}

    def render(self, context: Context) -> str:
        catalogue = trans_real.catalog()
        found = self._remembered.get(context.autoescape)
        if found is not None and found[0] is catalogue:
            return found[1]
        text = super().render(context)
        self._remembered[context.autoescape] = (catalogue, text)
        return text


def _constant(node: django_i18n.TranslateNode) -> bool:
    """A literal without filters, rendered into the page (not `as` a variable)."""
    expression = node.filter_expression
    return (
        not node.asvar
        and node.message_context is None
        and not expression.filters
        and getattr(expression.var, "literal", None) is not None
        and isinstance(expression.var.literal, str)
    )


@register.tag("translate")
@register.tag("trans")
def do_translate(parser: Parser, token: Token) -> django_i18n.TranslateNode:
    node = django_i18n.do_translate(parser, token)
    return RememberedTranslateNode(node) if _constant(node) else node


@register.filter
def without_lang(request: Any) -> str:
    """``{{ request|without_lang }}``: ``language.here_without_lang``."""
    return here_without_lang(request)
