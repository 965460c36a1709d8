"""django.contrib.admin with madoguchi's admin site (second factor, staff sign-in)."""

from django.contrib.admin.apps import AdminConfig


class MadoguchiAdminConfig(AdminConfig):
    default_site = "madoguchi.accounts.admin_site.MadoguchiAdminSite"
