"""Reviewers, their roles per project, sign-in (argon2, throttled) and browser sessions.

Passwords are kept as argon2id hashes (argon2-cffi's defaults). A session's token is 256 random
bits given to the browser once; only its SHA-256 is stored, so a database dump signs nobody in.
Each sign-in makes a new session (no token set before sign-in is ever trusted: no fixation).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tamis.store import queries
from tamis.store.models import Membership, Reviewer, ReviewSession

ROLES = ("reviewer", "moderator", "admin")  # each may do what the ones before it may
USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 12
SESSION_S = 12 * 3600
# Throttling: after THROTTLE_AFTER failures in a row, each further try waits twice as long as the last.
THROTTLE_AFTER = 5
THROTTLE_BASE_S = 30.0
THROTTLE_MAX_S = 900.0

_hasher = PasswordHasher()
# Verified when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class ReviewerError(ValueError):
    """A refused change (bad name, short password, unknown user), said in words for the caller."""


@dataclass(frozen=True)
class SignedIn:
    """Who a browser session belongs to."""

    reviewer_id: str
    username: str
    csrf: str


def rank(role: str | None) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


def at_least(role: str | None, needed: str) -> bool:
    return rank(role) >= rank(needed)


# --- accounts --------------------------------------------------------------------------------------


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ReviewerError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise ReviewerError("a password has at most 1024 characters")


def add(session: Session, username: str, password: str) -> Reviewer:
    if not USERNAME.match(username):
        raise ReviewerError("a username is 1-64 of a-z 0-9 _ . @ - (lower case), starting with a letter or digit")
    if by_name(session, username) is not None:
        raise ReviewerError(f"user {username!r} exists")
    _check_password(password)
    reviewer = Reviewer(username=username, password_hash=_hasher.hash(password))
    session.add(reviewer)
    session.flush()
    return reviewer


def by_name(session: Session, username: str) -> Reviewer | None:
    """The reviewer of that name; None for a name no account can have (never sent to the database:
    PostgreSQL refuses NUL in text)."""
    if not USERNAME.match(username):
        return None
    return session.scalar(select(Reviewer).where(Reviewer.username == username))


def _existing(session: Session, username: str) -> Reviewer:
    reviewer = by_name(session, username)
    if reviewer is None:
        raise ReviewerError(f"no user {username!r}")
    return reviewer


def all_reviewers(session: Session) -> Sequence[Reviewer]:
    return session.scalars(select(Reviewer).order_by(Reviewer.username)).all()


def set_disabled(session: Session, username: str, disabled: bool = True) -> Reviewer:
    """A disabled reviewer cannot sign in, and their open sessions end now."""
    reviewer = _existing(session, username)
    reviewer.disabled = disabled
    if disabled:
        session.execute(delete(ReviewSession).where(ReviewSession.reviewer_id == reviewer.id))
    return reviewer


def reset_password(session: Session, username: str, password: str) -> Reviewer:
    """A new password; every session of the reviewer ends, and throttling starts over."""
    reviewer = _existing(session, username)
    _check_password(password)
    reviewer.password_hash = _hasher.hash(password)
    reviewer.failed_logins, reviewer.throttled_until = 0, 0.0
    session.execute(delete(ReviewSession).where(ReviewSession.reviewer_id == reviewer.id))
    return reviewer


def grant(session: Session, username: str, project_id: str, role: str) -> Membership:
    if role not in ROLES:
        raise ReviewerError(f"role must be one of {', '.join(ROLES)}")
    reviewer = _existing(session, username)
    queries.ensure_project(session, project_id)
    membership = session.scalar(
        select(Membership).where(Membership.reviewer_id == reviewer.id, Membership.project_id == project_id)
    )
    if membership is None:
        membership = Membership(reviewer_id=reviewer.id, project_id=project_id, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def revoke(session: Session, username: str, project_id: str) -> bool:
    reviewer = _existing(session, username)
    gone = session.execute(
        delete(Membership).where(Membership.reviewer_id == reviewer.id, Membership.project_id == project_id)
    )
    return bool(gone.rowcount)


def role_in(session: Session, reviewer_id: str, project_id: str) -> str | None:
    if "\x00" in project_id or len(project_id) > 64:  # no project has such a name (and PostgreSQL refuses NUL)
        return None
    return session.scalar(
        select(Membership.role).where(Membership.reviewer_id == reviewer_id, Membership.project_id == project_id)
    )


def memberships(session: Session, reviewer_id: str) -> list[tuple[str, str]]:
    """(project, role) of a reviewer, by project."""
    rows = session.execute(
        select(Membership.project_id, Membership.role).where(Membership.reviewer_id == reviewer_id).order_by(Membership.project_id)
    )
    return [(project, role) for project, role in rows]


def members(session: Session, project_id: str) -> list[tuple[str, str, bool]]:
    """(username, role, disabled) of a project's reviewers."""
    rows = session.execute(
        select(Reviewer.username, Membership.role, Reviewer.disabled)
        .join(Membership, Membership.reviewer_id == Reviewer.id)
        .where(Membership.project_id == project_id)
        .order_by(Reviewer.username)
    )
    return [(name, role, disabled) for name, role, disabled in rows]


# --- sign-in -----------------------------------------------------------------------------------------


class Throttled(Exception):
    def __init__(self, wait_s: float) -> None:
        super().__init__(f"too many failed sign-ins: try again in {wait_s:.0f} s")
        self.wait_s = wait_s


def authenticate(session: Session, username: str, password: str, *, now: float | None = None) -> Reviewer | None:
    """The reviewer if the password is theirs and they may sign in; None otherwise (the caller says
    nothing more: which of name or password was wrong is not told). Raises Throttled while a run of
    failures is being slowed down; a throttled try does not check the password at all."""
    now = time.time() if now is None else now
    reviewer = by_name(session, username) if len(username) <= 64 else None
    if reviewer is not None and reviewer.throttled_until > now:
        raise Throttled(reviewer.throttled_until - now)
    try:
        _hasher.verify(reviewer.password_hash if reviewer else _DUMMY_HASH, password[:1024])
        ok = reviewer is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if reviewer is None:
        return None
    if not ok:
        reviewer.failed_logins += 1
        if reviewer.failed_logins >= THROTTLE_AFTER:
            delay = min(THROTTLE_MAX_S, THROTTLE_BASE_S * 2 ** (reviewer.failed_logins - THROTTLE_AFTER))
            reviewer.throttled_until = now + delay
        return None
    reviewer.failed_logins, reviewer.throttled_until = 0, 0.0
    if _hasher.check_needs_rehash(reviewer.password_hash):
        reviewer.password_hash = _hasher.hash(password)
    return None if reviewer.disabled else reviewer


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, reviewer: Reviewer, *, now: float | None = None) -> str:
    """A new session for the reviewer; the token (for the cookie) is returned once."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    session.add(
        ReviewSession(token_hash=_token_hash(token), reviewer_id=reviewer.id, csrf_secret=secrets.token_urlsafe(32),
                      expires_at=now + SESSION_S)
    )
    # Old sessions of anyone are swept here, so the table does not grow without bound.
    session.execute(delete(ReviewSession).where(ReviewSession.expires_at < now))
    return token


def signed_in(session: Session, token: str, *, now: float | None = None) -> SignedIn | None:
    if not token or len(token) > 100:
        return None
    now = time.time() if now is None else now
    row = session.execute(
        select(ReviewSession, Reviewer)
        .join(Reviewer, Reviewer.id == ReviewSession.reviewer_id)
        .where(ReviewSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    browser, reviewer = row
    if browser.expires_at < now or reviewer.disabled:
        return None
    return SignedIn(reviewer.id, reviewer.username, browser.csrf_secret)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(ReviewSession).where(ReviewSession.token_hash == _token_hash(token)))
