"""The audit app's settings, with defaults (settings.py may override each one)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def origin() -> str:
    """The checkpoint origin line: names this log."""
    return str(getattr(settings, "AUDIT_LOG_ORIGIN", "madoguchi.local/audit"))


def key_name() -> str:
    return str(getattr(settings, "AUDIT_CHECKPOINT_KEY_NAME", "") or origin())


def key_file() -> Path:
    """Ed25519 private key (PKCS#8 PEM) that signs checkpoints; `madoguchi audit keygen` makes it."""
    default = Path(settings.DATA_DIR) / "keys" / "audit-checkpoint-ed25519.pem"
    return Path(getattr(settings, "AUDIT_CHECKPOINT_KEY_FILE", default))


def checkpoint_dir() -> Path:
    """Where signed checkpoints are written outside the database."""
    default = Path(settings.DATA_DIR) / "checkpoints"
    return Path(getattr(settings, "AUDIT_CHECKPOINT_DIR", default))


def verifier_key() -> str:
    """Optional: the note verifier key, so verification works without the private key."""
    return str(getattr(settings, "AUDIT_CHECKPOINT_VERIFIER_KEY", ""))
