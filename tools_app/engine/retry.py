"""When and how long to wait before trying a failed call again.

Only transient failures are retried (timeouts, connection errors, HTTP 429 and 5xx, i.e. a
`ToolFailure` marked retryable), and only as often as the tool's `retries` allows. Delays grow
exponentially from a small, configurable base, with jitter so that retries of a fan-out do not
stampede in lockstep; an upstream's ``Retry-After`` is honoured when it is small.

This module must not import Django.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    base_delay_s: float = 0.2
    factor: float = 2.0
    max_delay_s: float = 10.0
    jitter: float = 0.5
    """The fraction of each delay that is random: 0 → fixed delays, 1 → "full jitter"."""
    max_retry_after_s: float = 30.0
    """An upstream asking for a longer pause than this is not retried at all."""
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.factor < 1:
            raise ValueError("retry delays must be >= 0 and the factor >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, retry_number: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry number `retry_number` (1-based); None means give up."""
        if retry_after is not None and retry_after > self.max_retry_after_s:
            return None
        exponent = min(retry_number - 1, 64)
        ceiling = min(self.max_delay_s, self.base_delay_s * self.factor**exponent)
        delay = ceiling * (1 - self.jitter) + self.rng.random() * ceiling * self.jitter
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay
