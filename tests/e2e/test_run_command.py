"""`gongkai run` (what `make run` calls) as a new user meets it.

Issue Foundation: demo district loaded, the URL, docs and ready-to-use tokens
printed, state under var/ surviving a restart.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import GONGKAI, free_port
from tests.e2e.factories import registration


def start(var: Path, port: int, out: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    env = {**os.environ, "GONGKAI_VAR_DIR": str(var), "GONGKAI_LOG_LEVEL": "warning"}
    for key in ("GONGKAI_DATABASE_URL", "GONGKAI_KAFKA_BOOTSTRAP", "GONGKAI_TOKEN_SECRET"):
        env.pop(key, None)
    with out.open("wb") as fh:
        proc = subprocess.Popen(
            [GONGKAI, "run", "--port", str(port)], env=env, stdout=fh, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = out.read_text(encoding="utf-8", errors="replace")
        if "try: curl" in text:
            return proc, banner_tokens(text)
        if proc.poll() is not None:
            raise AssertionError(text)
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("no banner after 60 s:\n" + out.read_text())


def banner_tokens(text: str) -> dict[str, str]:
    lines = text.splitlines()
    return {
        lines[i].strip().split(" ")[0]: lines[i + 1].strip()
        for i, line in enumerate(lines[:-1])
        if line.startswith("    ") and not line.startswith("      ") and line.rstrip().endswith(":")
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_run_prints_working_tokens_and_keeps_state_across_a_restart(tmp_path: Path) -> None:
    var, port = tmp_path / "var", free_port()
    base = f"http://127.0.0.1:{port}"
    proc, tokens = start(var, port, tmp_path / "first.log")
    banner = (tmp_path / "first.log").read_text()
    try:
        assert f"{base}/docs" in banner and "长治市上党区" in banner and "苏店镇" in banner
        assert {"handler", "reviewer", "auditor", "administrator", "service"} <= set(tokens)
        handler = {"Authorization": f"Bearer {tokens['handler']}"}
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
        deadline = time.monotonic() + 20
        while len(items := httpx.get(f"{base}/v1/requests", headers=handler).json()["items"]) < 3:
            assert time.monotonic() < deadline, items
            time.sleep(0.1)
        created = httpx.post(f"{base}/v1/requests", headers=handler, json=registration()).json()
        assert created["number"].endswith("〕4号")  # after the three demo requests
    finally:
        stop(proc)

    proc, _ = start(var, port, tmp_path / "second.log")
    try:
        assert "demo requests registered" not in (tmp_path / "second.log").read_text()
        handler = {"Authorization": f"Bearer {tokens['handler']}"}  # the old token still works
        deadline = time.monotonic() + 20
        while len(items := httpx.get(f"{base}/v1/requests", headers=handler).json()["items"]) < 4:
            assert time.monotonic() < deadline, items
            time.sleep(0.1)
        assert created["request_id"] in {i["request_id"] for i in items}
        later = httpx.post(f"{base}/v1/requests", headers=handler, json=registration()).json()
        assert later["number"].endswith("〕5号")
    finally:
        stop(proc)
