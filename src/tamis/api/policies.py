"""`/v1/policies`: read the project's policies and write new versions (old ones stay)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request

from tamis.api.auth import ProjectId, key_actor
from tamis.api.openapi import problems
from tamis.api.schemas import PolicyDetail, PolicyDoc, PolicyList
from tamis.errors import not_found
from tamis.schema import NAME_PATTERN
from tamis.engine.policy import STORED, Policy, PolicyBody
from tamis.services import audit
from tamis.store import queries
from tamis.store.db import transaction

router = APIRouter(tags=["policies"])
PolicyName = Path(pattern=f"^{NAME_PATTERN}$")


def _doc(policy: Policy) -> dict[str, Any]:
    return {"id": policy.id, "version": policy.version, "shadow": policy.shadow, **policy.body.model_dump(mode="json")}


@router.get("/v1/policies", response_model=PolicyList, responses=problems(401), summary="List policies")
def list_policies(project: ProjectId) -> dict[str, Any]:
    """The project's policies with their enforced and shadow versions (`default` always exists)."""
    with transaction() as session:
        out = []
        for policy_id in queries.policy_ids(session, project):
            enforced, shadow = queries.active_policies(session, project, policy_id)
            out.append({"id": policy_id, "enforced_version": enforced.version, "shadow_version": shadow.version if shadow else None})
    return {"policies": out}


@router.get("/v1/policies/{policy_id}", response_model=PolicyDetail, responses=problems(401, 404, 422), summary="A policy")
def get_policy(project: ProjectId, policy_id: str = PolicyName) -> dict[str, Any]:
    """The enforced version, the shadow version if one runs, and the history of versions."""
    with transaction() as session:
        try:
            enforced, shadow = queries.active_policies(session, project, policy_id)
        except LookupError as exc:
            raise not_found(f"policy {policy_id}") from exc
        versions = [
            {"version": r.version, "shadow": r.shadow, "created_at": r.created_at.isoformat()}
            for r in queries.policy_versions(session, project, policy_id)
        ]
    return {"enforced": _doc(enforced), "shadow": _doc(shadow) if shadow else None, "versions": versions}


@router.get("/v1/policies/{policy_id}/versions/{version}", response_model=PolicyDoc, responses=problems(401, 404, 422),
            summary="A policy version")
def get_policy_version(version: int, project: ProjectId, policy_id: str = PolicyName) -> dict[str, Any]:
    """One version of a policy, as it was written: every decision names the version it applied."""
    with transaction() as session:
        for row in queries.policy_versions(session, project, policy_id):
            if row.version == version:
                return _doc(Policy(row.policy_id, row.version, PolicyBody.model_validate(row.body, context=STORED)))
    raise not_found(f"policy {policy_id} version {version}")


@router.put("/v1/policies/{policy_id}", status_code=201, response_model=PolicyDoc, responses=problems(400, 401, 413, 422),
            summary="Write a new policy version")
def put_policy(body: PolicyBody, request: Request, project: ProjectId, policy_id: str = PolicyName) -> dict[str, Any]:
    """Write a new version. With `"shadow": true` it is evaluated and recorded beside the enforced one."""
    with transaction() as session:
        policy = queries.put_policy(session, project, policy_id, body)
        audit.log(session, "policy_put", actor=key_actor(request), project_id=project, policy=policy_id, version=policy.version,
                  shadow=policy.shadow)
        return _doc(policy)
