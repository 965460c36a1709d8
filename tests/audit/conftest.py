import pytest


@pytest.fixture(autouse=True)
def audit_files(settings, tmp_path):
    """Keep checkpoint files and the signing key of each test in its own directory."""
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_KEY_FILE = tmp_path / "keys" / "checkpoint.pem"
    settings.AUDIT_LOG_ORIGIN = "test.madoguchi.local/audit"
    return tmp_path
