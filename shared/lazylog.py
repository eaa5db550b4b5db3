"""A structlog logger for modules the quick commands load, that loads structlog when first used.

structlog costs 60–130 ms of import (it loads `rich` when that is installed), a third of
the 0.3 s issue #21 gives `gongkai workdays due` and `gongkai token issue`; the modules
they read (the calendar book, the account book) log only when something changes, which a
quick command never sees. In a suite process structlog is loaded long before, and this is
the logger `structlog.get_logger(name)` gives, configured the same way (shared/logging.py).
"""

from __future__ import annotations

from typing import Any


class LazyLogger:
    """`structlog.get_logger(name)`, fetched on the first call of any of its methods."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog

            self._logger = structlog.get_logger(self._name)
        return getattr(self._logger, method)
