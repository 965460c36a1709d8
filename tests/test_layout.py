"""The layout README.md's "Layout" section describes, kept true: views read through selectors,
choices live in constants.py, audit events are named by their constants."""

from __future__ import annotations

import ast
from pathlib import Path

import madoguchi

PACKAGE = Path(madoguchi.__file__).parent


def _modules(name: str) -> list[Path]:
    return sorted(p for p in PACKAGE.rglob(name) if "migrations" not in p.parts)


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_views_read_models_only_through_selectors():
    """A view or API module that builds its own queryset hides a read that the app's selectors
    should name (and that the next view then writes again, a little differently)."""
    found = []
    for path in _modules("views.py") + _modules("api.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "objects":
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []


def test_choices_are_declared_in_constants_modules():
    found = []
    for path in _sources():
        if path.name == "constants.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).endswith(("TextChoices", "IntegerChoices")) for base in node.bases
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert found == []


def test_audit_events_are_recorded_by_constant_never_by_a_written_name():
    """`audit.record` accepts a name, but a name written out (or built from strings) at the call
    is not checked until it runs; the constants are checked when their module is imported."""
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if called == "record" and isinstance(first, (ast.Constant, ast.JoinedStr, ast.BinOp)):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []
