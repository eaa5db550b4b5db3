"""What the catalog's routes take per request (shared/deps.py): its runtime and its
application object, from the app that answers.

No `from __future__ import annotations` here: FastAPI must see the real dependency objects.
"""

from typing import Annotated

from fastapi import Depends

from services.catalog.handlers import CatalogHandlers
from shared.deps import handlers_of, runtime_of
from shared.service import Runtime

Rt = Annotated[Runtime, Depends(runtime_of("catalog"))]
H = Annotated[CatalogHandlers, Depends(handlers_of("catalog", CatalogHandlers))]

#: The staff routes (api.py, reports.py) share one prefix and tag.
STAFF_PREFIX = "/v1/catalog"
STAFF_TAG = "catalog 主动公开"
