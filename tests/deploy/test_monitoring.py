"""The alert rules and the dashboard an operator is given (deploy/monitoring/) hold.

Run with Debian's promtool (package `prometheus`, installed by deploy/promtool.sh): the
rules load, each alert fires on its failure and not on a healthy series (their unit tests,
alerts-test.yml), every dashboard query parses, every gongkai metric the rules and the
dashboard name is one the app serves on /metrics, and every runbook link lands on a
section of docs/operations.md. Without promtool the promtool tests are skipped locally
and FAIL with CI=true.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from gongkai.app import create_app
from shared.settings import Settings
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
ALERTS = MONITORING / "alerts.yml"
DASHBOARD = MONITORING / "dashboard.json"
OPERATIONS = ROOT / "docs" / "operations.md"
METRIC = re.compile(r"\bgongkai_[a-z_]+\b")


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    message = "promtool not available (install it with `bash deploy/promtool.sh`)"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def run(*args: str, cwd: Path = MONITORING) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in board["panels"] for target in panel["targets"]]


def test_the_alert_rules_load_and_each_fires_on_its_failure_only() -> None:
    tool = promtool()
    assert f"SUCCESS: {len(alert_rules())} rules found" in run(tool, "check", "rules", ALERTS.name)
    assert "SUCCESS" in run(tool, "test", "rules", "alerts-test.yml")


def test_every_dashboard_query_parses(tmp_path: Path) -> None:
    tool = promtool()
    rules = [
        {"record": f"gongkai:dashboard_query_{i}", "expr": expr.replace("$job", ".*")}
        for i, expr in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in run(tool, "check", "rules", str(path))


def test_every_metric_they_name_is_served_by_the_app(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", token_secret="m" * 48, log_level="warning")
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        exposition = client.get("/metrics").text
    served: set[str] = set()
    for family in text_string_to_metric_families(exposition):
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
        served |= {family.name, *(family.name + s for s in suffixes.get(family.type, ()))}
    named = set(METRIC.findall(ALERTS.read_text(encoding="utf-8")))
    for expr in dashboard_queries():
        named |= set(METRIC.findall(expr))
    assert named, "the rules name no gongkai metric"
    assert named <= served, f"named but not served: {sorted(named - served)}"


def test_every_alert_says_what_happened_in_chinese_and_links_its_runbook() -> None:
    headings = {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in OPERATIONS.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in alert_rules():
        notes = rule["annotations"]
        assert re.search(r"[\u4e00-\u9fff]", notes["summary"]), rule["alert"]
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        page, _, anchor = notes["runbook"].partition("#")
        assert page == "docs/operations.md" and anchor in headings, (rule["alert"], anchor)
