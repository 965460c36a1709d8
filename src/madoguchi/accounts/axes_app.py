"""django-axes (the sign-in lockout) as an installed app with a name in the page's language.

django-axes ships no Japanese catalogue, so its part of the admin read "AXES", "Access
attempts", "IP Address", "Attempt Time" … on the Japanese admin an operator uses. Its app name
is given here (an app's name is not part of any migration); its models' and admin's own words
are marked below and translated in the shared catalogue, which Django reads before any app's.
"""

from axes.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# django-axes' own msgids (axes/models.py, axes/admin.py), for `make messages` to extract.
AXES_WORDS = (
    gettext_noop("Locked Out"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Not set"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("Username"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Access lock out"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Logout Time"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
)


class AxesConfig(AppConfig):
    verbose_name = _("Sign-in lockout")
