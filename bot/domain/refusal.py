"""A refusal: what the domain answers instead of raising when a person asks for something
that cannot be done. `reason` is an English sentence that the texts catalog translates;
`params` fill its {placeholders}."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Refusal:
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
