"""Who wants to know that something changed: the dashboard's pages, shown live."""

from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger(__name__)


class Watch:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def listen(self, changed: Callable[[], None]) -> None:
        self._listeners.append(changed)

    def changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a page that cannot be told must not fail the change itself
                log.exception("a listener failed to hear of a change")
