"""Client for a simulator's `/_control` endpoint (tests, the demo, an operator's shell)."""

from __future__ import annotations

from typing import Any

import httpx

from madoguchi.outside.transport import shared_ssl_context


class SimControl:
    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def state(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base_url}/_control", timeout=self.timeout, verify=shared_ssl_context()
        )
        response.raise_for_status()
        return dict(response.json())

    def set(self, **changes: Any) -> dict[str, Any]:
        """E.g. `set(fail_next=2)`, `set(hang_next=1, hang_ms=1000)`, `set(reset_state=True)`."""
        response = httpx.post(
            f"{self.base_url}/_control",
            json=changes,
            timeout=self.timeout,
            verify=shared_ssl_context(),
        )
        response.raise_for_status()
        return dict(response.json())

    def stats(self) -> dict[str, int]:
        return dict(self.state()["stats"])

    def reset(self) -> dict[str, Any]:
        """Seeded state, no faults, counters at zero."""
        return self.set(reset_state=True, reset_faults=True)
