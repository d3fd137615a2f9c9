"""`/v1/webhooks`: register endpoints, see deliveries, replay them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import AnyHttpUrl, BaseModel, Field

from tamis.services import webhooks
from tamis.api.auth import ProjectId
from tamis.api.openapi import problems
from tamis.api.schemas import DeliveryDoc, DeliveryList, Replayed, WebhookCreated, WebhookList
from tamis.config import get_settings
from tamis.services.destinations import check_registration
from tamis.errors import ProblemError, not_found
from tamis.store.db import transaction
from tamis.store.models import Delivery, Webhook

router = APIRouter(tags=["webhooks"])


class WebhookIn(BaseModel):
    url: AnyHttpUrl
    verdicts: list[Literal["pass", "review", "block"]] = Field(
        default_factory=lambda: ["review", "block"], min_length=1, description="Verdicts that trigger a delivery."
    )
    include_shadow: bool = Field(False, description="Also deliver decisions of shadow policies.")


def webhook_doc(hook: Webhook, *, secret: bool = False) -> dict[str, Any]:
    doc = {
        "id": hook.id,
        "url": hook.url,
        "verdicts": hook.verdicts,
        "include_shadow": hook.include_shadow,
        "active": hook.active,
        "created_at": hook.created_at.isoformat(),
    }
    if secret:
        doc["secret"] = hook.secret  # shown once: the receiver needs it to check signatures
    return doc


def delivery_doc(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "decision_id": d.decision_id,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at.isoformat(),
        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
    }


def _webhook(session, project: str, webhook_id: str) -> Webhook:  # type: ignore[no-untyped-def]
    hook = webhooks.get_webhook(session, project, webhook_id)
    if hook is None:
        raise not_found(f"webhook {webhook_id}")
    return hook


def _replayable(hook: Webhook) -> None:
    if not hook.active:  # its deliveries would wait forever: say so instead
        raise ProblemError(409, "Conflict", f"webhook {hook.id} is deleted; its deliveries are not sent again", kind="webhook-deleted")


@router.post("/v1/webhooks", status_code=201, response_model=WebhookCreated, responses=problems(400, 401, 409, 413, 422),
             summary="Register a webhook")
def create(body: WebhookIn, project: ProjectId) -> dict[str, Any]:
    """Deliver this project's decisions with the chosen verdicts to `url`, signed with the secret
    returned here (shown once). Deliveries are retried with backoff, then replayable. The URL must
    not reach a refused network (422); a project has at most TAMIS_WEBHOOK_MAX_PER_PROJECT (409)."""
    settings = get_settings()
    check_registration(str(body.url), settings.webhook_allowed_networks(), project)
    with transaction() as session:
        if webhooks.active_count(session, project) >= settings.webhook_max_per_project:
            raise ProblemError(409, "Conflict", f"a project has at most {settings.webhook_max_per_project} active "
                               "webhooks (TAMIS_WEBHOOK_MAX_PER_PROJECT); delete one first", kind="too-many-webhooks")
        hook = webhooks.create_webhook(
            session, project, str(body.url), verdicts=body.verdicts, include_shadow=body.include_shadow
        )
        return webhook_doc(hook, secret=True)


@router.get("/v1/webhooks", response_model=WebhookList, responses=problems(401), summary="List webhooks")
def list_webhooks(project: ProjectId) -> dict[str, Any]:
    """The project's webhooks (secrets are never shown again)."""
    with transaction() as session:
        return {"webhooks": [webhook_doc(h) for h in webhooks.list_webhooks(session, project)]}


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, responses=problems(401, 404), summary="Deactivate a webhook")
def delete(webhook_id: str, project: ProjectId) -> None:
    """Stop deliveries, pending ones included; the webhook's delivery history stays for the record."""
    with transaction() as session:
        webhooks.deactivate(session, _webhook(session, project, webhook_id))


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=DeliveryList, responses=problems(401, 404, 422),
            summary="A webhook's deliveries")
def deliveries(
    webhook_id: str,
    project: ProjectId,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    """Newest first, optionally only those in `status`."""
    with transaction() as session:
        _webhook(session, project, webhook_id)
        rows = webhooks.list_deliveries(session, webhook_id, status, limit)
        return {"deliveries": [delivery_doc(d) for d in rows]}


@router.post("/v1/deliveries/{delivery_id}/replay", response_model=DeliveryDoc, responses=problems(401, 404, 409),
             summary="Replay a delivery")
def replay_one(delivery_id: str, project: ProjectId) -> dict[str, Any]:
    """Queue the delivery again (a new set of attempts); the server or a worker sends it."""
    with transaction() as session:
        delivery = webhooks.get_delivery(session, project, delivery_id)
        if delivery is None:
            raise not_found(f"delivery {delivery_id}")
        _replayable(_webhook(session, project, delivery.webhook_id))
        webhooks.replay(session, delivery)
        return delivery_doc(delivery)


@router.post("/v1/webhooks/{webhook_id}/replay", response_model=Replayed, responses=problems(401, 404, 409, 422),
             summary="Replay a webhook's deliveries")
def replay_many(
    webhook_id: str, project: ProjectId, status: Literal["failed", "delivered", "all"] = "failed"
) -> dict[str, Any]:
    """Send again every delivery of this webhook in `status` (default: the failed ones)."""
    with transaction() as session:
        _replayable(_webhook(session, project, webhook_id))
        rows = webhooks.list_deliveries(session, webhook_id, status)
        for delivery in rows:
            webhooks.replay(session, delivery)
        return {"replayed": len(rows)}
