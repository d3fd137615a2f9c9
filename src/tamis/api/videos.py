"""`POST /v1/videos`: a video (upload or URL) checked now, moderated by a background job.

Everything that can be wrong with the input is found before anything is stored (size, container,
duration, frame size, a first frame that decodes); then the upload and its job commit together.
The result arrives by webhook, and `GET /v1/jobs/{id}` shows progress and the decision.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tamis.api.auth import ProjectId
from tamis.api.ratelimit import charge_items
from tamis.api.openapi import problems
from tamis.api.schemas import VideoAccepted
from tamis.api.intake import read_body, read_form
from tamis.api.fairness import run_loads
from tamis.config import get_settings
from tamis.errors import bad_input, not_found, unsupported_media
from tamis.schema import NAME_PATTERN, NUL_REFUSED, storable
from tamis.services.videos import enqueue_video
from tamis.media.fetch import fetch_url
from tamis.media.video import probe_video
from tamis.store import queries
from tamis.store.db import transaction

router = APIRouter(tags=["videos"])
POLICY_NAME = NAME_PATTERN

class VideoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_id: str = Field(min_length=1, max_length=256, description="The platform's own id for the video.")
    video_url: str = Field(max_length=4096, description="Fetched once, within TAMIS_MAX_VIDEO_BYTES.")
    policy: str = Field("default", pattern=f"^{POLICY_NAME}$")

    @field_validator("data_id")
    @classmethod
    def _storable(cls, value: str) -> str:
        return storable(value)


_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": VideoRequest.model_json_schema()},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "format": "binary", "description": "The video."},
                "data_id": {"type": "string", "description": "Your id for the video (default: the file name)."},
                "policy": {"type": "string", "default": "default"},
            }}},
        },
    }
}


async def _from_multipart(request: Request) -> tuple[bytes, str, str, str, str]:
    form = await read_form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise bad_input("send the video in the multipart field 'file'", "file")
    filename = upload.filename or ""
    data_id = str(form.get("data_id") or filename or "video")[:256]
    if "\x00" in data_id:
        raise bad_input(f"data_id {NUL_REFUSED}", "data_id")
    policy = str(form.get("policy") or "default")
    if not re.fullmatch(POLICY_NAME, policy):
        raise bad_input(f"policy must match {POLICY_NAME}", "policy")
    limit = get_settings().max_video_bytes
    data = await upload.read(limit + 1)  # one byte over tells probe_video it is too large
    return data, data_id, policy, filename, "file"


def _fetch(url: str) -> bytes:
    settings = get_settings()
    # fetch_url bounds bodies by max_image_bytes: give it the video limit for this fetch.
    return fetch_url(url, field="video_url", settings=settings.model_copy(update={"max_image_bytes": settings.max_video_bytes}))


async def _from_json(request: Request, project: str) -> tuple[bytes, str, str, str, str]:
    body = VideoRequest.model_validate_json(await read_body(request))
    # Through the media threads, within the project's share of them, like image URLs.
    data = (await run_in_threadpool(run_loads, project, {0: lambda: _fetch(body.video_url)}, {0: "video_url"}))[0]
    return data, body.data_id, body.policy, body.video_url.rsplit("/", 1)[-1], "video_url"


def _queue(project: str, data: bytes, data_id: str, policy: str, filename: str, field: str) -> dict[str, Any]:
    info = probe_video(data, field=field)
    with transaction() as session:
        queries.ensure_project(session, project)
        try:
            queries.active_policies(session, project, policy)
        except LookupError:
            error = not_found(f"policy {policy!r}")
            error.field = "policy"
            raise error from None
        job = enqueue_video(session, project, data, data_id=data_id, policy=policy, filename=filename,
                            info=info.as_dict())
        return {"job": {"id": job.id, "kind": job.kind, "status": job.status, "progress": job.progress},
                "status_url": f"/v1/jobs/{job.id}", "data_id": data_id, "video": info.as_dict()}


@router.post("/v1/videos", status_code=202, openapi_extra=_OPENAPI, response_model=VideoAccepted,
             responses=problems(400, 401, 404, 413, 415, 422), summary="Moderate a video (in the background)")
async def submit_video(request: Request, project: ProjectId) -> JSONResponse:
    """Check the video now (413 past a limit, 415 not a video, 422 damaged) and queue its moderation.

    Send a multipart form (`file`, `data_id`, `policy`) or JSON (`data_id`, `video_url`, `policy`).
    Answers 202 with the job; follow `status_url`, or wait for the decision's webhook.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    charge_items(request, 1)  # before the upload is read or the URL fetched
    if content_type == "multipart/form-data":
        fields = await _from_multipart(request)
    elif content_type == "application/json":
        fields = await _from_json(request, project)
    else:
        raise unsupported_media(f"Content-Type {content_type or '(none)'} is not accepted; send multipart/form-data "
                                "(field 'file') or application/json (field 'video_url')", "Content-Type")
    doc = await run_in_threadpool(_queue, project, *fields)
    return JSONResponse(doc, status_code=202, headers={"Location": doc["status_url"]})
