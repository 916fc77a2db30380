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

    def check(self, address: str) -> None:
        """Raise TooManyRequests while `address` has too many recent failures."""
        with self._lock:
            recent = self._recent(address)
            if len(recent) >= self.max_failures:
                wait = int(self.window_s - (time.monotonic() - recent[0])) + 1
                raise TooManyRequests(f"Too many failed sign-ins from {address}; retry in {wait} s.", retry_after=wait)

    def record_failure(self, address: str) -> None:
        with self._lock:
            self._recent(address).append(time.monotonic())
            if len(self._failures) > 10_000:  # bound memory under a spray from many addresses
                self._failures.pop(next(iter(self._failures)))

    def _recent(self, address: str) -> deque[float]:
        window = self._failures.setdefault(address, deque())
        while window and time.monotonic() - window[0] > self.window_s:
            window.popleft()
        return window
