"""Scan runs and their findings in the database: the officials' pages, remediation cases opened
from findings, and the adapter exporting madoguchi's own records for a scan. The engine itself
is the pure package ``madoguchi.scan``."""
