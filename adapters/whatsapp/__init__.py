"""WhatsApp, through the WhatsApp Business Cloud API format: Meta's Cloud API directly, or
any bridge or provider that speaks it (the API's address is a setting).

`PLUGIN` is what the registry (adapters/__init__.py) loads: the [whatsapp] settings, the
adapter, the online check, and phone numbers in E.164 digits for [facilitators].
"""

from __future__ import annotations

from adapters.whatsapp.adapter import CAPABILITIES, ServiceWindows, WhatsAppAdapter
from adapters.whatsapp.graph import check_online
from adapters.whatsapp.settings import WEBHOOK_PATH, WhatsAppSettings, normalise_phone, phone_digits, read_settings
from bot.ports import Address, PlatformContext
from bot.settings_reader import Section

__all__ = ["CAPABILITIES", "PLUGIN", "ServiceWindows", "WEBHOOK_PATH", "WhatsAppAdapter", "WhatsAppPlugin",
           "WhatsAppSettings", "check_online", "normalise_phone", "phone_digits"]


class WhatsAppPlugin:
    name = "whatsapp"

    def read_settings(self, section: Section) -> WhatsAppSettings:
        return read_settings(section)

    def build(self, settings: WhatsAppSettings, context: PlatformContext) -> WhatsAppAdapter:
        return WhatsAppAdapter(settings, context)

    async def check_online(self, settings: WhatsAppSettings) -> str | None:
        return await check_online(settings)

    def normalise_user_id(self, raw: str) -> str:
        return normalise_phone(raw)

    def facilitators_room(self, settings: WhatsAppSettings) -> Address | None:
        return None  # WhatsApp groups are not open to Cloud API bots: each facilitator gets their own card


PLUGIN = WhatsAppPlugin()
