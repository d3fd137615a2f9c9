"""Wellness settings: which categories' media and flagged words stay hidden (blurred, masked) until
the reviewer reveals them. Everything is hidden by default; a project's admin sets the project's
defaults per category, and each reviewer may choose otherwise for themselves (their choice wins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tamis.store import queries
from tamis.store.models import ReviewPreference
from tamis.taxonomy import CATEGORIES


class WellnessError(ValueError):
    """A refused setting, naming the category at fault."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail)
        self.detail, self.field = detail, field


def check(hidden: Mapping[str, Any]) -> dict[str, bool]:
    """Category -> hidden, checked: known categories, booleans."""
    if len(hidden) > len(CATEGORIES):
        raise WellnessError("more settings than there are categories", "hidden")
    for category, value in hidden.items():
        if category not in CATEGORIES:
            raise WellnessError(f"unknown category {category[:64]!r}", f"hidden.{category[:64]}")
        if not isinstance(value, bool):
            raise WellnessError("true (hidden until revealed) or false", f"hidden.{category}")
    return dict(hidden)


def _row(session: Session, project_id: str, reviewer_id: str | None) -> ReviewPreference | None:
    who = ReviewPreference.reviewer_id.is_(None) if reviewer_id is None else ReviewPreference.reviewer_id == reviewer_id
    return session.scalar(select(ReviewPreference).where(ReviewPreference.project_id == project_id, who)
                          .order_by(ReviewPreference.id).limit(1))


def settings(session: Session, project_id: str, reviewer_id: str | None = None) -> dict[str, bool]:
    """The project's defaults (reviewer_id None), or the reviewer's own choices, as stored."""
    row = _row(session, project_id, reviewer_id)
    return dict(row.hidden) if row is not None else {}


def store(session: Session, project_id: str, hidden: Mapping[str, Any], reviewer_id: str | None = None) -> dict[str, bool]:
    """Replace the project's defaults (reviewer_id None) or the reviewer's own choices."""
    checked = check(hidden)
    queries.ensure_project(session, project_id)
    row = _row(session, project_id, reviewer_id)
    if row is None:
        session.add(ReviewPreference(project_id=project_id, reviewer_id=reviewer_id, hidden=checked))
    else:
        row.hidden = checked
    session.flush()
    return checked


def hidden_categories(session: Session, project_id: str, reviewer_id: str) -> dict[str, bool]:
    """For every category, whether this reviewer sees it hidden until revealed."""
    defaults, own = settings(session, project_id), settings(session, project_id, reviewer_id)
    return {c: own.get(c, defaults.get(c, True)) for c in CATEGORIES}


def is_hidden(hidden: Mapping[str, bool], category: str | None) -> bool:
    """Hidden unless the category is known to be shown: an uncategorised match stays hidden."""
    return hidden.get(category or "", True)
