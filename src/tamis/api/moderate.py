"""`POST /v1/moderate`: items in (JSON, or a multipart upload), a recorded decision out."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tamis.api.auth import ProjectId
from tamis.api.ratelimit import charge_items
from tamis.api.openapi import problems
from tamis.api.intake import ModerateRequest, check_text, image_loader, items_from_request, load_images, read_body, read_form
from tamis.api.fairness import analysis_turn
from tamis.config import get_settings
from tamis.errors import ProblemError, bad_input, not_found, unsupported_media
from tamis.schema import NAME_PATTERN, NUL_REFUSED, DecisionDoc, Item
from tamis.services.moderation import moderate as run_pipeline

router = APIRouter(tags=["moderation"])
POLICY_NAME = NAME_PATTERN

_MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "The image."},
        "data_id": {"type": "string", "description": "Your id for the content (default: the file name)."},
        "text": {"type": "string", "description": "Text posted with the image."},
        "policy": {"type": "string", "default": "default"},
    },
}
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ModerateRequest"}},
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
        },
    }
}


async def _from_multipart(request: Request, project: str) -> tuple[list[Item], str]:
    settings = get_settings()
    # A text of max_text_chars characters is at most 4 bytes each; check_text counts the characters.
    form = await read_form(request, max_fields=10, max_part_size=settings.max_text_chars * 4, large_field="text")
    charge_items(request, 1)
    upload, text = form.get("file"), form.get("text")
    if upload is not None and not isinstance(upload, UploadFile):
        raise bad_input("file must be a file upload", "file")
    if upload is None and text is None:
        raise bad_input("send an image in the 'file' field, text in 'text', or both", "file")
    if text is not None:
        check_text(str(text), "text")
    data_id = str(form.get("data_id") or (upload.filename if upload else "") or "upload")[:256]
    if "\x00" in data_id:
        raise bad_input(f"data_id {NUL_REFUSED}", "data_id")
    policy = str(form.get("policy") or "default")
    if not re.fullmatch(POLICY_NAME, policy):
        raise bad_input(f"policy must match {POLICY_NAME}", "policy")
    image = None
    if upload is not None:
        raw = await upload.read(settings.max_image_bytes + 1)
        image = (await run_in_threadpool(load_images, project, {0: image_loader(raw=raw, field="file")}, {0: "file"}))[0]
    return [Item(data_id, text=None if text is None else str(text), image=image)], policy


async def _from_json(request: Request, project: str) -> tuple[list[Item], str]:
    body = ModerateRequest.model_validate_json(await read_body(request))
    charge_items(request, len(body.items))  # before any URL is fetched
    return await run_in_threadpool(items_from_request, project, body), body.policy


@router.post("/v1/moderate", response_model=DecisionDoc, openapi_extra=_OPENAPI, responses=problems(400, 401, 404, 413, 415, 422),
             summary="Judge items")
async def moderate(request: Request, project: ProjectId) -> Any:
    """Score each item per category, reach a verdict under the project's policy, record it.

    Send JSON (`{"items": [...]}`, up to 100 items with text, `image_url` or `image_base64`) or a
    multipart form with the image in the field `file`.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        items, policy = await _from_json(request, project)
    elif content_type == "multipart/form-data":
        items, policy = await _from_multipart(request, project)
    else:
        raise unsupported_media(
            f"Content-Type {content_type or '(none)'} is not accepted; send application/json or multipart/form-data",
            "Content-Type",
        )
    try:
        async with analysis_turn(project):
            doc = await run_in_threadpool(run_pipeline, project, items, policy_id=policy, source="api")
    except LookupError as exc:
        error = not_found(f"policy {policy!r}")
        error.field = "policy"
        raise error from exc
    # Serialised once by pydantic's Rust core rather than validated again by FastAPI.
    return Response(doc.model_dump_json(), media_type="application/json")


__all__ = ["router", "ProblemError"]
