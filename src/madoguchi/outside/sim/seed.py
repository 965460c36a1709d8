"""Seed data for the simulators: a JSON file with a `provider`, `bank` and `insurer` section.

The default seed ships inside the package (default_seed.json); `madoguchi sim accounts`
prints it as a table for demo staff.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

SeedData = dict[str, Any]


def default_seed_text() -> str:
    return resources.files("madoguchi.outside.sim").joinpath("default_seed.json").read_text("utf-8")


class SeedError(ValueError):
    """A seed file that cannot be read or is not in the seed's format, said in one sentence
    naming the file and what is wrong (a traceback before: a KeyError naming one key)."""


# Each list a section holds, and the keys every entry of it must have (what the simulators and
# `sim accounts` index by). Other keys are optional.
_REQUIRED: dict[str, tuple[str, tuple[str, ...]]] = {
    "provider": ("providers", ("code",)),
    "bank": ("accounts", ("bank_code", "branch_code", "account_type", "account_number", "status")),
    "insurer": (
        "records",
        ("insurer_number", "insured_symbol", "insured_number", "branch", "status"),
    ),
}
_PROVIDER_ACCOUNT = ("payment_service_id", "security_code", "account_ref", "status")


def load_seed(path: str | Path | None = None) -> SeedData:
    """The seed at `path`, or the default seed. Sections that are missing are empty; anything
    else that is not in the seed's format raises SeedError naming the file."""
    where = "the packaged seed" if path is None else f"the seed file {path}"
    try:
        text = default_seed_text() if path is None else Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SeedError(f"{where} cannot be read ({reason})") from exc
    try:
        data: SeedData = json.loads(text)
    except ValueError as exc:
        raise SeedError(f"{where} is not JSON ({exc})") from exc
    try:
        _check(data)
    except SeedError as exc:
        raise SeedError(f"{where}: {exc}") from None
    return data


def _check(data: Any) -> None:
    if not isinstance(data, dict):
        raise SeedError("a seed file holds one JSON object")
    for section, (key, required) in _REQUIRED.items():
        part = data.setdefault(section, {})
        if not isinstance(part, dict):
            raise SeedError(f"section {section!r} must be an object")
        _entries(part, f"{section}.{key}", key, required)
        if section == "provider":
            for i, provider in enumerate(part.get("providers", [])):
                _entries(
                    provider, f"provider.providers[{i}].accounts", "accounts", _PROVIDER_ACCOUNT
                )


def _entries(part: dict[str, Any], name: str, key: str, required: tuple[str, ...]) -> None:
    entries = part.get(key, [])
    if not isinstance(entries, list):
        raise SeedError(f"{name} must be a list")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise SeedError(f"{name}[{i}] must be an object")
        missing = [k for k in required if not isinstance(entry.get(k), str)]
        if missing:
            raise SeedError(f"{name}[{i}] has no {', '.join(repr(k) for k in missing)} (text)")


def resolve_seed(seed: SeedData | str | Path | None) -> SeedData:
    if seed is None or isinstance(seed, str | Path):
        return load_seed(seed)
    return seed


def seed_table(seed: SeedData, kind: str) -> list[list[str]]:
    """Rows (with a header row) describing the seeded accounts of one kind, for people."""
    rows: list[list[str]]
    if kind == "provider":
        rows = [
            [
                "provider",
                "payment_service_id",
                "security_code",
                "account_ref",
                "holder",
                "status",
                "note",
            ]
        ]
        for p in seed["provider"].get("providers", []):
            for a in p.get("accounts", []):
                holder = a.get("holder_name_kana") if p.get("holder_names", True) else None
                rows.append(
                    [
                        p["code"],
                        a["payment_service_id"],
                        a["security_code"],
                        a["account_ref"],
                        holder or "(unavailable)",
                        a["status"],
                        a.get("note", ""),
                    ]
                )
    elif kind == "bank":
        rows = [["bank", "branch", "type", "account_number", "holder", "status", "note"]]
        for a in seed["bank"].get("accounts", []):
            rows.append(
                [
                    a["bank_code"],
                    a["branch_code"],
                    a["account_type"],
                    a["account_number"],
                    a.get("holder_name_kana") or "(unavailable)",
                    a["status"],
                    a.get("note", ""),
                ]
            )
    elif kind == "insurer":
        rows = [["insurer", "symbol", "number", "branch", "name", "status", "registered", "note"]]
        for r in seed["insurer"].get("records", []):
            rows.append(
                [
                    r["insurer_number"],
                    r["insured_symbol"],
                    r["insured_number"],
                    r["branch"],
                    r.get("insured_name_kana") or "(unknown)",
                    r["status"],
                    "yes" if r.get("registered_card_fingerprint") else "no",
                    r.get("note", ""),
                ]
            )
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return rows
