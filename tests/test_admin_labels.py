"""Every field of every model the admin shows is labelled in Japanese on a Japanese page: the
admin's change pages read Holder, Visit, Procedure, Completion, Status changed at, Replaced by …
beside fields already in Japanese (a walk of the admin as the operator). Django's own "ID" is
the one label left as it is."""

import re

from django.contrib import admin
from django.utils import translation


def _english(text: object) -> bool:
    return not re.search(r"[^\x00-\x7f]", str(text))


def test_each_admin_models_fields_and_names_read_in_japanese():
    untranslated = []
    with translation.override("ja"):
        # The models the admin shows: those registered, and those shown inline on their pages
        # (a case's timeline read SEQ and ACTOR).
        shown = list(admin.site._registry)
        for model_admin in admin.site._registry.values():
            shown += [inline.model for inline in model_admin.inlines]
        for model in dict.fromkeys(shown):
            meta = model._meta
            if meta.app_label == "axes":  # tests/accounts/test_admin_words.py
                continue
            for what in (meta.verbose_name, meta.verbose_name_plural, meta.app_config.verbose_name):
                if _english(what):
                    untranslated.append(f"{meta.label}: {what}")
            for field in meta.concrete_fields:
                if field.verbose_name != "ID" and _english(field.verbose_name):
                    untranslated.append(f"{meta.label}.{field.name}: {field.verbose_name}")
    assert not untranslated, untranslated


def test_the_fields_named_on_the_admins_pages_before_read_in_japanese_now():
    from madoguchi.benefits.models import PaymentLink
    from madoguchi.terminals.models import DeskSession

    with translation.override("ja"):
        link = {f.name: str(f.verbose_name) for f in PaymentLink._meta.concrete_fields}
        session = {f.name: str(f.verbose_name) for f in DeskSession._meta.concrete_fields}
    assert link["holder"] == "住民（カードの持ち主）"
    assert link["status_changed_at"] == "状態の変更日時"
    assert link["replaced_by"] == "置き換え先"
    assert session["close_reason"] == "終了の理由"
