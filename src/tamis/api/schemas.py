"""The shapes the API answers, for its OpenAPI document and its clients.

They describe the documents the routers build (`banks.bank_doc`, `webhooks.delivery_doc`, …). They
allow extra fields, so that a field added to a document is never silently dropped from an answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tamis.schema import DecisionDoc, ItemResult


class Doc(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- decisions ---------------------------------------------------------------------------------------


class DecisionList(Doc):
    decisions: list[DecisionDoc] = Field(description="Newest first.")
    next_before: str | None = Field(description="Pass as `before` for the next page; null on the last page.")


# --- policies ----------------------------------------------------------------------------------------


class PolicyDoc(Doc):
    """A policy version: its id and number, and the body written with `PUT` (see `PolicyBody`)."""

    id: str
    version: int
    shadow: bool
    description: str = ""
    analyzers: list[str]
    categories: dict[str, dict[str, float | None]] = Field(description="Per category, its `review` and `block` thresholds.")
    block_lists: list[dict[str, Any]] = []
    allow_lists: list[dict[str, Any]] = []
    domain_lists: list[dict[str, Any]] = []
    match_rotations: bool = False


class PolicySummary(Doc):
    id: str
    enforced_version: int
    shadow_version: int | None


class PolicyList(Doc):
    policies: list[PolicySummary]


class PolicyVersion(Doc):
    version: int
    shadow: bool
    created_at: str


class PolicyDetail(Doc):
    enforced: PolicyDoc
    shadow: PolicyDoc | None = Field(description="The shadow version being tried, if any.")
    versions: list[PolicyVersion]


# --- webhooks ----------------------------------------------------------------------------------------


class WebhookDoc(Doc):
    id: str
    url: str
    verdicts: list[Literal["pass", "review", "block"]]
    include_shadow: bool
    active: bool
    created_at: str


class WebhookCreated(WebhookDoc):
    secret: str = Field(description="The signing secret, shown only in this answer.")


class WebhookList(Doc):
    webhooks: list[WebhookDoc]


class DeliveryDoc(Doc):
    id: str
    webhook_id: str
    decision_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: float | None = Field(description="When a pending delivery is tried next (epoch seconds).")
    last_status_code: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None


class DeliveryList(Doc):
    deliveries: list[DeliveryDoc]


class Replayed(Doc):
    replayed: int = Field(description="How many deliveries were queued again.")


# --- banks -------------------------------------------------------------------------------------------


class BankDoc(Doc):
    name: str
    id: str
    description: str
    category: str | None
    action: Literal["review", "block"]
    negative: bool
    enabled: bool
    shadow: bool
    rollout: float
    pdq_distance: int
    entries: int = Field(description="Live entries.")
    counts: dict[str, int] = Field(description="Live entries per signal.")
    created_at: str
    updated_at: str


class BankList(Doc):
    banks: list[BankDoc]


class EntryDoc(Doc):
    id: int
    signal: Literal["pdq", "md5", "sha256", "vpdq"]
    value: str | list[dict[str, Any]] = Field(description="Hex digits; for vpdq, the frames.")
    label: str
    note: str
    source: str
    created_at: str


class EntryList(Doc):
    entries: list[EntryDoc]
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last page.")


class EntriesImported(Doc):
    added: int
    duplicates: int = Field(description="Exact duplicates of live entries, skipped.")
    job_id: str | None = Field(description="The retroactive-matching job for the new entries.")


class EntriesAdded(EntriesImported):
    ids: list[int] = Field(description="The new entries' ids.")


# --- hashes, matches, jobs ---------------------------------------------------------------------------


class PdqHash(Doc):
    hash: str = Field(description="64 hex digits.")
    quality: int = Field(description="0-100; below 50 is not matched.")


class FrameHashDoc(Doc):
    t_ms: int
    hash: str
    quality: int


class MediaHashes(Doc):
    kind: Literal["image", "video"]
    md5: str
    sha256: str
    pdq: PdqHash | None = Field(None, description="Images.")
    vpdq: list[FrameHashDoc] | None = Field(None, description="Videos: one PDQ per kept frame.")


class BankHitDoc(Doc):
    bank: str
    entry_id: int
    label: str
    signal: str
    distance: int
    category: str | None
    action: str
    negative: bool
    shadow: bool
    frames: int | None = Field(None, description="Videos: how many frames matched the entry.")
    query_match_pct: float | None = Field(None, description="vPDQ: share of the video's frames matched.")
    target_match_pct: float | None = Field(None, description="vPDQ: share of the entry's frames matched.")


class HashMatches(Doc):
    signal: str
    value: str
    matches: list[BankHitDoc]


class MatchResult(Doc):
    """A JSON query answers `results` (one per hash); an upload answers its `hashes` and `matches`."""

    results: list[HashMatches] | None = None
    hashes: MediaHashes | None = None
    matches: list[BankHitDoc] | None = None


class JobDoc(Doc):
    id: str
    kind: str = Field(description="video, retro_match, …")
    status: str = Field(description="pending, running, done or failed.")
    progress: float | None
    attempts: int
    result: dict[str, Any] | None = Field(description="When done: e.g. the decision id and verdict.")
    error: str | None
    created_at: str
    finished_at: str | None


# --- videos ------------------------------------------------------------------------------------------


class JobRef(Doc):
    id: str
    kind: str
    status: str
    progress: float | None


class VideoAccepted(Doc):
    job: JobRef
    status_url: str = Field(description="Where to follow the job: `GET /v1/jobs/{id}`.")
    data_id: str
    video: dict[str, Any] = Field(description="What was found when checking the video: duration, size, codec.")


# --- review cases ----------------------------------------------------------------------------------


class ReviewDoc(Doc):
    id: str
    by: str = Field(description="The reviewer's username, or `api:<name>` for a decision sent through the API.")
    action: Literal["uphold", "overturn"]
    verdict: Literal["pass", "block"] = Field(description="The verdict that follows from the person's decision.")
    category: str | None
    reason: str
    note: str
    at: str
    undone_at: str | None = Field(None, description="When a bulk action that made it was undone (within its window).")


class CaseDoc(Doc):
    id: str
    project: str
    decision_id: str = Field(description="The automated decision the case comes from (it is never changed).")
    data_id: str
    author_id: str | None
    queue_id: str
    status: Literal["open", "claimed", "on_hold", "escalated", "decided"]
    verdict: Literal["pass", "review", "block"] = Field(description="The automated verdict.")
    category: str | None = Field(description="The category that weighed most on the automated verdict.")
    score: float
    source: str
    priority: int
    report_count: int = Field(0, description="Notices (user reports) joined to the case.")
    escalated: bool
    created_at: str
    decided_at: str | None
    reviews: list[ReviewDoc] = Field(description="People's decisions on the case, oldest first.")


class CaseDetail(CaseDoc):
    result: ItemResult = Field(description="The item's automated result in its decision: scores, evidence, analyzers.")


class CaseList(Doc):
    cases: list[CaseDoc] = Field(description="Newest first.")
    next_before: str | None = Field(description="Pass as `before` for the next page; null on the last page.")


# --- DSA notices and appeals (issue #15) -------------------------------------------------------------


class ReportReceipt(Doc):
    id: str = Field(description="The report's id: keep it to follow the report (`GET /v1/reports/{id}`) and to appeal its refusal.")
    received_at: str
    case_id: str = Field(description="The review case the report joined (or opened).")
    report_count: int = Field(description="Reports on that case so far, this one included.")
    status: Literal["open", "decided"]


class ReporterDoc(Doc):
    name: str | None
    email: str | None
    purged: bool = Field(description="True once retention removed the reporter's personal data.")


class ReportDoc(Doc):
    id: str
    project: str
    case_id: str
    data_id: str
    category: str
    explanation: str
    location: str
    source: Literal["api", "form"] = Field(description="`api`: sent by the platform for its user; `form`: tamis's public form.")
    trusted_flagger: bool
    good_faith: bool
    reporter_ref: str | None
    status: Literal["open", "decided"]
    outcome: Literal["founded", "unfounded"] | None = Field(description="`founded` when the item ends up blocked.")
    review_id: str | None = Field(description="The human decision that closed the report.")
    received_at: str
    decided_at: str | None
    reporter: ReporterDoc | None = Field(None, description="The reporter's name and email (personal data): only here, never in webhooks.")


class ReportList(Doc):
    reports: list[ReportDoc] = Field(description="Newest first, without the reporters' names and emails (ask for one report).")
    next_before: str | None = Field(description="Pass as `before` for the next page; null on the last page.")


class ContestedDoc(Doc):
    decision_id: str
    case_id: str | None
    review_id: str | None
    verdict: Literal["pass", "block"]
    by: str | None = Field(description="Who decided first (they may not decide the appeal); null for an automated decision.")


class AppealDoc(Doc):
    id: str
    project: str
    case_id: str = Field(description="The appeal's own case, in the project's `appeals` queue.")
    data_id: str
    appellant: Literal["affected_user", "reporter"]
    report_id: str | None
    reason: str
    contested: ContestedDoc
    status: Literal["open", "decided"]
    outcome: Literal["upheld", "reversed"] | None
    reversed: bool | None
    reply: str | None = Field(description="The reasoned reply to the appellant.")
    decided_by: str | None
    review_id: str | None
    received_at: str
    decided_at: str | None


class AppealList(Doc):
    appeals: list[AppealDoc] = Field(description="Newest first.")
    next_before: str | None = Field(description="Pass as `before` for the next page; null on the last page.")
