"""Which of the two page languages a language tag means: "ja" or "en".

The site speaks Japanese (the default) and English (settings.LANGUAGES). Code on the Django side
that chooses between a Japanese and an English text asks `page_language()`: the active language
by default, or a tag it was given (a parameter, a command's `--lang`). Any English tag is English
whatever its region or case ("en", "EN", "en-us", "en_GB"); anything else, or nothing, is
Japanese. The pure libraries (card, namecheck, outside, agent, scan...) import no Django and
keep taking the language as an argument; their callers pass them what this returns.

The lowest layer of the domain apps (docs/adr/1002): it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest
from django.utils import translation

PageLanguage = Literal["ja", "en"]

# Django's forms end each label with gettext(":"), the label suffix, unless the label already
# ends with one of gettext(":?.!"). Django's own Japanese catalogue keeps the Latin colon after
# Japanese words (「日付:」, 「概要:」 on the case page); the project's says 「：」, and adds it after no
# Japanese mark either (「…ですか？」). Marked here so that `make messages` keeps them.
translation.gettext_noop(":")
translation.gettext_noop(":?.!")


def page_language(lang: str | None = None) -> PageLanguage:
    """ "en" when `lang` (default: the active language) is English in any region or case,
    else "ja" (Japanese, the site's default, also for an empty or unknown tag)."""
    if lang is None:
        lang = translation.get_language()
    primary = (lang or "").strip().lower().replace("_", "-").split("-", 1)[0]
    return "en" if primary == "en" else "ja"


def english(lang: str | None = None) -> bool:
    """Whether `lang` (default: the active language) is English: `page_language(lang) == "en"`."""
    return page_language(lang) == "en"


# The other language, as the language switch names it in that language.
OTHER: dict[PageLanguage, tuple[PageLanguage, str]] = {
    "ja": ("en", "English"),
    "en": ("ja", "日本語"),
}


@dataclass(frozen=True)
class Switch:
    """The header's language switch as a link (``?lang=``, which the core's
    LanguageFromQueryMiddleware reads and keeps in the language cookie): for the pages that
    cannot post the switch's form, those rendered without the request (the refusal pages: no
    context processor, no session, no database), the CSRF refusal and the Django admin."""

    code: PageLanguage
    label: str
    href: str


def switch(request: HttpRequest) -> Switch:
    """The link to this page and query in the other language (``lang`` replaced). A query that
    cannot be read (too many fields, a 400's cause) is left out: the link is the page alone."""
    code, label = OTHER[page_language()]
    try:
        query = request.GET.copy()
    except SuspiciousOperation:  # TooManyFieldsSent: the query that made this request fail
        return Switch(code, label, f"{request.path}?lang={code}")
    query["lang"] = code
    return Switch(code, label, f"{request.path}?{query.urlencode()}")


def here_without_lang(request: HttpRequest) -> str:
    """This page's address with its query but without ``lang``: where the header's language
    switch returns to. With ``lang`` kept, the address chose the old language again, and the
    switch did nothing on a page opened with ``?lang=``."""
    try:
        query = request.GET.copy()
    except SuspiciousOperation:
        return request.path
    query.pop("lang", None)
    return f"{request.path}?{query.urlencode()}" if query else request.path
