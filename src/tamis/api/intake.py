"""Turning a request into items: read the body under a size limit, check fields, fetch and decode media.

Everything that can be wrong with the input fails here, before any analyzer runs or any row is
written, so a bad item in a batch leaves no half-written decision.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from fastapi import Request
from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tamis.api.fairness import run_loads
from tamis.config import get_settings
from tamis.errors import ProblemError, bad_input, too_large
from tamis.schema import NAME_PATTERN, DecodedImage, Item, storable
from tamis.media import decode_image, fetch_url

class ItemIn(BaseModel):
    """One item: text, an image (URL or base64), or both."""

    model_config = ConfigDict(extra="forbid")
    data_id: str = Field(min_length=1, max_length=256, description="The platform's own id for the content.")
    text: str | None = None
    image_url: str | None = Field(None, max_length=4096)
    image_base64: str | None = None
    author_id: str | None = Field(
        None, min_length=1, max_length=256,
        description="The platform's id of the author: shown to reviewers beside their earlier cases; never a signal.",
    )
    context: str | None = Field(
        None, max_length=2000, description="Where the item appeared (a thread, a title), for reviewers; never analysed.",
    )

    @field_validator("data_id", "author_id", "context")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return None if value is None else storable(value)

    @model_validator(mode="after")
    def _has_content(self) -> ItemIn:
        if self.text is None and self.image_url is None and self.image_base64 is None:
            raise ValueError("an item needs text, image_url or image_base64")
        if self.image_url is not None and self.image_base64 is not None:
            raise ValueError("give image_url or image_base64, not both")
        return self


class ModerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[ItemIn] = Field(min_length=1, description="Up to 100 items (TAMIS_MAX_ITEMS).")
    policy: str = Field("default", pattern=f"^{NAME_PATTERN}$")


async def read_body(request: Request) -> bytes:
    """The request body, refusing more than TAMIS_MAX_REQUEST_BYTES without reading it all."""
    limit = get_settings().max_request_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(f"request body is {declared} bytes; the limit is {limit}", "body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(f"request body is over the limit of {limit} bytes", "body")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(
    request: Request, *, max_fields: int = 5, max_part_size: int = 1024 * 1024, large_field: str = "body"
) -> FormData:
    """A multipart form with at most one file; a malformed body is a 400 naming `body`, a field
    over max_part_size a 413 naming `large_field` (starlette does not say which part it was)."""
    try:
        return await request.form(max_files=1, max_fields=max_fields, max_part_size=max_part_size)
    except (ProblemError, ClientDisconnect):
        raise  # the body limit, raised while streaming; a client that left
    except Exception as exc:  # starlette raises its own parse errors (as a 400 HTTPException)
        message = str(getattr(exc, "detail", exc))
        if "exceeded maximum size" in message:  # starlette's words for a part over max_part_size
            raise too_large(f"a form field is over the limit of {max_part_size} bytes", large_field) from exc
        raise bad_input(f"malformed multipart body: {exc}", "body", status=400) from exc


def check_text(text: str, field: str) -> str:
    limit = get_settings().max_text_chars
    if not text.strip():
        raise bad_input("text is empty", field)
    if len(text) > limit:
        raise too_large(f"text has {len(text)} characters; the limit is {limit}", field)
    return text


def check_count(n: int, field: str = "items") -> None:
    limit = get_settings().max_items
    if n > limit:
        raise too_large(f"{n} items in one request; the limit is {limit}", field)


def check_total_chars(texts: list[str | None], field: str = "items") -> None:
    """A request's texts together within TAMIS_MAX_REQUEST_CHARS: analysis time grows with them."""
    limit = get_settings().max_request_chars
    total = sum(len(t) for t in texts if t)
    if total > limit:
        raise too_large(f"the request's texts have {total} characters together; the limit is {limit}", field)


def _b64(data: str, field: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_input(f"not valid base64: {exc}", field) from exc


def image_loader(url: str | None = None, b64: str | None = None, raw: bytes | None = None, *, field: str) -> Callable[[], DecodedImage]:
    """A deferred fetch-and-decode, so that all of a request's images load in parallel."""

    def load() -> DecodedImage:
        if url is not None:
            data = data_url(url, field) if url.startswith("data:") else fetch_url(url, field=field)
        elif b64 is not None:
            data = _b64(b64, field)
        else:
            data = raw or b""
        return decode_image(data, field=field)

    return load


def data_url(url: str, field: str) -> bytes:
    """`data:image/png;base64,...` as OpenAI's clients send images inline."""
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise bad_input("a data: URL must be base64-encoded ('data:<type>;base64,<data>')", field)
    return _b64(payload, field)


def load_images(
    project: str, loaders: dict[int, Callable[[], DecodedImage]], fields: dict[int, str] | None = None
) -> dict[int, DecodedImage]:
    """Run the loaders in parallel within the project's share of the media threads; the first
    error (in item order) is the one reported."""
    return run_loads(project, loaders, fields)


def items_from_request(project: str, request: ModerateRequest) -> list[Item]:
    check_count(len(request.items))
    check_total_chars([item.text for item in request.items])
    loaders, fields = {}, {}
    for i, item in enumerate(request.items):
        if item.text is not None:
            check_text(item.text, f"items[{i}].text")
        if item.image_url is not None:
            fields[i] = f"items[{i}].image_url"
            loaders[i] = image_loader(url=item.image_url, field=fields[i])
        elif item.image_base64 is not None:
            fields[i] = f"items[{i}].image_base64"
            loaders[i] = image_loader(b64=item.image_base64, field=fields[i])
    images = load_images(project, loaders, fields)
    return [
        Item(item.data_id, text=item.text, image=images.get(i), author_id=item.author_id, context=item.context)
        for i, item in enumerate(request.items)
    ]
