"""Dates as the bot writes them."""

from __future__ import annotations

from datetime import datetime, timezone


def day_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%d %b %Y")


def month_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%B %Y")
