"""django.contrib.admin with madoguchi's admin site (second factor, staff sign-in)."""

from typing import Any

from django.contrib.admin.apps import AdminConfig
from django.utils.translation import pgettext_lazy


class MadoguchiAdminConfig(AdminConfig):
    default_site = "madoguchi.accounts.admin_site.MadoguchiAdminSite"

    def ready(self) -> None:
        super().ready()  # every app's admin module registered (autodiscover)
        from django.contrib import admin
        from django.contrib.auth.models import Group
        from django_otp.plugins.otp_totp.models import TOTPDevice

        # After every app's admin, whatever their order in INSTALLED_APPS (madoguchi.accounts
        # comes before django.contrib.auth and django-otp, whose admins register these):
        # - Group permissions are the roles (accounts.roles); they are not edited in the admin.
        # - Nor are authenticators: django-otp's admin showed every device's key, otpauth URI
        #   and QR code (a GET, so no audit event) and added devices to anyone, so an operator
        #   could take a city official's second factor. `madoguchi staff totp USER` enrols one,
        #   audited.
        for model in (Group, TOTPDevice):
            if admin.site.is_registered(model):
                admin.site.unregister(model)
        _axes_titles()


_AXES_WORDS = {
    "AccessLog": pgettext_lazy("sign-in record", "Sign-in"),
    "AccessFailureLog": pgettext_lazy("sign-in record", "Failed sign-in"),
    "AccessAttempt": pgettext_lazy("sign-in record", "Sign-in attempts"),
}


def _axes_titles() -> None:
    """django-axes' records title their admin pages in English with a UTC time to the
    microsecond (「Access Log for desk_staff2 @ 2026-12-06 02:41:25.543610+00:00」 on a Japanese
    page): titled in the page's language and Japan's local time instead."""
    from axes import models as axes_models
    from django.utils import formats, timezone

    def titled(word: Any) -> Any:
        def __str__(self: Any) -> str:
            at = self.attempt_time
            when = formats.date_format(timezone.localtime(at), "DATETIME_FORMAT") if at else ""
            return f"{word}: {self.username or '—'} {when}".strip()

        return __str__

    for name, word in _AXES_WORDS.items():
        getattr(axes_models, name).__str__ = titled(word)
