"""No app reaches into another app's private names (`_name`): what one app offers another is its
public services and selectors, the layers import-linter checks (pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

import madoguchi

SRC = Path(madoguchi.__file__).parent


def _app(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "madoguchi" else ""


def _crossings(path: Path) -> list[str]:
    own = path.relative_to(SRC).parts[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases: dict[str, str] = {}  # local name -> the madoguchi module it is
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                local = alias.asname or alias.name
                if _app(node.module) not in ("", own):
                    aliases[local] = f"{node.module}.{alias.name}"
                    if alias.name.startswith("_"):
                        found.append(f"{path.name}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _app(alias.name) not in ("", own) and alias.asname:
                    aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and node.attr != "_meta"  # Django's documented model options
        ):
            found.append(f"{path.name}: {aliases[node.value.id]}.{node.attr}")
    return found


def test_no_app_uses_another_apps_private_names() -> None:
    found = [
        f"{path.relative_to(SRC)} -> {c}"
        for path in sorted(SRC.rglob("*.py"))
        if "migrations" not in path.parts and len(path.relative_to(SRC).parts) > 1
        for c in _crossings(path)
    ]
    assert found == []


def test_scans_asks_the_cases_app_through_its_public_check() -> None:
    from madoguchi.cases import services

    assert callable(services.require_official)
    assert not hasattr(services, "_require_official")
