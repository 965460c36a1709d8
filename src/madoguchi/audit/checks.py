"""`check --deploy`: the audit log's checkpoints can be signed.

Without the signing key (`madoguchi audit keygen`), each scheduled `madoguchi audit checkpoint`
fails and no signed checkpoint leaves the database: the one record that shows a rewritten or
erased history (the owner's rights can lift the append-only triggers) is never made, and
nothing said so before the first scheduled run.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning, register

from . import conf, services


@register(deploy=True)
def checkpoint_key_usable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    path = conf.key_file()
    try:
        services.load_signing_key(path)
    except services.AuditError as exc:
        return [
            Warning(
                f"The audit log's checkpoints cannot be signed: {exc} No signed checkpoint "
                "would leave the database, and a rewritten or erased history would show "
                "nowhere.",
                hint="Run madoguchi audit keygen once (or set AUDIT_CHECKPOINT_KEY_FILE to the "
                "key's file), then madoguchi audit checkpoint on a schedule (docs/audit.md).",
                id="madoguchi.W110",
            )
        ]
    except OSError as exc:
        return [
            Warning(
                f"The audit log's checkpoint signing key at {path} cannot be read "
                f"({exc.strerror or exc}): no signed checkpoint would leave the database.",
                hint="Give the server's user read access to it (mode 0600, its owner).",
                id="madoguchi.W110",
            )
        ]
    return []
