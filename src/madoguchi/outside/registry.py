"""Payment providers by code, and the bundle of outside systems the app talks to.

A provider is registered with its code, Japanese and English display names, whether it
discloses account holder names, and a factory that builds its adapter. The simulated providers
(`sim-pay`, `sim-pay-noname`) and a real one are registered the same way; see
docs/outside.md ("Plugging in a real adapter").
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from madoguchi.outside.errors import UnknownProvider
from madoguchi.outside.interfaces import Bank, Insurer, PaymentProvider
from madoguchi.outside.transport import ClientConfig


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    code: str
    display_name_ja: str
    display_name_en: str
    holder_names: bool = True  # False: the provider never discloses holder names
    simulated: bool = False

    def display_name(self, lang: str = "ja") -> str:
        return self.display_name_en if lang == "en" else self.display_name_ja


ProviderFactory = Callable[[ProviderInfo], PaymentProvider]


class ProviderRegistry:
    """Providers by code. Adapters are built on first use and reused (they are thread-safe)."""

    def __init__(self) -> None:
        self._infos: dict[str, ProviderInfo] = {}
        self._factories: dict[str, ProviderFactory] = {}
        self._adapters: dict[str, PaymentProvider] = {}
        self._lock = threading.Lock()

    def register(self, info: ProviderInfo, factory: ProviderFactory) -> None:
        if info.code in self._infos:
            raise ValueError(f"provider {info.code!r} is already registered")
        self._infos[info.code] = info
        self._factories[info.code] = factory

    def __contains__(self, code: object) -> bool:
        return code in self._infos

    def info(self, code: str) -> ProviderInfo:
        try:
            return self._infos[code]
        except KeyError:
            raise UnknownProvider(detail_ja=code, detail_en=code) from None

    def infos(self) -> list[ProviderInfo]:
        return list(self._infos.values())

    def choices(self, lang: str = "ja") -> list[tuple[str, str]]:
        """(code, display name) pairs for a select box, in registration order."""
        return [(i.code, i.display_name(lang)) for i in self._infos.values()]

    def get(self, code: str) -> PaymentProvider:
        info = self.info(code)
        with self._lock:
            adapter = self._adapters.get(code)
            if adapter is None:
                adapter = self._factories[code](info)
                self._adapters[code] = adapter
            return adapter

    def close(self) -> None:
        with self._lock:
            for adapter in self._adapters.values():
                close = getattr(adapter, "close", None)
                if callable(close):
                    close()
            self._adapters.clear()


def import_object(path: str) -> Any:
    """`package.module:attribute` → the attribute."""
    module, _, attr = path.partition(":")
    if not attr:
        raise ValueError(f"adapter path {path!r} must look like 'package.module:factory'")
    return getattr(importlib.import_module(module), attr)


def registry_from_specs(
    specs: Iterable[Mapping[str, Any]], *, config: ClientConfig | None = None
) -> ProviderRegistry:
    """Build a registry from configuration, e.g. JSON in an environment variable::

        [{"code": "acme-pay", "display_name_ja": "アクメペイ", "display_name_en": "Acme Pay",
          "holder_names": true, "adapter": "madoguchi.outside.clients:http_provider",
          "options": {"base_url": "https://..."}}]

    `adapter` names a callable `(info, config, **options) -> PaymentProvider`.
    """
    registry = ProviderRegistry()
    for spec in specs:
        info = ProviderInfo(
            code=str(spec["code"]),
            display_name_ja=str(spec["display_name_ja"]),
            display_name_en=str(spec.get("display_name_en", spec["display_name_ja"])),
            holder_names=bool(spec.get("holder_names", True)),
            simulated=bool(spec.get("simulated", False)),
        )
        make = import_object(str(spec["adapter"]))
        options = dict(spec.get("options", {}))

        def factory(
            info: ProviderInfo, make: Any = make, options: dict[str, Any] = options
        ) -> PaymentProvider:
            return cast(PaymentProvider, make(info, config, **options))

        registry.register(info, factory)
    return registry


@dataclass
class OutsideSystems:
    """Everything outside that the app talks to."""

    providers: ProviderRegistry
    bank: Bank
    insurer: Insurer

    def close(self) -> None:
        self.providers.close()
        for adapter in (self.bank, self.insurer):
            close = getattr(adapter, "close", None)
            if callable(close):
                close()


def sim_registry(
    provider_url: str, *, seed: Mapping[str, Any] | None = None, config: ClientConfig | None = None
) -> ProviderRegistry:
    """The providers of a provider simulator at `provider_url`, as its seed declares them."""
    # Imported here to break the cycle: the clients and the simulators import this registry.
    from madoguchi.outside.clients import http_provider
    from madoguchi.outside.sim.seed import load_seed

    data = seed if seed is not None else load_seed()
    base = provider_url.rstrip("/")
    return registry_from_specs(
        (
            {
                "code": p["code"],
                "display_name_ja": p["display_name_ja"],
                "display_name_en": p["display_name_en"],
                "holder_names": p.get("holder_names", True),
                "simulated": True,
                "adapter": f"{http_provider.__module__}:{http_provider.__name__}",
                "options": {"base_url": f"{base}/providers/{p['code']}"},
            }
            for p in data.get("provider", {}).get("providers", [])
        ),
        config=config,
    )


def sim_outside(
    provider_url: str,
    bank_url: str,
    insurer_url: str,
    *,
    seed: Mapping[str, Any] | None = None,
    config: ClientConfig | None = None,
) -> OutsideSystems:
    """Adapters for the three simulators."""
    # Imported here to break the cycle: the clients import this registry.
    from madoguchi.outside.clients import HttpBank, HttpInsurer

    return OutsideSystems(
        providers=sim_registry(provider_url, seed=seed, config=config),
        bank=HttpBank(bank_url, config=config),
        insurer=HttpInsurer(insurer_url, config=config),
    )
