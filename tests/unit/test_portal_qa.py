"""The portal's 政策问答 reads (services/portal/qa.py) when the interpretation service
cannot be reached: the document page and the search go on without the Q&A section."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from services.portal import qa
from shared.gateway import Api


def unreachable_api() -> Api:
    """A portal process with no URL for the interpretation service (nor the service)."""
    app: Any = SimpleNamespace(state=SimpleNamespace(runtimes={}))
    return Api(app, "token", urls={})


async def test_an_unreachable_interpretation_service_leaves_the_section_out() -> None:
    api = unreachable_api()
    assert await qa.of_policy(api, "00000000-0000-4000-8000-000000000000") is None
    assert await qa.search(api, "垫钱", None) == {"items": [], "terms": [], "total": 0}
    await api.close()
