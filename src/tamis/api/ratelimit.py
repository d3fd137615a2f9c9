"""Rate limits per API key: a token bucket for requests and one for items judged, 429 past them.

Every authenticated request takes a token from its key's request bucket; `/v1/moderate`,
`/v1/moderations` and `/v1/videos` also take one per item (text, image or video) before any media
is fetched or any analyzer runs. A bucket holds up to its burst and refills at its rate, so a key
may send `burst` at once and `rate` per second on average. Past that, the answer is a 429 problem
with `Retry-After`: the whole seconds until the request would be accepted.

Limits come from TAMIS_RATE_LIMIT_* and may be overridden per project (`tamis limits`, stored in
the database, read again every OVERRIDE_TTL_S). A rate of 0 means no limit.

The buckets live in each process's memory, deliberately: a shared counter would cost a database
write per request and serialise a busy key's requests on one row. The bound this gives: with N API
processes, a key can get up to N times its limits (about N times behind a round-robin balancer);
set the limits per process accordingly. A restart refills the buckets.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from fastapi import Request
from prometheus_client import Counter

from tamis.config import get_settings
from tamis.errors import ProblemError
from tamis.store import queries
from tamis.store.db import transaction

LIMITED = Counter("tamis_rate_limited_total", "Requests refused by a key's rate limit, by bucket.", ["bucket"])
OVERRIDE_TTL_S = 10.0
LIMITS = queries.LIMIT_NAMES


@dataclass(frozen=True)
class Limits:
    requests_per_s: float
    requests_burst: float
    items_per_s: float
    items_burst: float


@dataclass
class Bucket:
    """Tokens refill at `rate` per second up to `burst`."""

    tokens: float = math.inf
    stamp: float = field(default_factory=time.monotonic)

    def take(self, n: float, rate: float, burst: float, now: float) -> float:
        """Take n tokens: 0 when granted, else the seconds until they would be.

        A request larger than the burst goes through once the bucket is full and leaves it in debt,
        so a limit below the largest request still lets it through, at the average rate."""
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        need = min(n, burst)
        if self.tokens >= need:
            self.tokens -= n
            return 0.0
        return (need - self.tokens) / rate


class Limiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], Bucket] = {}  # (key hash, "requests" | "items")
        self._overrides: dict[str, tuple[dict[str, float], float]] = {}  # project -> (override, read at)

    def limits(self, project: str) -> Limits:
        settings = get_settings()
        base = {name: float(getattr(settings, f"rate_limit_{name}")) for name in LIMITS}
        return Limits(**{**base, **self._override(project)})

    def charge(self, key: str, project: str, kind: str, n: int) -> None:
        """Take n tokens of `kind` ("requests" or "items") for the key, or raise a 429 problem."""
        limits = self.limits(project)
        rate, burst = getattr(limits, f"{kind}_per_s"), getattr(limits, f"{kind}_burst")
        if rate <= 0:
            return
        with self._lock:
            bucket = self._buckets.setdefault((key, kind), Bucket())
            wait = bucket.take(n, rate, burst, time.monotonic())
        if wait > 0:
            LIMITED.labels(kind).inc()
            raise too_many(kind, n, rate, burst, wait)

    def _override(self, project: str) -> dict[str, float]:
        hit = self._overrides.get(project)
        if hit and time.monotonic() - hit[1] < OVERRIDE_TTL_S:
            return hit[0]
        with transaction() as session:
            override = queries.own_limits(session, project)
        self._overrides[project] = (override, time.monotonic())
        return override


def too_many(kind: str, n: int, rate: float, burst: float, wait: float) -> ProblemError:
    retry_after = max(1, math.ceil(wait))
    what = "requests" if kind == "requests" else f"items (this request has {n})"
    return ProblemError(
        429,
        "Too many requests",
        f"this API key is limited to {rate:g} {kind} per second (bursts of {burst:g}); "
        f"too many {what}: retry in {retry_after} s",
        kind="rate-limited",
        extra={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


limiter = Limiter()


def charge_request(request: Request, key: str, project: str) -> None:
    """One request for this key (called by authentication); remembers the key for charge_items."""
    request.state.rate_limit = (key, project)
    limiter.charge(key, project, "requests", 1)


def charge_items(request: Request, n: int) -> None:
    """n items judged by this request, before any work is done on them."""
    key, project = request.state.rate_limit
    limiter.charge(key, project, "items", n)
