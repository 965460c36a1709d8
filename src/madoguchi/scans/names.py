"""The scan's causes, name checks, desk events and programmes as the officials' pages name them,
in the page's language. The Japanese is the scan's own words (`madoguchi.scan.labels`, which
its Japanese reports use), or the catalogue's where it already had the phrase."""

from django.utils.translation import gettext_lazy as _

CAUSE_NAMES = {
    "logout_omission": _("Sign-out omitted"),
    "typed_wrong_id": _("ID typed wrong"),
    "lent_terminal": _("Terminal or sign-in lent"),
    "wrong_card": _("Cards mixed up"),
    "family_account": _("A family member's account (not a mis-link)"),
}
CHECK_NAMES = {0: _("match"), 1: _("close match"), 2: _("no match"), 3: _("holder unknown")}
EVENT_NAMES = {
    "login": _("sign-in"),
    "logout": _("sign-out"),
    "card_read": _("card read"),
    "card_removed": _("card removed"),
    "commit": _("committed"),
}
PROGRAMME_NAMES = {
    "mynapoint_2": _("Mynapoint, second round"),
    "public_fund": _("Public-fund receiving account"),
    "health_insurance": _("Health-insurance use registration"),
}
