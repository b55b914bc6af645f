"""The platforms the bot speaks: each adapter module exports a `PLUGIN` (its settings, its
construction, its online check). A new platform is one module and one line here."""

from __future__ import annotations

from importlib import import_module
from typing import Iterator, Mapping

from bot.ports import PlatformPlugin
from bot.settings_reader import ConfigError

MODULES = {
    "telegram": "adapters.telegram",
    "slack": "adapters.slack",
    "whatsapp": "adapters.whatsapp",
    "email": "adapters.email",
    "webchat": "adapters.webchat",
    "dashboard": "adapters.webchat.dashboard",
}


class Registry(Mapping[str, PlatformPlugin]):
    """The platforms by name; an adapter's module (and its SDK) is imported when first used."""

    def __init__(self, modules: Mapping[str, str] = MODULES) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, PlatformPlugin] = {}

    def __getitem__(self, name: str) -> PlatformPlugin:
        if name not in self._loaded:
            try:
                module = import_module(self._modules[name])
            except ModuleNotFoundError as error:
                if error.name != self._modules[name]:
                    raise
                raise ConfigError(f"{name}.enabled", f"the {name} adapter is not in this version yet") from None
            plugin = module.PLUGIN
            assert plugin.name == name, f"{self._modules[name]} exports the plugin of {plugin.name!r}"
            self._loaded[name] = plugin
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


def registry() -> Registry:
    return Registry()
