"""Tables. Decisions and their items are append-only records: never updated, only followed."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from tamis.schema import new_id  # noqa: F401  (ids of every row kind; callers import it from here too)

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings; the key itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProjectLimits(Base):
    """A project's own rate limits (`tamis limits`); a column left NULL keeps the TAMIS_RATE_LIMIT_* default."""

    __tablename__ = "project_limits"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    requests_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests_burst: Mapped[float | None] = mapped_column(Float, nullable=True)
    items_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    items_burst: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PolicyVersion(Base):
    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("project_id", "policy_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    policy_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))  # api, openai, cli, scan
    doc: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the result document, as answered
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DecisionItem(Base):
    """One row per item of a decision, to find decisions by the platform's data_id and verdict."""

    __tablename__ = "decision_items"
    __table_args__ = (Index("ix_decision_items_project_data", "project_id", "data_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    data_id: Mapped[str] = mapped_column(String(256))
    verdict: Mapped[str] = mapped_column(String(8))
    # Sent by the platform, shown to reviewers, never a signal: tamis judges content, not people.
    author_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    context: Mapped[str | None] = mapped_column(Text, nullable=True)


class Webhook(Base):
    __tablename__ = "webhooks"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("wh"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))  # needed in clear to sign; shown once at creation
    verdicts: Mapped[list[str]] = mapped_column(JSONType, default=lambda: ["review", "block"])
    include_shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The webhook outbox: written in the decision's transaction, so a crash loses no delivery."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("dlv"))
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    body: Mapped[str] = mapped_column(Text)  # exact bytes signed and sent
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[float] = mapped_column(Float, default=time.time)  # epoch seconds
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- hash banks (issue #3) -----------------------------------------------------------------------


class Bank(Base):
    """A list of media hashes with a meaning (category, action); configuration, so it can change."""

    __tablename__ = "banks"
    # A deleted bank keeps its row (past decisions and entry events name it), so a name is unique
    # among the live banks of a project only (migration 0003).
    __table_args__ = (
        Index(
            "uq_banks_live_name",
            "project_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("bank"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)  # taxonomy name a match counts towards
    action: Mapped[str] = mapped_column(String(8), default="block")  # review | block
    negative: Mapped[bool] = mapped_column(Boolean, default=False)  # known-benign: suppresses matches
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)  # record what it would match, never act
    rollout: Mapped[float] = mapped_column(Float, default=1.0)  # share of traffic the bank applies to
    pdq_distance: Mapped[int] = mapped_column(Integer, default=31)  # match when Hamming distance <= this
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # tombstone


class BankEntry(Base):
    """One hash in a bank. Removal is a tombstone (deleted_at) so that indexes can follow."""

    __tablename__ = "bank_entries"
    __table_args__ = (Index("ix_bank_entries_lookup", "signal", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_id: Mapped[str] = mapped_column(ForeignKey("banks.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    signal: Mapped[str] = mapped_column(String(8))  # pdq | md5 | sha256 | vpdq
    value: Mapped[str] = mapped_column(Text)  # lowercase hex; for vpdq, the frame list as JSON
    label: Mapped[str] = mapped_column(String(256), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BankEntryEvent(Base):
    """An append-only log of entry additions and removals, in commit order: every process's
    near-neighbour index replays it from the last event it saw (that is how a change reaches them)."""

    __tablename__ = "bank_entry_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    op: Mapped[str] = mapped_column(String(8))  # add | remove
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ItemHash(Base):
    """Hashes of media already judged, for retroactive matching when a bank gains entries."""

    __tablename__ = "item_hashes"
    __table_args__ = (Index("ix_item_hashes_lookup", "project_id", "signal", "value"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    data_id: Mapped[str] = mapped_column(String(256))
    signal: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """Background work (retroactive matching, later video): claimed with a lease like webhook deliveries."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "status", "run_after"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("job"))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[float] = mapped_column(Float, default=time.time)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ItemMedia(Base):
    """Media kept with a decision for its reviewers: a blurred thumbnail of each image and a video's
    flagged frames (never the original), and for items a person may judge a sharp, size-capped copy
    without metadata (kinds `sharp`, `sharp_frame`: served only by an audited reveal). Deleted after
    TAMIS_MEDIA_RETENTION_DAYS; the decision itself stays."""

    __tablename__ = "item_media"
    __table_args__ = (Index("ix_item_media_item", "decision_id", "data_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    data_id: Mapped[str] = mapped_column(String(256))
    kind: Mapped[str] = mapped_column(String(16), default="thumbnail")  # thumbnail, frame, sharp, sharp_frame
    t_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)  # for a video frame
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # The size of the image (or frame) it was made from: evidence boxes are in those pixels.
    source_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class JobMedia(Base):
    """The upload a job works on (a video), in the database so that any worker can reach it;
    deleted when the job ends."""

    __tablename__ = "job_media"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    filename: Mapped[str] = mapped_column(String(256), default="")
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- the review workspace (issue #14) ------------------------------------------------------------


class Reviewer(Base):
    """A person who reviews cases in the browser. The password is kept as an argon2 hash only."""

    __tablename__ = "reviewers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rvw"))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last success: throttling
    throttled_until: Mapped[float] = mapped_column(Float, default=0.0)  # epoch seconds
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """A reviewer's role in one project: admin, moderator or reviewer."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("reviewer_id", "project_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("reviewers.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewSession(Base):
    """A signed-in browser. Only the token's SHA-256 is stored; the CSRF secret goes in every form."""

    __tablename__ = "review_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("reviewers.id"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[float] = mapped_column(Float)  # epoch seconds


class ReviewQueue(Base):
    """A project's queue of cases. `rules` route cases here (first matching queue by position wins):
    {"categories": [...], "verdicts": [...], "min_score": x, "max_score": y, "sources": [...]}."""

    __tablename__ = "review_queues"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("que"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Case(Base):
    """One item of an automated decision that people review. Claimed with a lease (like jobs):
    a reviewer who leaves lets the case go back to its queue when the lease ends."""

    __tablename__ = "cases"
    __table_args__ = (
        # The order claim_next reads a queue in: most urgent first, then oldest (one index walk).
        Index("ix_cases_next", "queue_id", "status", "priority", "created_at"),
        Index("ix_cases_project_data", "project_id", "data_id"),
        Index("ix_cases_project_author", "project_id", "author_id"),
        # One waiting case per reported item: two first reports arriving together join one case
        # (services/reports.py retries on this index). Automated cases are left out (a re-sent item's
        # new version gets its own), and so are appeals (a case of their own in the appeals queue).
        Index("ux_cases_open_report", "project_id", "data_id", unique=True,
              sqlite_where=text("status <> 'decided' AND source = 'user_report'"),
              postgresql_where=text("status <> 'decided' AND source = 'user_report'")),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("case"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the item's index in the decision
    data_id: Mapped[str] = mapped_column(String(256))
    author_id: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # The item's text, for its reviewers; emptied after TAMIS_MEDIA_RETENTION_DAYS like thumbnails.
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    queue_id: Mapped[str] = mapped_column(ForeignKey("review_queues.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open claimed on_hold escalated decided
    verdict: Mapped[str] = mapped_column(String(8))  # the automated verdict
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)  # its top category
    score: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # Notices (user reports) joined to this case while it was open (migration 0007).
    report_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A quality sample's stratum (services/sampling.py) and the probability it was drawn with; None
    # for cases every item of their kind gets (review verdicts, notices, appeals). Migration 0011.
    stratum: Mapped[str | None] = mapped_column(String(16), nullable=True)
    inclusion_p: Mapped[float | None] = mapped_column(Float, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(ForeignKey("reviewers.id"), nullable=True)
    lease_expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # epoch seconds
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)  # only moderators (or escalated_to) take it
    escalated_to: Mapped[str | None] = mapped_column(ForeignKey("reviewers.id"), nullable=True)
    skipped_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # not offered again to them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseDecision(Base):
    """A person's decision on a case (append-only): who, when, what and why, beside the automated one."""

    __tablename__ = "case_decisions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rev"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("reviewers.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(128))  # the reviewer's name, or "api:<name>" from a platform
    action: Mapped[str] = mapped_column(String(10))  # uphold | overturn
    verdict: Mapped[str] = mapped_column(String(8))  # the verdict that follows: pass | block
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    batch_id: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)  # a bulk action
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # a bulk action undone in time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewEvent(Base):
    """The review workspace's audit log, append-only: sign-ins, media revealed, decisions, queue and
    user changes. Never updated or deleted by tamis."""

    __tablename__ = "review_events"
    __table_args__ = (Index("ix_review_events_project", "project_id", "id"), Index("ix_review_events_reviewer", "reviewer_id", "created_at"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewer_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    actor: Mapped[str] = mapped_column(String(128))  # a username, "cli", or "api:<name>"
    kind: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- the EU Digital Services Act: notices and appeals (issue #15, migration 0007) ------------------


class DsaSettings(Base):
    """A project's DSA settings: the appeal window, the out-of-court settlement information sent with
    every decision on a notice or appeal, and whether the public report form is served. A project
    without a row has the defaults."""

    __tablename__ = "dsa_settings"
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    appeal_window_days: Mapped[int] = mapped_column(Integer, default=183)  # DSA Art. 20(1): at least six months
    out_of_court_info: Mapped[str] = mapped_column(Text, default="")  # Art. 21 bodies, in the operator's words
    public_form: Mapped[bool] = mapped_column(Boolean, default=False)  # the public report form, off by default
    # Statements of reasons (migration 0008, services/dsa/settings.py): the category mapping, the
    # ground, the territorial scope, what a verdict does, the submission endpoint. NULL: the defaults.
    statements: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # Needed in clear to authenticate to the operator's endpoint (like a webhook secret); never shown.
    submission_token: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(Base):
    """A notice (DSA Art. 16): someone says an item is illegal or against the platform's terms. It
    joins the item's open case (or opens one with source `user_report`) and is closed, with an
    outcome, when a person decides that case. Reporter name, email and reference are personal data:
    never in statements of reasons or other projects' webhooks, purged after the retention period."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_project_received", "project_id", "received_at"),
        Index("ix_reports_project_reporter", "project_id", "reporter_ref"),
        Index("ix_reports_project_data", "project_id", "data_id"),
    )
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("rep"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    data_id: Mapped[str] = mapped_column(String(256))
    category: Mapped[str] = mapped_column(String(40))  # the reporter's: a tamis category, or illegal/other
    explanation: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)  # the exact URL (validated, never fetched)
    source: Mapped[str] = mapped_column(String(8))  # api (the platform, for its user) | form (tamis's public form)
    trusted_flagger: Mapped[bool] = mapped_column(Boolean, default=False)  # Art. 22
    good_faith: Mapped[bool] = mapped_column(Boolean, default=True)  # Art. 16(2)(d); always true when stored
    reporter_name: Mapped[str | None] = mapped_column(String(200), nullable=True)  # personal data
    reporter_email: Mapped[str | None] = mapped_column(String(254), nullable=True)  # personal data
    reporter_ref: Mapped[str | None] = mapped_column(String(256), nullable=True)  # the platform's id of the reporter
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | decided
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)  # founded | unfounded
    review_id: Mapped[str | None] = mapped_column(ForeignKey("case_decisions.id"), nullable=True)  # the decision that closed it
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # personal data removed


class Appeal(Base):
    """A complaint against a decision (DSA Art. 20), by the affected user or by a reporter whose
    notice was refused. It becomes a case (source `appeal`) in the project's `appeals` queue, which a
    person other than the first decider must decide: uphold or reverse, with a reasoned reply."""

    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_project_received", "project_id", "received_at"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("apl"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)  # the appeal's own case
    data_id: Mapped[str] = mapped_column(String(256))
    contested_decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))  # the automated decision on the item
    contested_case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True)  # the case a person decided
    contested_review_id: Mapped[str | None] = mapped_column(ForeignKey("case_decisions.id"), nullable=True)  # that decision
    contested_verdict: Mapped[str] = mapped_column(String(8))  # the verdict contested: block (affected user) | pass (reporter)
    report_id: Mapped[str | None] = mapped_column(ForeignKey("reports.id"), nullable=True)  # a refused notice's appeal
    appellant: Mapped[str] = mapped_column(String(16))  # affected_user | reporter
    reason: Mapped[str] = mapped_column(Text)
    first_reviewer_id: Mapped[str | None] = mapped_column(String(40), nullable=True)  # may not decide the appeal
    first_actor: Mapped[str | None] = mapped_column(String(128), nullable=True)  # who decided first (name or api:<name>)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | decided
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)  # upheld | reversed
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)  # the reasoned reply to the appellant
    review_id: Mapped[str | None] = mapped_column(ForeignKey("case_decisions.id"), nullable=True)  # the deciding decision
    decided_by: Mapped[str | None] = mapped_column(String(40), nullable=True)  # the reviewer's id (None: API actor)
    decided_actor: Mapped[str | None] = mapped_column(String(128), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReviewPreference(Base):
    """Which categories' media and words stay hidden until revealed: a project's defaults (set by an
    admin; reviewer_id NULL) or one reviewer's own choices, which win over the project's."""

    __tablename__ = "review_preferences"
    __table_args__ = (Index("ix_review_preferences_project", "project_id", "reviewer_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("reviewers.id"), nullable=True)
    hidden: Mapped[dict[str, bool]] = mapped_column(JSONType, default=dict)  # category -> hidden until revealed
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SignInThrottle(Base):
    """A run of failed sign-ins from one client address ("ip:…") or for one username without an
    account ("name:" + its SHA-256): services/throttle.py slows them down."""

    __tablename__ = "sign_in_throttles"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    throttled_until: Mapped[float] = mapped_column(Float, default=0.0)  # epoch seconds
    updated_s: Mapped[float] = mapped_column(Float, index=True)  # epoch seconds: old runs are forgotten


# --- EU DSA: statements of reasons (issue #15, migration 0008) ---------------------------------------


class Statement(Base):
    """A statement of reasons (DSA Art. 17), built and stored in the transaction of the decision it
    states, so it says what was decided under the settings of that moment. Holds no personal data:
    `body` is the Transparency Database's document; the links to the decision are tamis's own ids."""

    __tablename__ = "dsa_statements"
    __table_args__ = (Index("ix_dsa_statements_project", "project_id", "id"),)
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sor"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    review_id: Mapped[str | None] = mapped_column(ForeignKey("case_decisions.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(10))  # automated | human | restore
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the tamis category stated first
    puid: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # its bulk action was undone
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StatementSubmission(Base):
    """One batch sent to the operator's submission endpoint, and what it answered."""

    __tablename__ = "dsa_statement_submissions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sub"))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    puids: Mapped[list[str]] = mapped_column(JSONType)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    response: Mapped[str] = mapped_column(Text, default="")  # the first 64 KiB of the answer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
