"""After a 500 the client's keep-alive connection stays usable (issue #21 item 3).

Starlette's ServerErrorMiddleware sends the 500 and then re-raises the error so the server
can log it; uvicorn, seeing an error after the response started, closes the connection, and
the client's next request on it failed too. The kernel's request middleware now answers an
unexpected error itself (logged, 500 problem+json) and does not re-raise. A real uvicorn
server and an httpx client with keep-alive, because only the server closes connections.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from shared.http import Metrics, install_problem_handlers, install_request_context

pytestmark = pytest.mark.integration


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    install_request_context(app, Metrics())

    @app.get("/boom")
    async def boom() -> dict[str, Any]:
        raise RuntimeError("a bug")

    @app.get("/fine")
    async def fine() -> dict[str, Any]:
        return {"fine": True}

    return app


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    config = uvicorn.Config(_app(), host="127.0.0.1", port=port, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _local_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("socket").getsockname()[1])


def test_the_connection_survives_a_500__issue21(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=10) as client:
        first = client.get("/boom")
        assert first.status_code == 500
        assert first.headers["content-type"] == "application/problem+json"
        assert first.json()["rule"] == "internal"
        assert "x-correlation-id" in first.headers
        assert first.headers.get("connection") != "close"
        after = client.get("/fine")
        assert after.status_code == 200
        # the same TCP connection: the server did not close it after the 500
        assert _local_port(after) == _local_port(first)
