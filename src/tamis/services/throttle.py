"""Sign-in throttling beyond each account's own (services/reviewers.py): per client address, and
per username that has no account, so that guessing many names, or many passwords from one place,
slows down too. Kept in the database, so every API process sees the same counts.

After a run of failures a key waits THROTTLE_BASE_S, doubling with each further failure up to
THROTTLE_MAX_S. A successful sign-in from an address forgives that address only the failures under
the name that signed in (counted per address and name, hashed): someone who holds one account must
not be able to wipe the record of their guesses at other names by signing in between them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Sequence

from sqlalchemy import case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tamis.services.reviewers import THROTTLE_AFTER, THROTTLE_BASE_S, THROTTLE_MAX_S
from tamis.store.models import SignInThrottle

IP_AFTER = 20  # an address may be shared (an office behind NAT): more failures before it waits
NAME_AFTER = THROTTLE_AFTER  # a name without an account waits like an account would
FORGET_S = 86_400.0  # a run older than this is forgotten


def ip_key(host: str) -> str:
    """An IPv4 address, or the /64 of an IPv6 one (one subscriber's usual allocation)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"ip:{host[:64]}"
    if address.version == 6:
        return f"ip:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"ip:{address}"


def name_key(username: str) -> str:
    """A username without an account, hashed: a password typed into the name field is not kept."""
    return "name:" + hashlib.sha256(username.encode()).hexdigest()[:40]


def pair_key(address: str, username: str) -> str:
    """The failures of one name from one address (an `ip_key`), hashed like `name_key`."""
    return "pair:" + hashlib.sha256(f"{address}\n{username}".encode()).hexdigest()[:40]


def wait_s(session: Session, keys: Sequence[str], now: float | None = None) -> float:
    """How long the longest-throttled of these keys must still wait (0: none)."""
    now = time.time() if now is None else now
    until = session.scalars(select(SignInThrottle.throttled_until).where(SignInThrottle.key.in_(list(keys)))).all()
    return max([u - now for u in until] + [0.0])


def failed(session: Session, key: str, after: int, now: float | None = None) -> bool:
    """Count a failure for the key; True when this failure starts (or lengthens) a wait."""
    now = time.time() if now is None else now
    row = _counted(session, key, now)
    if row.failures < after:
        return False
    row.throttled_until = now + min(THROTTLE_MAX_S, THROTTLE_BASE_S * 2 ** (row.failures - after))
    return True


def failed_from(session: Session, address: str, username: str, now: float | None = None) -> bool:
    """Count a failure for the address, and for the name from that address (forgiven only when that
    name signs in from there: `succeeded`); True when this failure starts a wait for the address."""
    now = time.time() if now is None else now
    _counted(session, pair_key(address, username), now)
    return failed(session, address, IP_AFTER, now)


def _counted(session: Session, key: str, now: float) -> SignInThrottle:
    """The key's row, with one more failure counted."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.updated_s < now - FORGET_S))
    row = session.get(SignInThrottle, key)
    if row is None:
        try:
            with session.begin_nested():  # another process may insert the same key at the same moment
                row = SignInThrottle(key=key, failures=0, throttled_until=0.0, updated_s=now)
                session.add(row)
        except IntegrityError:
            row = session.get(SignInThrottle, key, populate_existing=True)
            assert row is not None
    row.failures += 1
    row.updated_s = now
    return row


def succeeded(session: Session, address: str, username: str) -> None:
    """`username` signed in from `address`: forgive the address that name's failures, no others'."""
    pair = session.get(SignInThrottle, pair_key(address, username))
    if pair is None:
        return
    n = pair.failures
    # One UPDATE: failures counted meanwhile by another process are kept.
    session.execute(update(SignInThrottle).where(SignInThrottle.key == address)
                    .values(failures=case((SignInThrottle.failures > n, SignInThrottle.failures - n), else_=0))
                    .execution_options(synchronize_session=False))
    session.execute(update(SignInThrottle).where(SignInThrottle.key == address, SignInThrottle.failures < IP_AFTER)
                    .values(throttled_until=0.0).execution_options(synchronize_session=False))
    session.delete(pair)
