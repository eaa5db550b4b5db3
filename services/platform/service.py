"""Platform data (working-day calendars) as a service of the suite."""

from __future__ import annotations

from services.platform.api import build_router
from services.platform.events import registry
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(name="platform", registry=registry, build_router=build_router)
