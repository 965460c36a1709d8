"""What language a view asked its receipt in: the view's `receipt_pdf` wrapped for a test."""

from __future__ import annotations

from types import ModuleType
from typing import Any


def languages_asked(monkeypatch: Any, views: ModuleType) -> list[str]:
    """The languages `views.receipt_pdf` is called with from now on, in order (each call still
    renders the receipt)."""
    asked: list[str] = []
    real = views.receipt_pdf

    def spy(completion: Any, lang: str = "ja") -> bytes:
        asked.append(lang)
        return bytes(real(completion, lang))

    monkeypatch.setattr(views, "receipt_pdf", spy)
    return asked
