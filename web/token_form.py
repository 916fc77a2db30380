"""The tokens page's form fields that need more than a string: the expiry, in days."""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.errors import InvalidRequest
from hub.timeutil import utcnow

MAX_DAYS = 3650  # ten years; "never" is a blank field


def expiry_from_days(text: str) -> datetime | None:
    """Blank: the token never expires; else a whole number of days from now, 1 to MAX_DAYS."""
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise InvalidRequest(
            f"Expires after {text[:20]!r} days: give a whole number from 1 to {MAX_DAYS}, or leave it blank."
        )
    return utcnow() + timedelta(days=int(text))
