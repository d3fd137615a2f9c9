"""`/v1/hash`, `/v1/match` and `/v1/jobs/{id}`: media hashes, bank lookups, background jobs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tamis.api.auth import ProjectId
from tamis.api.openapi import problems
from tamis.api.schemas import JobDoc, MatchResult, MediaHashes
from tamis.config import get_settings
from tamis.api.intake import read_form
from tamis.errors import ProblemError, bad_input, not_found, too_large, unsupported_media
from tamis.hashing import digests, pdq, vpdq
from tamis.banks.matcher import BankHit, get_matcher, match_hashes, match_vpdq
from tamis.media import decode_image
from tamis.media.images import image_format_of
from tamis.store import queries
from tamis.store.db import transaction
from tamis.store.models import Job

router = APIRouter(tags=["hashing"])

_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary", "description": "An image or a video."}}}}},
    }
}


async def _upload(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        raise unsupported_media("send the media as multipart/form-data in the field 'file'", "Content-Type")
    form = await read_form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise bad_input("send the media in the multipart field 'file'", "file")
    limit = get_settings().max_video_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise too_large(f"file is over the limit of {limit} bytes", "file")
    if not data:
        raise bad_input("file is empty", "file")
    return data


def hash_media(data: bytes) -> dict[str, Any]:
    """Image: PDQ with quality, MD5, SHA-256. Video: MD5, SHA-256 and the vPDQ frames."""
    doc: dict[str, Any] = {"md5": digests.md5_hex(data), "sha256": digests.sha256_hex(data)}
    try:
        image = decode_image(data, field="file")
    except ProblemError as exc:
        # Not an image, or more bytes than an image may have and not an image's signature: a video?
        # (Videos have their own limit, TAMIS_MAX_VIDEO_BYTES, checked in _upload.)
        over_image_limit = exc.status == 413 and len(data) > get_settings().max_image_bytes
        if exc.status != 415 and not (over_image_limit and image_format_of(data) is None):
            raise
        try:
            frames = vpdq.vpdq_hash(data, fps=get_settings().vpdq_fps)
        except vpdq.VideoError as video_exc:
            if over_image_limit:
                raise exc from video_exc
            raise unsupported_media(f"neither an image nor a video tamis can read: {video_exc}", "file") from video_exc
        doc["kind"] = "video"
        doc["vpdq"] = [{"t_ms": f.t_ms, "hash": f.pdq, "quality": f.quality} for f in frames]
        return doc
    hashed = pdq.pdq_hash(image.image) if image.plain else pdq.pdq_hash_bytes(data)
    doc["kind"] = "image"
    doc["pdq"] = {"hash": hashed.hex, "quality": hashed.quality}
    return doc


@router.post("/v1/hash", openapi_extra=_UPLOAD, response_model=MediaHashes, responses=problems(400, 401, 413, 415, 422),
             summary="Hash an image or a video")
async def hash_endpoint(request: Request, project: ProjectId) -> dict[str, Any]:
    """`{"pdq": {"hash", "quality"}, "md5", "sha256"}` for an image; `vpdq` frames for a video."""
    return await run_in_threadpool(hash_media, await _upload(request))


class MatchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: Literal["pdq", "md5", "sha256"]
    value: str = Field(max_length=64)

    @field_validator("value")
    @classmethod
    def _valid(cls, value: str, info: Any) -> str:
        check = {"pdq": pdq.validate_pdq, "md5": digests.validate_md5, "sha256": digests.validate_sha256}
        return check[info.data.get("signal", "pdq")](value)


class MatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hashes: list[MatchQuery] = Field(min_length=1, max_length=1000)


_MATCH_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/MatchRequest"}},
            **_UPLOAD["requestBody"]["content"],
        },
    }
}


def _hit_doc(hit: BankHit) -> dict[str, Any]:
    return {"bank": hit.bank, "entry_id": hit.entry_id, "label": hit.label, "signal": hit.signal,
            "distance": hit.distance, "category": hit.category, "action": hit.action,
            "negative": hit.negative, "shadow": hit.shadow}


def _match(project: str, queries: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    with transaction() as session:
        return [[_hit_doc(h) for h in hits] for hits in match_hashes(session, get_matcher(), project, queries)]


@router.post("/v1/match", openapi_extra=_MATCH_OPENAPI, response_model=MatchResult, responses=problems(400, 401, 413, 415, 422),
             summary="Match hashes or media against the project's banks")
async def match_endpoint(request: Request, project: ProjectId) -> dict[str, Any]:
    """JSON `{"hashes": [{"signal": "pdq", "value": "<64 hex>"}]}`, or a multipart `file` (hashed first)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = MatchRequest.model_validate_json(await request.body())
        queries = [{q.signal: q.value} for q in body.hashes]
        matches = await run_in_threadpool(_match, project, queries)
        return {"results": [{"signal": q.signal, "value": q.value, "matches": m} for q, m in zip(body.hashes, matches)]}
    hashes = await run_in_threadpool(hash_media, await _upload(request))
    return {"hashes": hashes, "matches": await run_in_threadpool(match_media, project, hashes)}


def match_media(project: str, hashes: dict[str, Any]) -> list[dict[str, Any]]:
    """Bank matches for hashed media: exact digests, PDQ (per frame for a video), and vPDQ."""
    exact: dict[str, Any] = {"md5": hashes["md5"], "sha256": hashes["sha256"]}
    if hashes["kind"] == "image":
        if hashes["pdq"]["quality"] >= pdq.MIN_QUALITY:
            exact["pdq"] = hashes["pdq"]["hash"]
        return _match(project, [exact])[0]
    frames = [vpdq.FrameHash(f["t_ms"], f["hash"], f["quality"]) for f in hashes["vpdq"]]
    per_frame = [{"pdq": f.pdq} for f in frames if f.quality >= pdq.MIN_QUALITY]
    matches = _merge(_match(project, [exact, *per_frame]))
    with transaction() as session:
        for hit, result in match_vpdq(session, project, frames):
            matches.append({**_hit_doc(hit), "query_match_pct": round(result.query_match_pct, 1),
                            "target_match_pct": round(result.target_match_pct, 1)})
    return matches


def _merge(per_query: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One match per bank entry, with its smallest distance (and how many frames matched it)."""
    best: dict[int, dict[str, Any]] = {}
    for hits in per_query:
        for hit in hits:
            seen = best.get(hit["entry_id"])
            if seen is None or hit["distance"] < seen["distance"]:
                best[hit["entry_id"]] = {**hit, "frames": (seen or {}).get("frames", 0)}
            best[hit["entry_id"]]["frames"] += 1
    return sorted(best.values(), key=lambda h: (h["distance"], h["bank"]))


@router.get("/v1/jobs/{job_id}", response_model=JobDoc, responses=problems(401, 404), summary="A background job's state and progress")
def get_job(job_id: str, project: ProjectId) -> dict[str, Any]:
    """A video's moderation or a retroactive match: status, progress, then the result (or the error)."""
    with transaction() as session:
        job = queries.owned(session, Job, project, job_id)
        if job is None:
            raise not_found(f"job {job_id}")
        return {"id": job.id, "kind": job.kind, "status": job.status, "progress": job.progress,
                "attempts": job.attempts, "result": job.result, "error": job.last_error,
                "created_at": job.created_at.isoformat(),
                "finished_at": job.finished_at.isoformat() if job.finished_at else None}
