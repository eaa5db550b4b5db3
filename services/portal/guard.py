"""Flood protection of the portal's public form posts (issue #18, decision 112).

Every POST of a public form passes `Guard.admit` before anything else is done:
1. a sliding window per visitor address and form (shared/floodgate.py; the address behind
   the configured trusted proxies only) → 429 with Retry-After and a Chinese page;
2. a body size limit (32 KiB; a 留言 is at most 5000 characters) → 413;
3. the same-origin check (a POST naming another site in `Origin`) → 403;
4. for 留言, 网上申请 and 订阅: a form token issued with the GET (HMAC-signed, expiring after
   two hours, used once) carrying a small sum in Chinese words (“3 加 5 等于几？”) that the
   visitor answers. No third party, no JavaScript, no image: a screen reader reads it, an
   older citizen can do it; the answer is accepted in Arabic, full-width or Chinese numerals.
A refused post reaches no other service, so it writes no event.

The windows and the used tokens live in this process's memory (a replica counts its own
visitors; a token could be used once per replica).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from shared.floodgate import BodyTooLarge, Network, SlidingWindow, client_address, read_body

#: Form posts per address within WINDOW seconds, per form.
LIMITS: dict[str, int] = {
    "message": 10,
    "apply": 10,
    "subscribe": 10,
    "rate": 60,
    "track": 30,
    "confirm": 30,
}
WINDOW = 600.0
MAX_BODY = 32 * 1024
TOKEN_TTL = 2 * 3600
#: Forms that carry a token and a question (rating buttons sit on cached public pages).
CHALLENGED = frozenset({"message", "apply", "subscribe"})

DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """0–99 in Chinese numerals (十三, 二十)."""
    if n < 10:
        return DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else DIGITS[tens]) + "十" + (DIGITS[ones] if ones else "")


def parse_answer(text: str) -> int | None:
    """“8”, “８”, “八”, “十三”, “ 13 ” → the number; anything else → None."""
    s = unicodedata.normalize("NFKC", text).strip().replace(" ", "")
    if s.isdigit() and len(s) <= 3:
        return int(s)
    for n in range(100):
        if cn_number(n) == s:
            return n
    return None


@dataclass(frozen=True)
class Challenge:
    token: str
    question: str


@dataclass
class Admitted:
    """A post that passed the gate: its form fields and the visitor's address; `challenge`
    is the reason the token or answer was refused (the form is shown again), or ''."""

    form: dict[str, str]
    pairs: list[tuple[str, str]]
    address: str
    challenge: str = ""


@dataclass
class Refused:
    status: int
    reason: str
    retry_after: int | None = None


@dataclass
class Guard:
    secret: bytes
    trusted: tuple[Network, ...] = ()
    limits: dict[str, int] = field(default_factory=lambda: dict(LIMITS))
    window: float = WINDOW
    clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    _windows: dict[str, SlidingWindow] = field(default_factory=dict, repr=False)
    _used: dict[str, float] = field(default_factory=dict, repr=False)

    @classmethod
    def for_suite(cls, token_secret: str, trusted: tuple[Network, ...]) -> Guard:
        key = hashlib.sha256(f"gongkai-portal-form|{token_secret}".encode()).digest()
        return cls(secret=key, trusted=trusted)

    def address(self, request: Any) -> str:
        peer = request.client.host if request.client else "unknown"
        return client_address(peer, request.headers.get("x-forwarded-for"), self.trusted)

    # -- the challenge ------------------------------------------------------------------
    def _mac(self, form: str, issued: int, nonce: str, a: int, b: int) -> str:
        text = f"{form}|{issued}|{nonce}|{a}|{b}".encode()
        return hmac.new(self.secret, text, hashlib.sha256).hexdigest()[:32]

    def challenge(self, form: str) -> Challenge:
        a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
        issued, nonce = int(self.clock()), secrets.token_hex(8)
        token = f"{issued}.{nonce}.{a}.{b}.{self._mac(form, issued, nonce, a, b)}"
        return Challenge(token=token, question=f"{cn_number(a)}加{cn_number(b)}等于几？")

    def check(self, form: str, token: str, answer: str) -> str:
        """'' when the token is good, unused and answered right (then it is used up);
        else the reason in the visitor's words."""
        try:
            issued_s, nonce, a_s, b_s, mac = token.split(".")
            issued, a, b = int(issued_s), int(a_s), int(b_s)
        except ValueError:
            return "页面已失效，请重新填写验证题后提交"
        if not hmac.compare_digest(mac, self._mac(form, issued, nonce, a, b)):
            return "页面已失效，请重新填写验证题后提交"
        now = self.clock()
        if not 0 <= now - issued <= TOKEN_TTL:
            return "页面打开时间过长（超过2小时），请重新回答验证题后提交"
        if nonce in self._used:
            return "这张表已经提交过，请重新回答验证题后提交"
        got = parse_answer(answer)
        if got is None:
            return "请回答验证题，填写一个数字"
        if got != a + b:
            return "验证题答案不对，请重新计算"
        self._used[nonce] = issued + TOKEN_TTL
        if len(self._used) > 10_000:
            self._used = {n: t for n, t in self._used.items() if t > now}
        return ""

    # -- the gate -----------------------------------------------------------------------
    async def admit(self, request: Any, form: str) -> Admitted | Refused:
        address = self.address(request)
        gate = self._windows.get(form)
        if gate is None:
            gate = self._windows[form] = SlidingWindow(self.limits[form], self.window)
        wait = gate.hit(address, self.monotonic())
        if wait is not None:
            return Refused(429, "提交过于频繁", int(wait) + 1)
        try:
            raw = await read_body(request.stream(), request.headers, MAX_BODY)
        except BodyTooLarge:
            return Refused(413, "提交的内容太长")
        if not same_origin(request.headers):
            return Refused(403, "提交来自其他网站，已拒绝")
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        fields = dict(pairs)
        admitted = Admitted(form=fields, pairs=pairs, address=address)
        if form in CHALLENGED:
            admitted.challenge = self.check(
                form, fields.get("form_token", ""), fields.get("answer", "")
            )
        return admitted


def same_origin(headers: Any) -> bool:
    """A POST from another site (its Origin names another host) is refused."""
    origin = headers.get("origin")
    if not origin:
        return True
    host = headers.get("host")
    return origin != "null" and bool(host) and origin.split("://", 1)[-1].rstrip("/") == host
