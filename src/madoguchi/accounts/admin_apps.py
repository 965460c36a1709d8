"""django.contrib.admin with madoguchi's admin site (second factor, staff sign-in)."""

from django.contrib.admin.apps import AdminConfig


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
