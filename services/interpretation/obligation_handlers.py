"""Where schedule.py takes the misreading report from; the rules live in obligations.py."""

from services.interpretation.obligations import (
    MAX_REASON_CHARS,
    MisreadingReport,
    misreading_reason,
)

__all__ = ["MAX_REASON_CHARS", "MisreadingReport", "misreading_reason"]
