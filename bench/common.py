"""What every bench of issue #10 shares: the machine header, percentiles, the URLs.

Benches print the machine they ran on (CPU, cores, memory, load, versions) and measure
their peer or limit in the same run; this module gives them one header and one way to
find PostgreSQL and Kafka (flag, then GONGKAI_BENCH_*, then GONGKAI_TEST_*).
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory() -> str:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def load() -> str:
    with contextlib.suppress(OSError):
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return "unknown"


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def database_url(flag: str | None) -> str | None:
    return (
        flag
        or os.environ.get("GONGKAI_BENCH_DATABASE_URL")
        or os.environ.get("GONGKAI_TEST_DATABASE_URL")
    )


def kafka_bootstrap(flag: str | None) -> str | None:
    return (
        flag
        or os.environ.get("GONGKAI_BENCH_KAFKA_BOOTSTRAP")
        or os.environ.get("GONGKAI_TEST_KAFKA_BOOTSTRAP")
    )


async def machine(url: str | None, packages: Sequence[str] = ()) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory": memory(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {p: version(p) for p in ("asyncpg", "aiokafka", *packages)},
        "load_start": load(),
    }
    if url:
        conn = await asyncpg.connect(url)
        try:
            info["postgres"] = await conn.fetchval("SELECT version()")
            info["postgres_fsync"] = await conn.fetchval("SHOW fsync")
            info["postgres_synchronous_commit"] = await conn.fetchval("SHOW synchronous_commit")
        finally:
            await conn.close()
    return info


def print_machine(info: dict[str, Any], extra: dict[str, str] | None = None) -> None:
    print(f"date        {info['date']}")
    print(f"cpu         {info['cpu']} — {info['cores']} cores, {info['memory']} memory")
    print(f"os          {info['os']}")
    packages = ", ".join(f"{k} {v}" for k, v in info["packages"].items())
    print(f"python      {info['python']}; {packages}")
    if info.get("postgres"):
        print(
            f"postgres    {info['postgres'].split(' on ')[0]}; fsync={info['postgres_fsync']}, "
            f"synchronous_commit={info['postgres_synchronous_commit']}"
        )
    for key, value in (extra or {}).items():
        print(f"{key:<11} {value}")
    print(f"load avg    {info['load_start']} at start (1/5/15 min)")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), nearest-rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now (for a server the bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(probe: Callable[[], Any], timeout: float, what: str, poll: float = 0.2) -> float:
    """Seconds until `probe()` is truthy (a refused connection counts as not yet)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            if probe():
                return time.monotonic() - t0
        except httpx.HTTPError:
            pass
        time.sleep(poll)
    raise RuntimeError(f"{what}: not after {timeout}s")


_TICK = os.sysconf("SC_CLK_TCK")


def _group(pid: str, me: int) -> str:
    """Who a process is, for CPU accounts: a suite process by role and service, the
    database, the broker, this bench, or the rest of the machine."""
    if int(pid) == me:
        return "bench (load generator)"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    words = [a.decode(errors="replace") for a in argv if a]
    if not words:
        return "other"
    base = Path(words[0]).name
    if base == "gongkai" or (len(words) > 1 and Path(words[1]).name == "gongkai"):
        rest = words[1:] if base == "gongkai" else words[2:]
        return " ".join(rest[:2]) if rest else "gongkai"
    if base.startswith("postgres"):
        return "postgres"
    if base == "java":
        joined = " ".join(words)
        return "kafka" if "kafka" in joined else "keycloak" if "keycloak" in joined else "java"
    return "other"


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) of every process on the machine now, by `_group`: read
    before and after a step, the difference is what each part of the system spent on it."""
    me = os.getpid()
    totals: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        group = _group(entry, me)
        totals[group] = totals.get(group, 0.0) + used
    return totals


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each group spent between two `cpu_seconds()` readings (processes that
    exited in between are lost; new ones count whole)."""
    spent = {g: after.get(g, 0.0) - before.get(g, 0.0) for g in after}
    return {g: s for g, s in sorted(spent.items(), key=lambda kv: -kv[1]) if s > 0.005}
