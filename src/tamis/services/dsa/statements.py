"""Statements of reasons (DSA Art. 17 and 24(5)), in the Transparency Database's schema (API v2).

One statement per restricting decision: an automated `block`, a person's decision that blocks an
item the automated verdict did not block, and a person's decision that lifts an automated block
(a restoration). Upholding an automated block states nothing new: its statement already exists.

Statements are built and stored in the transaction of the decision they state (not at export):
they say what was decided under the mapping of that moment, a later change of the settings never
rewrites them, and the record can be audited like the decision itself.

No personal data: a statement is built only from the verdict, the categories and analyzers, the
kinds of evidence and the policy, never from the item's text, its data_id, its author or a reporter.
Its `puid` is random, so it reveals nothing either.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from tamis.schema import DecisionDoc, Item
from tamis.services.dsa.settings import ILLEGAL, Restriction, StatementSettings, load, sor_schema
from tamis.store.models import Appeal, Case, CaseDecision, Decision, Report, Statement, utcnow

USER_REPORT = "user_report"  # a case opened by a notice
APPEAL = "appeal"  # an appeal's own case
VIDEO_SIGNALS = {"vpdq"}
# Analyzers that run on images only (hash-match runs on every image): an item they ran on had one.
IMAGE_ANALYZERS = {"nsfw-image", "image-safety", "image-text", "hash-match", "nudenet"}


class InvalidStatement(ValueError):
    """A statement that does not meet the schema: a defect in tamis, never the caller's input."""


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema for fast validation, with the same rules: local `$ref`s replaced by their targets,
    and enumerations of names by an equivalent anchored pattern (jsonschema compares an enum's
    values one by one; reference lookups and those comparisons were nine tenths of the time)."""
    if isinstance(node, dict):
        if set(node) == {"$ref"} and node["$ref"].startswith("#/$defs/"):
            return _inline(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        if set(node) == {"enum"} and all(isinstance(v, str) and v.replace("_", "").isalnum() for v in node["enum"]):
            return {"type": "string", "pattern": "^(?:" + "|".join(node["enum"]) + r")\Z"}
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


@cache
def _validator() -> Draft202012Validator:
    schema = sor_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(_inline(schema, schema["$defs"]))


# Fields that differ in every statement and take part in no rule across fields: checked on their own,
# so that the rest (the same for every block under one mapping) is validated once and remembered.
VOLATILE = {"puid": "tamis-00000000000000000000000000000000", "decision_facts": "x",
            "application_date": "2000-01-01", "content_date": "2000-01-01"}


@cache
def _volatile_validator() -> Draft202012Validator:
    schema = _validator().schema
    return Draft202012Validator({"type": "object", "required": list(VOLATILE),
                                 "properties": {k: schema["properties"][k] for k in VOLATILE}})


@lru_cache(maxsize=512)
def _rest_errors(rest: bytes) -> tuple[str, ...]:
    return tuple(_describe(_validator().iter_errors({**orjson.loads(rest), **VOLATILE})))


def _describe(found: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(statement)'}: {e.message}" for e in found]


def errors(statement: dict[str, Any]) -> list[str]:
    """Why a statement does not meet the schema (empty when it does). The same verdict as validating
    it whole: the volatile fields are checked by their own rules, the rest with placeholders for them."""
    volatile = {k: statement[k] for k in VOLATILE if k in statement}
    rest = orjson.dumps({k: v for k, v in statement.items() if k not in VOLATILE}, option=orjson.OPT_SORT_KEYS)
    return [*_describe(_volatile_validator().iter_errors(volatile)), *_rest_errors(rest)]


def validate(statement: dict[str, Any]) -> dict[str, Any]:
    problems = errors(statement)
    if problems:
        raise InvalidStatement("; ".join(problems))
    return statement


def new_puid() -> str:
    """Unique per statement and random: nothing about the item or its author can be read from it."""
    return "tamis-" + secrets.token_hex(16)


# --- the parts of a statement ---------------------------------------------------------------------


def flagged_categories(result: dict[str, Any]) -> list[str]:
    """The categories behind the verdict: the flagged ones (highest score first), then those of the
    list and bank evidence; else the highest-scoring category."""
    scored = sorted(result.get("categories", []), key=lambda c: -c["score"])
    names = [c["name"] for c in scored if c.get("flagged")]
    names += [e["category"] for e in result.get("evidence", []) if e.get("type") in ("list", "bank_match") and e.get("category")
              and not e.get("negative") and not e.get("shadow") and not e.get("suppressed")]
    if not names and scored:
        names = [scored[0]["name"]]
    return list(dict.fromkeys(names))


def content_types(source: str, result: dict[str, Any], *, has_text: bool, has_image: bool) -> list[str]:
    evidence = result.get("evidence", [])
    if source == "video" or any(e.get("type") == "bank_match" and e.get("signal") in VIDEO_SIGNALS for e in evidence):
        return ["CONTENT_TYPE_VIDEO"]
    kinds = {e.get("type") for e in evidence}
    text = has_text or "span" in kinds or any(e.get("type") == "url" and e.get("source") == "text" for e in evidence)
    image = has_image or bool(kinds & {"bbox", "bank_match", "frame"})
    return [t for t, yes in (("CONTENT_TYPE_TEXT", text), ("CONTENT_TYPE_IMAGE", image)) if yes] or ["CONTENT_TYPE_OTHER"]


def language(result: dict[str, Any]) -> str | None:
    code = (result.get("language") or {}).get("code") or ""
    return code.upper() if len(code) == 2 and code.isascii() and code.isalpha() else None


def _evidence_facts(result: dict[str, Any]) -> list[str]:
    """What kinds of evidence there were, by category: never the words, entries or URLs themselves."""
    facts = []
    for kind, phrase in (("span", "passages of text"), ("bbox", "regions of an image"), ("frame", "frames"),
                         ("url", "links"), ("list", "terms of the platform's block lists")):
        cats = sorted({e.get("category") or "unspecified" for e in result.get("evidence", []) if e.get("type") == kind})
        if cats:
            facts.append(f"{phrase} ({', '.join(cats)})")
    banks = sorted({e["bank"] for e in result.get("evidence", []) if e.get("type") == "bank_match" and not e.get("negative")
                    and not e.get("shadow") and not e.get("suppressed")})
    if banks:
        facts.append(f"a match in the platform's hash bank(s) {', '.join(banks)}")
    return facts


def _facts(policy: str, result: dict[str, Any], categories: Sequence[str], human: str | None) -> str:
    analyzers = sorted({f"{a['name']}@{a['version']}" for a in result.get("analyzers", [])})
    parts = [f"Assessed by tamis automated analysis under the platform's policy {policy}"
             + (f" (analyzers: {', '.join(analyzers)})" if analyzers else "") + "."]
    if categories:
        parts.append(f"Categories flagged: {', '.join(categories)}.")
    evidence = _evidence_facts(result)
    if evidence:
        parts.append(f"Evidence: {'; '.join(evidence)}.")
    parts.append(human or "No person reviewed the decision before it applied.")
    return " ".join(parts)[:5000]


def _ground(settings: StatementSettings, category: str | None) -> dict[str, Any]:
    label = category or "content the platform does not allow"
    if settings.decision_ground == ILLEGAL:
        ground = {"decision_ground": ILLEGAL, "illegal_content_legal_ground": settings.illegal_content_legal_ground,
                  "illegal_content_explanation": f"The content was assessed as {label}, which is illegal under "
                                                 f"{settings.illegal_content_legal_ground}."}
    else:
        ground = {"decision_ground": settings.decision_ground, "incompatible_content_ground": settings.incompatible_content_ground,
                  "incompatible_content_explanation": f"The content was assessed as {label}, which "
                                                      f"{settings.incompatible_content_ground} does not allow."}
    if settings.decision_ground_reference_url:
        ground["decision_ground_reference_url"] = settings.decision_ground_reference_url
    return ground


def _restriction(restriction: Restriction) -> dict[str, Any]:
    fields = restriction.model_dump(exclude_none=True)
    if not fields.get("decision_visibility"):
        fields.pop("decision_visibility", None)
    return fields


def _category(settings: StatementSettings, categories: Sequence[str]) -> dict[str, Any]:
    mapped = [settings.categories[c] for c in categories if c in settings.categories]
    if not mapped:
        return {"category": "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"}
    main = mapped[0]
    out: dict[str, Any] = {"category": main.category}
    additions = list(dict.fromkeys(m.category for m in mapped[1:] if m.category != main.category))
    if additions:
        out["category_addition"] = additions
    keywords = list(dict.fromkeys(k for m in mapped for k in m.specification))
    if keywords:
        out["category_specification"] = keywords
    return out


def _date(when: datetime | str) -> str:
    return (when.isoformat() if isinstance(when, datetime) else when)[:10]


def build(
    settings: StatementSettings, *, result: dict[str, Any], policy: str, source: str, decided_at: datetime | str,
    content_seen_at: datetime | str, categories: Sequence[str], restriction: Restriction, automated_detection: bool,
    automated_decision: str, source_type: str, has_text: bool, has_image: bool, human: str | None = None,
) -> dict[str, Any]:
    """One statement, validated against the schema."""
    statement: dict[str, Any] = {
        **_restriction(restriction),
        **_ground(settings, categories[0] if categories else None),
        **_category(settings, categories),
        "content_type": content_types(source, result, has_text=has_text, has_image=has_image),
        "content_date": _date(content_seen_at),
        "application_date": _date(decided_at),
        "territorial_scope": list(settings.territorial_scope),
        "decision_facts": _facts(policy, result, categories, human),
        "source_type": source_type,
        "automated_detection": "Yes" if automated_detection else "No",
        "automated_decision": automated_decision,
        "puid": new_puid(),
    }
    if statement["content_type"] == ["CONTENT_TYPE_OTHER"]:
        statement["content_type_other"] = "Content of a kind tamis does not name"
    code = language(result)
    if code:
        statement["content_language"] = code
    return validate(statement)


# --- stored with the decisions they state ---------------------------------------------------------


def record_automated(session: Session, doc: DecisionDoc, *, source: str, items: Sequence[Item] = ()) -> list[Statement]:
    """A statement for every item an enforced policy blocks, in the decision's transaction."""
    blocked = [(i, r) for i, r in enumerate(doc.results) if r.verdict == "block"]
    if not blocked:
        return []
    settings, _ = load(session, doc.project)
    given = dict(enumerate(items))
    # A retroactive match states a restriction of content seen earlier: its date is the first decision's.
    earlier = session.get(Decision, doc.follows) if doc.follows else None
    seen_at = earlier.created_at if earlier is not None else doc.created_at
    rows = []
    for position, result in blocked:
        item = given.get(position)
        data = result.model_dump(mode="json")
        categories = flagged_categories(data)
        body = build(settings, result=data, policy=f"{doc.policy.id} version {doc.policy.version}", source=source,
                     decided_at=doc.created_at, content_seen_at=seen_at, categories=categories,
                     restriction=settings.restrict, automated_detection=True, automated_decision="AUTOMATED_DECISION_FULLY",
                     source_type="SOURCE_VOLUNTARY", has_text=bool(item and item.text is not None),
                     has_image=bool(item and item.image is not None))
        rows.append(Statement(project_id=doc.project, decision_id=doc.id, position=position, kind="automated",
                              category=categories[0] if categories else None, puid=body["puid"], body=body))
    session.add_all(rows)
    return rows


def human_kind(automated_verdict: str, human_verdict: str) -> str | None:
    """`human` when a person restricts what the machine did not block, `restore` when a person lifts
    an automated block; None when the decision restricts nothing new."""
    if human_verdict == "block" and automated_verdict != "block":
        return "human"
    if human_verdict == "pass" and automated_verdict == "block":
        return "restore"
    return None


def _notice_source(session: Session, case: Case) -> str:
    """SOURCE_TRUSTED_NOTIFIER when a trusted flagger's notice is on the case, else SOURCE_ARTICLE_16."""
    trusted = session.scalar(select(Report.id).where(Report.case_id == case.id, Report.trusted_flagger.is_(True)).limit(1))
    return "SOURCE_TRUSTED_NOTIFIER" if trusted else "SOURCE_ARTICLE_16"


def _origin(session: Session, case: Case) -> tuple[str, bool, str]:
    """(source_type, automated detection, how the case arose in words) for a case people decided."""
    if case.source == USER_REPORT:
        return _notice_source(session, case), False, "after a notice"
    if case.source == APPEAL:
        appeal = session.scalar(select(Appeal).where(Appeal.case_id == case.id).limit(1))
        contested = session.get(Case, appeal.contested_case_id) if appeal and appeal.contested_case_id else None
        if appeal is not None and appeal.report_id is not None:
            report = session.get(Report, appeal.report_id)
            return ("SOURCE_TRUSTED_NOTIFIER" if report and report.trusted_flagger else "SOURCE_ARTICLE_16"), False, "on appeal"
        if contested is not None and contested.source == USER_REPORT:
            return _notice_source(session, contested), False, "on appeal"
        return "SOURCE_VOLUNTARY", True, "on appeal"
    if case.verdict == "pass":  # a random quality sample of what the machine let through: not detected by it
        return "SOURCE_VOLUNTARY", False, "in a random quality check"
    return "SOURCE_VOLUNTARY", True, "after automated flagging"


def record_human(session: Session, case: Case, record: CaseDecision) -> Statement | None:
    """The statement of a person's decision on a case, in that decision's transaction."""
    kind = human_kind(case.verdict, record.verdict)
    if kind is None:
        return None
    decision = session.get(Decision, case.decision_id)
    assert decision is not None  # decisions are append-only
    result = decision.doc["results"][case.position]
    settings, _ = load(session, case.project_id)
    source_type, detected, arose = _origin(session, case)
    categories = [record.category] if record.category else ([case.category] if case.category else flagged_categories(result))
    categories = list(dict.fromkeys([*categories, *flagged_categories(result)])) if kind == "human" else categories
    human = (f"A person reviewed the content {arose} and decided to "
             f"{'restrict it' if kind == 'human' else 'lift the restriction'}"
             + (f" (category: {record.category})." if record.category else "."))
    body = build(settings, result=result, policy=f"{decision.policy_id} version {decision.policy_version}", source=decision.source,
                 decided_at=record.created_at, content_seen_at=decision.created_at, categories=categories,
                 restriction=settings.restrict if kind == "human" else settings.restore,
                 automated_detection=detected,
                 # A person decided; with the automated verdict and its evidence before them when automated means flagged it.
                 automated_decision="AUTOMATED_DECISION_PARTIALLY" if detected else "AUTOMATED_DECISION_NOT_AUTOMATED",
                 source_type=source_type,
                 has_text=case.text is not None,
                 has_image=any(a.get("name") in IMAGE_ANALYZERS for a in result.get("analyzers", [])), human=human)
    row = Statement(project_id=case.project_id, decision_id=case.decision_id, position=case.position, case_id=case.id,
                    review_id=record.id, kind=kind, category=categories[0] if categories else None, puid=body["puid"], body=body)
    session.add(row)
    return row


def withdraw(session: Session, review_ids: Sequence[str]) -> int:
    """Statements of human decisions that were undone (a bulk action's undo window): kept, never exported."""
    if not review_ids:
        return 0
    return session.execute(
        update(Statement).where(Statement.review_id.in_(review_ids), Statement.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


# --- reading --------------------------------------------------------------------------------------


def in_force(project_id: str, *, since: datetime | None = None, until: datetime | None = None,
             restorations: bool = True) -> Select[tuple[Statement]]:
    """The project's statements not withdrawn, made in [since, until), in the order they were made
    (ids sort by time); restorations only when asked."""
    query = select(Statement).where(Statement.project_id == project_id, Statement.withdrawn_at.is_(None))
    if not restorations:
        query = query.where(Statement.kind != "restore")
    if since is not None:
        query = query.where(Statement.created_at >= since)
    if until is not None:
        query = query.where(Statement.created_at < until)
    return query.order_by(Statement.id)


def page(
    session: Session, project_id: str, *, since: datetime | None = None, until: datetime | None = None,
    after: str | None = None, limit: int = 100, restorations: bool = True,
) -> list[Statement]:
    """A page of `in_force`, `after` a statement id."""
    query = in_force(project_id, since=since, until=until, restorations=restorations)
    if after is not None:
        query = query.where(Statement.id > after)
    return list(session.scalars(query.limit(limit)))


def export_doc(row: Statement) -> dict[str, Any]:
    """A JSON line of `GET /v1/statements`: the statement, and tamis's ids to find the decision it states."""
    return {"id": row.id, "created_at": row.created_at.isoformat(), "kind": row.kind, "decision_id": row.decision_id,
            "position": row.position, "case_id": row.case_id, "review_id": row.review_id,
            "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None, "statement": row.body}


def batches(bodies: Sequence[dict[str, Any]], size: int = 100) -> list[dict[str, list[dict[str, Any]]]]:
    """`{"statements": [...]}` documents of 1 to `size` (at most 100) statements: the batch API's shape."""
    size = max(1, min(size, 100))
    return [{"statements": list(bodies[i:i + size])} for i in range(0, len(bodies), size)]
