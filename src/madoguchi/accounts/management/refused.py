"""The refusal of django-axes's resets at the shell (`commands/axes_reset*.py`): they lift a
sign-in lockout, or delete the sign-in records, with no audit event. The accounts' refused commands are made with
`madoguchi.cli.refused_at_the_shell`; this app comes before django.contrib.auth and django-axes
in INSTALLED_APPS, so `madoguchi NAME` finds ours.
"""

AXES_REFUSAL = (
    "madoguchi lifts no sign-in lockout this way: it would leave no audit event. Nothing was "
    "changed. An operator lifts a member's lockout, audited: madoguchi staff unlock NAME --by "
    "OPERATOR (or sets a new password: madoguchi staff password NAME --by OPERATOR, which lifts "
    "it too)."
)

AXES_LOGS_REFUSAL = (
    "madoguchi deletes no sign-in records this way: django-axes's sign-in records (who signed "
    "in and out, from where) would be gone with no audit event. Nothing was changed."
)
