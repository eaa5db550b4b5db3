"""What the deployment files are checked against: the code."""

from __future__ import annotations

from pathlib import Path

from gongkai.app import DEFINITIONS
from shared.settings import Settings

REPO = Path(__file__).resolve().parents[2]

#: Every environment variable the code reads (pydantic-settings, prefix GONGKAI_).
SETTINGS_VARIABLES = {f"GONGKAI_{name.upper()}" for name in Settings.model_fields}
DEFAULT_PORT = Settings.model_fields["port"].default


def units() -> set[tuple[str, str]]:
    """(role, service) of every process: serve for each service, worker where it projects."""
    out = set()
    for name, definition in DEFINITIONS.items():
        out.add(("serve", name))
        if list(definition.projections()):
            out.add(("worker", name))
    return out
