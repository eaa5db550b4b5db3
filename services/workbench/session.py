"""The Origin check of the workbench's form posts (CSRF, with the session-bound form token of
websessions.py): a POST whose Origin names another site is refused before anything is sent
to an API."""

from __future__ import annotations


def same_origin(origin: str | None, host: str | None) -> bool:
    """A POST from another site (its Origin names another host) is refused; browsers send
    Origin on every form POST, a missing one (old browsers) relies on the token alone."""
    if not origin:
        return True
    if origin == "null" or not host:
        return False
    return origin.split("://", 1)[-1].rstrip("/") == host
