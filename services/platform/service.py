"""Platform data (working-day calendars) as a service of the suite.

No command table: publishing a calendar creates its year's stream and names no instance
the kernel could load (handlers.py), so its one command is routed by hand (api.py).
"""

from __future__ import annotations

from services.platform.api import routers
from services.platform.events import registry
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(name="platform", registry=registry, routers=routers)
