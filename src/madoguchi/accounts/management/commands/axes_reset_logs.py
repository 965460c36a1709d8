"""django-axes's `axes_reset_logs`, refused at the shell: it deletes the sign-in records (who
signed in and out, from where) older than `--age` days with no audit event."""

from axes.management.commands.axes_reset_logs import Command as AxesCommand

from madoguchi.accounts.management.refused import AXES_LOGS_REFUSAL
from madoguchi.cli import refused_at_the_shell

Command = refused_at_the_shell(AxesCommand, AXES_LOGS_REFUSAL)
