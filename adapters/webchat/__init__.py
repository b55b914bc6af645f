"""The built-in web chat: a phone-sized chat page served by the bot itself, with live
messages over a WebSocket. A real adapter of the same port as Telegram: the core does not
know it is a web page."""

from adapters.webchat.server import PLUGIN, WebChatAdapter, WebChatSettings

__all__ = ["PLUGIN", "WebChatAdapter", "WebChatSettings"]
