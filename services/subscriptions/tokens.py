"""Signed tokens in the confirmation and unsubscribe links, and the keys that stand for an
address or a visitor without being one.

A link token is `<subscription id>.<purpose>.<signature>`, the signature an HMAC-SHA256 of
the purpose and the id under the suite's token secret (base64url, 128 bits): it proves the
link came from us and names one subscription for one purpose. It carries no address and no
expiry of its own: the confirmation's expiry is the subscription's `confirm_by` (domain), and
an unsubscribe link must work for as long as mails carrying it exist (RFC 8058 §3.1 asks for
a link that keeps working).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
PURPOSES = (CONFIRM, UNSUBSCRIBE)


def _mac(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, purpose: str, subscription_id: UUID) -> str:
    signature = _mac(secret, f"subscriptions:{purpose}:{subscription_id}")
    return f"{subscription_id.hex}.{purpose}.{signature}"


def verify(secret: str, purpose: str, token: str) -> UUID | None:
    """The subscription the token names, or None for a forged, altered or wrong-purpose one."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[1] != purpose:
        return None
    try:
        subscription_id = UUID(hex=parts[0])
    except ValueError:
        return None
    good = _mac(secret, f"subscriptions:{purpose}:{subscription_id}")
    return subscription_id if hmac.compare_digest(good, parts[2]) else None


def email_key(secret: str, email: str) -> str:
    """A stable key of an address for look-ups (one pending request per address)."""
    return _mac(secret, f"subscriptions:email:{email.lower()}")


def mask(email: str) -> str:
    """z***@example.com: what staff lists and logs may show."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
