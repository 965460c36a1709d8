"""`{% load i18n %}` is Django's library with constant `translate`s remembered
(madoguchi/template_i18n.py): the same text as Django's own tag in every language, escaping and
catalogue, translated once per catalogue (issue 15, ninth round)."""

import django.template.base
from django.template import engines
from django.template.library import import_library
from django.utils import translation

SOURCE = (
    '{% load i18n %}<p>{% translate "Sign out" %}|{% translate "<b>&</b>" %}|'
    '{% translate name %}|{% translate "Sign out" as s %}{{ s }}|{% trans "Cancel"|upper %}|'
    '{% translate "May" context "month name" %}|{% translate "100%% sure" %}</p>'
)


def _render(text, **context):
    return engines["django"].from_string(text).render(context)


def _with_django_library(text):
    """The same template parsed with Django's own i18n library (the reference)."""
    engine = engines["django"].engine
    original = engine.template_libraries["i18n"]
    engine.template_libraries["i18n"] = import_library("django.templatetags.i18n")
    try:
        return engine.from_string(text)
    finally:
        engine.template_libraries["i18n"] = original


def test_the_library_is_djangos_with_translate_remembered():
    from django.templatetags import i18n as django_i18n

    from madoguchi import template_i18n

    engine = engines["django"].engine
    assert engine.template_libraries["i18n"] is template_i18n.register
    assert set(template_i18n.register.tags) == set(django_i18n.register.tags)
    # And one of its own: the page's address without ?lang= for the language switch.
    assert set(template_i18n.register.filters) == set(django_i18n.register.filters) | {
        "without_lang"
    }


def test_every_language_and_escaping_renders_as_djangos_own_tag():
    reference = _with_django_library(SOURCE)
    ours = engines["django"].engine.from_string(SOURCE)
    from django.template import Context

    for language in ("ja", "en", "ja", "en"):  # back and forth: nothing of one kept for the other
        with translation.override(language):
            for autoescape in (True, False, True):
                for name in ("Close", "<i>x</i>"):
                    expected = reference.render(Context({"name": name}, autoescape=autoescape))
                    got = ours.render(Context({"name": name}, autoescape=autoescape))
                    assert got == expected
    with translation.override("ja"):
        assert "<p>サインアウト|" in _render(SOURCE, name="")


def test_a_constant_is_translated_once_per_catalogue(monkeypatch, settings):
    calls = []
    lazy = django.template.base.gettext_lazy

    def counting(message):
        calls.append(message)
        return lazy(message)

    monkeypatch.setattr(django.template.base, "gettext_lazy", counting)
    template = engines["django"].from_string('{% load i18n %}{% translate "Sign out" %}')
    with translation.override("ja"):
        first = template.render({})
        assert template.render({}) == first
    assert calls == ["Sign out"]
    with translation.override("en"):
        assert template.render({}) == "Sign out"
    assert calls == ["Sign out", "Sign out"]
    # A catalogue loaded again (as after a change of LANGUAGES or LOCALE_PATHS): translated again.
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS]
    with translation.override("ja"):
        assert template.render({}) == first
    assert calls == ["Sign out", "Sign out", "Sign out"]


def test_no_other_template_library_name_is_claimed_twice():
    """The settings silence Django's check for a library name used by two modules, because
    `i18n` is deliberately ours; run here, it finds that one and no other."""
    warnings = engines["django"]._check_for_template_tags_with_the_same_name()
    assert [w.msg for w in warnings] == [
        "'i18n' is used for multiple template tag modules: 'django.templatetags.i18n', "
        "'madoguchi.template_i18n'"
    ]
