"""Failed-authentication limiter, per client address, so tokens cannot be guessed at speed.

It lives in process memory: each replica limits on its own, which bounds guessing at
replicas x limit per window; a token's 256 bits make that irrelevant, the limiter is against noise.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from hub.errors import TooManyRequests


class FailureLimiter:
    def __init__(self, max_failures: int = 20, window_s: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def fail(self, address: str) -> None:
        """Count a failed sign-in; raise TooManyRequests once `address` has failed too often recently.

        Successes are never checked: a valid token works even from an address that is being limited."""
        with self._lock:
            recent = self._recent(address)
            recent.append(time.monotonic())
            if len(self._failures) > 10_000:  # bound memory under a spray from many addresses
                self._failures.pop(next(iter(self._failures)))
            if len(recent) > self.max_failures:
                wait = int(self.window_s - (time.monotonic() - recent[0])) + 1
                raise TooManyRequests(f"Too many failed sign-ins from {address}; retry in {wait} s.", retry_after=wait)

    def _recent(self, address: str) -> deque[float]:
        window = self._failures.setdefault(address, deque())
        while window and time.monotonic() - window[0] > self.window_s:
            window.popleft()
        return window
