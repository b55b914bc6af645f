"""What Meta posts to the webhook, as the core's events and delivery reports: pure functions.

A message's id ("wamid...") becomes the event's id, so a webhook Meta delivers twice is
handled once by the core. Who wrote, and when, is read too: it opens their 24-hour window.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import Any

from adapters.whatsapp.settings import phone_digits
from bot.ports import (
    Address, ButtonPress, DeliveryReport, DeliveryStatus, Incoming, IncomingCommand, IncomingText, Sender,
)

log = logging.getLogger(__name__)

PLATFORM = "whatsapp"
WINDOW_CLOSED = 131047
NOT_ON_WHATSAPP = 131026
UNSUPPORTED_RECIPIENT = 131051
UNREACHABLE_CODES = frozenset({NOT_ON_WHATSAPP, UNSUPPORTED_RECIPIENT})
CAPTIONED = ("image", "video", "document")


def signature_matches(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """X-Hub-Signature-256: "sha256=" and the HMAC-SHA256 of the raw body with the app secret,
    compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def sign(raw_body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    """What one webhook carried."""

    events: list[Incoming] = field(default_factory=list)
    reports: list[DeliveryReport] = field(default_factory=list)
    # (phone, when): each person who wrote, with the time WhatsApp says they wrote.
    wrote: list[tuple[str, float]] = field(default_factory=list)
    # People who wrote something the core has no event for (a photo, a reaction): what
    # waits for them may go now all the same.
    woke: list[Address] = field(default_factory=list)
    # People whose 24-hour window WhatsApp found closed after all (a failed status, 131047).
    closed: list[str] = field(default_factory=list)


def read(payload: Any, phone_number_id: str, now: float) -> Delivery:
    delivery = Delivery()
    if not isinstance(payload, dict):
        return delivery
    for entry in _list(payload.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            value = _dict(change.get("value"))
            if change.get("field", "messages") != "messages":
                continue
            number_id = str(_dict(value.get("metadata")).get("phone_number_id") or "")
            if number_id and number_id != phone_number_id:
                log.info("a webhook for another phone number id (%s) was ignored", number_id[:30])
                continue
            names = _names(value)
            for message in _list(value.get("messages")):
                _read_message(_dict(message), names, now, delivery)
            for status in _list(value.get("statuses")):
                status = _dict(status)
                report = _report(status)
                if report is None:
                    continue
                delivery.reports.append(report)
                recipient = recipient_of(status)
                if report.status is DeliveryStatus.OUTSIDE_WINDOW and recipient:
                    delivery.closed.append(recipient)
    return delivery


def _read_message(message: dict[str, Any], names: dict[str, str], now: float, delivery: Delivery) -> None:
    phone = phone_digits(str(message.get("from") or ""))
    if phone is None:
        log.info("a message without a sender's number was ignored")
        return
    sender = Sender(Address(PLATFORM, phone, phone), names.get(phone, ""))
    delivery.wrote.append((phone, _timestamp(message.get("timestamp"), now)))
    event = _event(message, sender)
    if event is None:
        log.info("a %s message from %s has nothing the bot reads", message.get("type"), phone)
        delivery.woke.append(sender.address)
        return
    delivery.events.append(event)


def _event(message: dict[str, Any], sender: Sender) -> Incoming | None:
    kind = message.get("type")
    event_id = str(message.get("id") or "") or None
    context = _dict(message.get("context"))
    context_id = str(context.get("id") or "") or None
    if kind == "text":
        return _text(sender, str(_dict(message.get("text")).get("body") or ""), context_id, event_id)
    if kind in CAPTIONED:
        caption = str(_dict(message.get(kind)).get("caption") or "")
        return _text(sender, caption, context_id, event_id) if caption.strip() else None
    if kind == "interactive":
        interactive = _dict(message.get("interactive"))
        chosen = _dict(interactive.get("button_reply") or interactive.get("list_reply"))
        token = str(chosen.get("id") or "")
        return ButtonPress(sender, token, context_id, None, event_id) if token else None
    if kind == "button":  # a template's quick-reply button
        token = str(_dict(message.get("button")).get("payload") or "")
        return ButtonPress(sender, token, context_id, None, event_id) if token else None
    return None


def _text(sender: Sender, text: str, reply_to: str | None, event_id: str | None) -> Incoming:
    if text.startswith("/") and len(text) > 1 and not text[1].isspace():
        head, _, args = text[1:].partition(" ")
        return IncomingCommand(sender, head, args.strip(), event_id)
    return IncomingText(sender, text, reply_to, event_id)


def _report(status: dict[str, Any]) -> DeliveryReport | None:
    message_id = str(status.get("id") or "")
    kind = status.get("status")
    if not message_id:
        return None
    if kind == "delivered":
        return DeliveryReport(PLATFORM, message_id, DeliveryStatus.DELIVERED)
    if kind == "read":
        return DeliveryReport(PLATFORM, message_id, DeliveryStatus.READ)
    if kind != "failed":
        return None  # "sent" (Meta took it), "deleted": nothing for the core
    errors = [_dict(error) for error in _list(status.get("errors"))]
    code = _code(errors[0].get("code")) if errors else 0
    reason = _reason(errors[0]) if errors else "failed"
    if code == WINDOW_CLOSED:
        return DeliveryReport(PLATFORM, message_id, DeliveryStatus.OUTSIDE_WINDOW, reason)
    if code in UNREACHABLE_CODES:
        return DeliveryReport(PLATFORM, message_id, DeliveryStatus.UNDELIVERABLE, reason)
    return DeliveryReport(PLATFORM, message_id, DeliveryStatus.FAILED, reason)


def recipient_of(status: dict[str, Any]) -> str | None:
    return phone_digits(str(status.get("recipient_id") or ""))


def _reason(error: dict[str, Any]) -> str:
    details = _dict(error.get("error_data")).get("details") or error.get("message") or error.get("title") or ""
    return f"{error.get('code')}: {details}"[:300]


def _names(value: dict[str, Any]) -> dict[str, str]:
    names = {}
    for contact in _list(value.get("contacts")):
        contact = _dict(contact)
        phone = phone_digits(str(contact.get("wa_id") or ""))
        if phone:
            names[phone] = str(_dict(contact.get("profile")).get("name") or "").strip()
    return names


def _timestamp(raw: Any, now: float) -> float:
    """When the person wrote, as WhatsApp says; a redelivered webhook keeps its old time."""
    try:
        return min(float(raw), now)
    except (TypeError, ValueError):
        return now


def _code(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
