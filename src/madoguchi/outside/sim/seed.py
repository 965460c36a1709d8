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


def load_seed(path: str | Path | None = None) -> SeedData:
    """The seed at `path`, or the default seed. Sections that are missing are empty."""
    text = default_seed_text() if path is None else Path(path).read_text("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a seed file holds one JSON object")
    for section in ("provider", "bank", "insurer"):
        if not isinstance(data.setdefault(section, {}), dict):
            raise ValueError(f"seed section {section!r} must be an object")
    return data


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
