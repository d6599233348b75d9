"""CircuitBreaker: stop calling a provider that keeps failing, and probe it again later."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Counts a provider's consecutive failures and decides whether to try it.

    Closed: every call goes through. Open (after `threshold` consecutive failures): calls
    are refused until `cooldown` seconds have passed; then one call is let through as a
    probe (half-open) and the rest are still refused until the probe's verdict. All state
    changes happen under one lock, so threads and tasks may share a breaker.
    """

    def __init__(self, threshold: int = 3, cooldown: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
            raise ValueError(f"circuit_breaker_threshold must be an int >= 1, got {threshold!r}")
        if not isinstance(cooldown, (int, float)) or cooldown < 0:
            raise ValueError(f"circuit_breaker_cooldown must be >= 0 seconds, got {cooldown!r}")
        self.threshold = threshold
        self.cooldown = float(cooldown)
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half_open" if self._probing else "open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def seconds_until_probe(self) -> float:
        """How long until an open circuit lets a probe through (0 when it would now)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.cooldown - self._clock())

    def try_acquire(self) -> bool:
        """May a call go to the provider now? True when closed, or when this call becomes
        the one probe of an open circuit whose cooldown has passed. A True answer must be
        followed by exactly one of `record_success`, `record_failure` or `release`."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing or self._clock() < self._opened_at + self.cooldown:
                return False
            self._probing = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._probing = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.threshold:
                # A failed probe opens the circuit again for a whole cooldown.
                self._opened_at = self._clock()
            self._probing = False

    def release(self) -> None:
        """The call ended without a verdict on the provider's health (cancelled, or an
        error that was the request's fault): free the probe slot, change nothing else."""
        with self._lock:
            self._probing = False

    def reset(self) -> None:
        self.record_success()

    def __repr__(self) -> str:
        return (f"CircuitBreaker(state={self.state!r}, failures={self._failures}, "
                f"threshold={self.threshold}, cooldown={self.cooldown})")
