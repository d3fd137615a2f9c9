"""`POST /v1/moderations`: OpenAI's moderation API, request and response, so that its clients switch
by changing their base URL.

Differences, by design: a category that no analyzer of the policy assessed is `null` in
`categories` and `category_scores` (OpenAI always sends a number; tamis never claims a 0 it did not
measure); tamis's own categories (extremism, spam, scam, profanity) appear next to OpenAI's; `flagged`
means the verdict is not `pass`. Each call is recorded as a decision like `/v1/moderate`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from tamis.api.auth import ProjectId
from tamis.api.ratelimit import charge_items
from tamis.api.openapi import problems
from tamis.api.intake import check_count, check_text, check_total_chars, image_loader, load_images, read_body
from tamis.api.fairness import analysis_turn
from tamis.analyzers import available, get_analyzer
from tamis.errors import bad_input, unsupported_media
from tamis.schema import CategoryResult, DecisionDoc, Item, ItemResult
from tamis.services.moderation import moderate as run_pipeline
from tamis.taxonomy import CATEGORIES

router = APIRouter(tags=["openai-compatible"])


class ImageURL(BaseModel):
    url: str = Field(max_length=50_000_000)


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImagePart(BaseModel):
    type: Literal["image_url"]
    image_url: ImageURL


class ModerationRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI clients may send fields we do not use
    input: str | list[str] | list[TextPart | ImagePart] = Field(
        description="A text, a list of texts (one result each), or a list of parts forming one input."
    )
    model: str | None = Field(None, description="Accepted and ignored: the project's policy chooses.")


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool | None]
    category_scores: dict[str, float | None]
    category_applied_input_types: dict[str, list[str]]


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


def _is_text_list(raw: object) -> bool:
    """A list of texts is one item per text; a list of parts is one item."""
    return isinstance(raw, list) and all(isinstance(part, str) for part in raw)


def _items(project: str, body: ModerationRequest) -> list[Item]:
    raw = body.input
    if isinstance(raw, str):
        return [Item("input-0", text=check_text(raw, "input"))]
    if not raw:  # no item would make a decision with no results
        raise bad_input("input is an empty list: send a text, a list of texts or a list of parts", "input")
    check_count(len(raw), "input")
    check_total_chars([p if isinstance(p, str) else getattr(p, "text", None) for p in raw], "input")
    if all(isinstance(part, str) for part in raw):
        return [Item(f"input-{i}", text=check_text(t, f"input[{i}]")) for i, t in enumerate(raw)]  # type: ignore[arg-type]
    # A list of parts is one input: its texts joined, and its image (OpenAI allows one).
    texts = [check_text(p.text, f"input[{i}].text") for i, p in enumerate(raw) if isinstance(p, TextPart)]
    images = [(i, p) for i, p in enumerate(raw) if isinstance(p, ImagePart)]
    if len(images) > 1:
        raise bad_input("one image per input", f"input[{images[1][0]}]")
    fields = {0: f"input[{i}].image_url.url" for i, _ in images}
    loaded = load_images(project, {0: image_loader(url=p.image_url.url, field=fields[0]) for i, p in images}, fields)
    return [Item("input-0", text="\n".join(texts) if texts else None, image=loaded.get(0))]


def _input_types(category: CategoryResult, item: Item) -> list[str]:
    """The kinds of input the category's score came from (an image score does not apply to the text)."""
    media: set[str] = set()
    for ref in category.analyzers:
        name = ref.partition("@")[0]
        media |= get_analyzer(name).media if name in available() else {"text"}  # the policy's lists read text
    return [k for k in ("text", "image") if k in media and item.has(k)]  # type: ignore[arg-type]


def _result(result: ItemResult, item: Item) -> ModerationResult:
    scored = {c.name: c for c in result.categories}
    return ModerationResult(
        flagged=result.verdict != "pass",
        categories={name: (scored[name].flagged if name in scored else None) for name in CATEGORIES},
        category_scores={name: (scored[name].score if name in scored else None) for name in CATEGORIES},
        category_applied_input_types={
            name: (_input_types(scored[name], item) if name in scored else []) for name in CATEGORIES
        },
    )


def _response(doc: DecisionDoc, items: list[Item]) -> ModerationResponse:
    model = f"tamis-policy-{doc.policy.id}@{doc.policy.version}"
    return ModerationResponse(
        id="modr-" + doc.id.removeprefix("dec_"),
        model=model,
        results=[_result(r, it) for r, it in zip(doc.results, items)],
    )


_OPENAPI = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/ModerationRequest"}}}}}


@router.post("/v1/moderations", response_model=ModerationResponse, openapi_extra=_OPENAPI,
             responses=problems(400, 401, 413, 415, 422), summary="OpenAI-compatible moderation")
async def moderations(request: Request, project: ProjectId) -> Any:
    """OpenAI's moderation API, request and response: point an OpenAI client's base URL at `/v1`.

    `input` is a text, a list of texts (one result each), or a list of `text` and `image_url` parts
    (one input; `data:` URLs included). Categories tamis did not assess are `null`; `flagged` means the
    policy's verdict is not `pass`; `model` is ignored. Every call is recorded as a decision."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise unsupported_media(
            f"Content-Type {content_type or '(none)'} is not accepted; send application/json", "Content-Type"
        )
    body = ModerationRequest.model_validate_json(await read_body(request))
    charge_items(request, len(body.input) if _is_text_list(body.input) else 1)  # before any URL is fetched
    items = await run_in_threadpool(_items, project, body)
    async with analysis_turn(project, "input"):
        doc = await run_in_threadpool(run_pipeline, project, items, source="openai")
    return Response(_response(doc, items).model_dump_json(), media_type="application/json")


__all__ = ["router"]
