"""Flood limits for public form posts: a sliding window per address, the client's address
behind trusted proxies, and a size-limited body read (issue #18, decision 112).

The windows live in the memory of one process: a district runs one or two portal
replicas, so a flooder gets at most the limit times the replicas; nothing is shared and
nothing is written (a refused post must not touch the event log or a table).
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: How many addresses a window remembers; the least recently seen are forgotten first.
MAX_KEYS = 100_000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class SlidingWindow:
    """At most `limit` hits per key within any `window` seconds (a log of hit times)."""

    limit: int
    window: float
    max_keys: int = MAX_KEYS
    _hits: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict, repr=False)

    def hit(self, key: str, now: float) -> float | None:
        """Count one hit; None if allowed, else the seconds until the next one would be."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1.0, hits[0] + self.window - now)
        hits.append(now)
        return None


def networks(spec: str | Iterable[str]) -> tuple[Network, ...]:
    """`"127.0.0.1, 10.0.0.0/8"` → networks (a bare address is a /32 or /128)."""
    items = spec.split(",") if isinstance(spec, str) else spec
    return tuple(ipaddress.ip_network(s.strip(), strict=False) for s in items if s.strip())


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The visitor's address: the peer, unless the peer is a trusted proxy; then the
    right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its
    left were written by the client and prove nothing)."""
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:100]
    return hops[0][:100] if hops else peer


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Any, headers: Any, limit: int) -> bytes:
    """The request body, refused (BodyTooLarge) past `limit` bytes: by its Content-Length
    before anything is read, or while reading when the client sends more than it said."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in receive:
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)
