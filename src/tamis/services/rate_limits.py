"""Rate limits kept in the database, so that every API process counts the same requests: the public
report form's, per project and client address (web/dsa.py). Stored in the sign-in throttles' table
(services/throttle.py) under keys of their own (`form:`), forgotten like theirs after a day.

The limit is GCRA, the token bucket written as one timestamp: each request moves the key's
"theoretical arrival time" (TAT) one interval (1 / rate) later; a request is refused while the TAT
is more than (burst - 1) intervals ahead of now. One conditional UPDATE takes a request, so two
processes taking the last one at the same moment cannot both have it.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy import case, literal, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tamis.store.models import SignInThrottle


def key_of(scope: str, *parts: str) -> str:
    """A key that fits the table (80 characters) and keeps no address in clear."""
    return f"{scope}:" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


def _take(session: Session, key: str, now: float, interval: float, tolerance: float) -> bool:
    tat = SignInThrottle.throttled_until
    taken = session.execute(
        update(SignInThrottle).where(SignInThrottle.key == key, tat <= now + tolerance)
        .values(throttled_until=case((tat > now, tat), else_=literal(now)) + interval, updated_s=now,
                failures=SignInThrottle.failures + 1)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def take(session: Session, key: str, *, per_s: float, burst: float, now: float | None = None) -> bool:
    """Whether the key may make one more request now (and count it), in the caller's transaction."""
    now = time.time() if now is None else now
    interval = 1.0 / per_s
    tolerance = (burst - 1) * interval
    if _take(session, key, now, interval, tolerance):
        return True
    if session.get(SignInThrottle, key) is not None:
        return False
    try:
        with session.begin_nested():  # another process may insert the same key at the same moment
            session.add(SignInThrottle(key=key, failures=1, throttled_until=now + interval, updated_s=now))
        return True
    except IntegrityError:
        return _take(session, key, now, interval, tolerance)
