"""django-axes's `axes_reset`, refused at the shell: it lifts sign-in lockouts with no audit
event. `madoguchi staff unlock NAME --by OPERATOR` lifts one, audited."""

from axes.management.commands.axes_reset import Command as AxesCommand

from madoguchi.accounts.management.refused import AXES_REFUSAL
from madoguchi.cli import refused_at_the_shell

Command = refused_at_the_shell(AxesCommand, AXES_REFUSAL)
