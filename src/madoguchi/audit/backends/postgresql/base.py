"""PostgreSQL with the audit log appended at commit (see ``madoguchi.audit.backends``)."""

from django.db.backends.postgresql import base

from madoguchi.audit.backends import AuditQueueMixin


class DatabaseWrapper(AuditQueueMixin, base.DatabaseWrapper):
    pass
