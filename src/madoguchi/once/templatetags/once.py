"""`{% once_key %}`: a new one-time key for a form written in a template rather than a Django
form (`once.forms.once_field` does the same for those): `<input type="hidden" name="once"
value="{% once_key %}">`."""

from django import template

from madoguchi.once.services import new_key

register = template.Library()


@register.simple_tag
def once_key() -> str:
    return new_key()
