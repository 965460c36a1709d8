import pytest


@pytest.fixture(autouse=True)
def audit_files(settings, tmp_path):
    """Each test's checkpoint files and signing key are in its own directory (tests/conftest.py
    puts them under tmp_path); the audit tests name their own log."""
    settings.AUDIT_LOG_ORIGIN = "test.madoguchi.local/audit"
    return tmp_path
