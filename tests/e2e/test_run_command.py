"""`gongkai run` (what `make run` calls) as a new user meets it.

Issue Foundation: demo district loaded, the URL, docs printed, state under var/ surviving a
restart; issue #16: the sign-in address and a demo account for every role the demo needs,
with its initial password, changed at the first sign-in.
"""

from __future__ import annotations

import os
import re
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
            return proc, banner_accounts(text)
        if proc.poll() is not None:
            raise AssertionError(text)
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("no banner after 60 s:\n" + out.read_text())


def banner_accounts(text: str) -> dict[str, str]:
    """user name -> initial password, from the banner's demo accounts."""
    found = re.findall(r"^    ([a-z][a-z-]+) +(Gk@\d{4}demo) ", text, re.M)
    return dict(found)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def sign_in(base: str, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/auth/password", json={"username": username, "password": password}, timeout=30
    )


def test_run_prints_sign_in_and_demo_accounts_and_keeps_state_across_a_restart(
    tmp_path: Path,
) -> None:
    var, port = tmp_path / "var", free_port()
    base = f"http://127.0.0.1:{port}"
    proc, accounts = start(var, port, tmp_path / "first.log")
    banner = (tmp_path / "first.log").read_text()
    try:
        assert f"{base}/docs" in banner and "长治市上党区" in banner and "苏店镇" in banner
        assert f"POST {base}/v1/auth/password" in banner and f"{base}/workbench " in banner
        # one account for every step of the demo (三审三校 needs five different people)
        assert {
            "li-na",
            "zhang-lei",
            "zhang-wei",
            "wang-xiaole",
            "tian-yiming",
            "guo-xinxin",
            "wang-tietong",
            "liu-yang",
            "li-qiang",
            "liu-min",
            "chen-gang",
            "ma-jun",
        } <= set(accounts)
        first = sign_in(base, "wang-tietong", accounts["wang-tietong"])
        assert first.json()["rule"] == "password.change_required"
        changed = httpx.post(
            f"{base}/v1/auth/password/change",
            json={
                "username": "wang-tietong",
                "password": accounts["wang-tietong"],
                "new_password": "Mein-Neues-26",
            },
            timeout=30,
        )
        assert changed.status_code == 200, changed.text
        handler = {"Authorization": f"Bearer {changed.json()['access_token']}"}
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
        deadline = time.monotonic() + 20
        while len(httpx.get(f"{base}/v1/requests", headers=handler).json().get("items", [])) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        created = httpx.post(f"{base}/v1/requests", headers=handler, json=registration()).json()
        assert created["number"].endswith("〕4号")  # after the three demo requests
    finally:
        stop(proc)

    proc, _ = start(var, port, tmp_path / "second.log")
    try:
        second = (tmp_path / "second.log").read_text()
        assert "demo requests registered" not in second and "accounts opened" not in second
        # the changed password holds across the restart; the old token still works too
        again = sign_in(base, "wang-tietong", "Mein-Neues-26")
        assert again.status_code == 200, again.text
        deadline = time.monotonic() + 20
        while len(items := httpx.get(f"{base}/v1/requests", headers=handler).json()["items"]) < 4:
            assert time.monotonic() < deadline, items
            time.sleep(0.1)
        assert created["request_id"] in {i["request_id"] for i in items}
        later = httpx.post(f"{base}/v1/requests", headers=handler, json=registration()).json()
        assert later["number"].endswith("〕5号")
    finally:
        stop(proc)
