"""When to retry a failed HTTP teacher call, and how long to wait first.

Exponential backoff with jitter spreads the retries of many requests in flight, so a rate-limited
server is not hit by all of them at the same instant; a server's Retry-After is honoured as a
lower bound, capped so one bad header cannot stall a pass for hours.
"""

from __future__ import annotations

import email.utils
import random
import time

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# The whole pass is pointless with these: a wrong key, no access, a wrong URL or model name.
FATAL_STATUS = frozenset({401, 403, 404})


def backoff_delay(retry: int, base_s: float, max_s: float, retry_after_s: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `retry` (1 = first retry).

    "Equal jitter": half of the exponential step is fixed, half random. A Retry-After raises the
    delay to at least what the server asked for (up to `max_s`).
    """
    rng = rng or random
    step = min(max_s, base_s * (2 ** (retry - 1)))
    delay = step / 2 + rng.uniform(0, step / 2)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max_s))
    return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
