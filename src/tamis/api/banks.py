"""`/v1/banks`: hash banks and their entries; import and export in the ecosystem's formats."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tamis.api.auth import ProjectId
from tamis.api.openapi import problems
from tamis.api.schemas import BankDoc, BankList, EntriesAdded, EntriesImported, EntryList
from tamis.api.intake import read_body, read_form
from tamis.errors import ProblemError, bad_input, not_found
from tamis.hashing import signals
from tamis.schema import NAME_PATTERN, NUL_REFUSED, storable
from tamis.banks import exchange, service as banks
from tamis.store.db import transaction
from tamis.store.models import Bank

router = APIRouter(tags=["banks"])
BankName = Path(pattern=f"^{NAME_PATTERN}$", description="The bank's name.")
MAX_ENTRIES = 10_000  # per POST .../entries; imports are bounded by the request size limit
MAX_LISTED_ERRORS = 100
INT32 = 2**31 - 1  # entry ids are 32-bit on PostgreSQL: larger ones are refused, not sent
Signal = Literal["pdq", "md5", "sha256", "vpdq"]
Format = Literal["plain", "te", "te-csv", "te-simple", "hma"]


class BankCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=f"^{NAME_PATTERN}$", description="Lowercase letters, digits, '_', '.', '-'.")
    description: str = Field("", max_length=banks.MAX_DESCRIPTION)
    category: str | None = Field(None, description="The taxonomy category a match counts towards.")
    action: Literal["review", "block"] = "block"
    negative: bool = Field(False, description="Known-benign hashes: a match suppresses the other banks' matches.")
    enabled: bool = True
    shadow: bool = Field(False, description="Record what the bank would match; never act on it.")
    rollout: float = Field(1.0, ge=0, le=1, description="Share of traffic the bank applies to.")
    pdq_distance: int = Field(31, ge=0, le=31, description="PDQ matches at Hamming distance <= this.")


class BankPatch(BaseModel):
    """Only the fields sent change; `category: null` clears the category."""

    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(None, max_length=banks.MAX_DESCRIPTION)
    category: str | None = None
    action: Literal["review", "block"] | None = None
    negative: bool | None = None
    enabled: bool | None = None
    shadow: bool | None = None
    rollout: float | None = Field(None, ge=0, le=1)
    pdq_distance: int | None = Field(None, ge=0, le=31)


class EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: Signal
    value: str | list[Any] = Field(description="Hex digits; for vpdq, the frames [{t_ms, pdq, quality}].")
    label: str = Field("", max_length=banks.MAX_TEXT)
    note: str = Field("", max_length=banks.MAX_NOTE)
    source: str = Field("", max_length=banks.MAX_TEXT)

    @field_validator("value")
    @classmethod
    def _valid_hash(cls, value: str | list[Any], info: ValidationInfo) -> str:
        signal = info.data.get("signal")
        if signal is None:  # the signal's own error is reported
            return value if isinstance(value, str) else ""
        return signals.validate(signal, value)

    @field_validator("label", "note", "source")
    @classmethod
    def _storable(cls, value: str) -> str:
        return storable(value)


def _doc(session: Any, bank: Bank) -> dict[str, Any]:
    return banks.bank_doc(bank, banks.entry_counts(session, [bank.id])[bank.id])


# --- banks -------------------------------------------------------------------------------------------


@router.post("/v1/banks", status_code=201, response_model=BankDoc, responses=problems(400, 401, 409, 413, 422),
             summary="Create a bank")
def create_bank(body: BankCreate, project: ProjectId) -> dict[str, Any]:
    """Create a bank; 409 if the project already has a bank of that name."""
    with transaction() as session:
        bank = banks.create_bank(session, project, **body.model_dump())
        return _doc(session, bank)


@router.get("/v1/banks", response_model=BankList, responses=problems(401), summary="List banks")
def list_banks(project: ProjectId) -> dict[str, Any]:
    """The project's banks with their settings and live entry counts."""
    with transaction() as session:
        rows = banks.list_banks(session, project)
        counts = banks.entry_counts(session, [b.id for b in rows])
        return {"banks": [banks.bank_doc(b, counts[b.id]) for b in rows]}


@router.get("/v1/banks/{name}", response_model=BankDoc, responses=problems(401, 404, 422), summary="A bank")
def get_bank(project: ProjectId, name: str = BankName) -> dict[str, Any]:
    """The bank's settings and live entry counts per signal."""
    with transaction() as session:
        return _doc(session, banks.require_bank(session, project, name))


@router.patch("/v1/banks/{name}", response_model=BankDoc, responses=problems(400, 401, 404, 413, 422), summary="Change a bank")
def update_bank(body: BankPatch, project: ProjectId, name: str = BankName) -> dict[str, Any]:
    """Change settings: enable, disable, shadow, roll-out, distance, category, action, negative."""
    with transaction() as session:
        bank = banks.update_bank(session, banks.require_bank(session, project, name), **body.model_dump(exclude_unset=True))
        return _doc(session, bank)


@router.delete("/v1/banks/{name}", status_code=204, responses=problems(401, 404, 422), summary="Delete a bank")
def delete_bank(project: ProjectId, name: str = BankName) -> Response:
    """Remove every entry (tombstones, kept for the record) and the bank; its name becomes free."""
    with transaction() as session:
        banks.delete_bank(session, banks.require_bank(session, project, name))
    return Response(status_code=204)


# --- entries -----------------------------------------------------------------------------------------


def _added(result: banks.AddResult, *, ids: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {"added": len(result.ids), "duplicates": result.duplicates, "job_id": result.job_id}
    if ids:  # not for imports: a million ids is no answer
        doc["ids"] = result.ids
    return doc


@router.post("/v1/banks/{name}/entries", response_model=EntriesAdded, responses=problems(400, 401, 404, 413, 422),
             summary="Add entries")
def add_entries(
    project: ProjectId,
    entries: Annotated[list[EntryModel], Body(min_length=1, max_length=MAX_ENTRIES)],
    name: str = BankName,
) -> dict[str, Any]:
    """Add up to 10,000 entries (a JSON list). Exact duplicates of live entries are skipped and
    counted; the new ones are matched against media already seen by a background job (`job_id`)."""
    items = [banks.EntryIn(e.signal, str(e.value), e.label, e.note, e.source) for e in entries]
    with transaction() as session:
        return _added(banks.add_entries(session, banks.require_bank(session, project, name), items))


@router.get("/v1/banks/{name}/entries", response_model=EntryList, responses=problems(401, 404, 422), summary="List entries")
def list_entries(
    project: ProjectId,
    name: str = BankName,
    signal: Signal | None = None,
    before: int | None = Query(None, ge=1, le=INT32, description="An entry id: list older entries (paging)."),
    limit: int = Query(50, ge=1, le=1000),
) -> dict[str, Any]:
    """Live entries, newest first; pass `next_before` back as `before` for the next page."""
    with transaction() as session:
        rows = banks.list_entries(session, banks.require_bank(session, project, name), signal=signal, before=before, limit=limit)
        return {"entries": [banks.entry_doc(e) for e in rows], "next_before": rows[-1].id if len(rows) == limit else None}


@router.delete("/v1/banks/{name}/entries/{entry_id}", status_code=204, responses=problems(401, 404, 422), summary="Remove an entry")
def remove_entry(project: ProjectId, entry_id: int = Path(ge=1, le=INT32), name: str = BankName) -> Response:
    """Tombstone the entry: it stops matching, and past decisions still name it."""
    with transaction() as session:
        if not banks.remove_entries(session, banks.require_bank(session, project, name), [entry_id]):
            raise not_found(f"entry {entry_id} of bank {name!r}")
    return Response(status_code=204)


# --- import and export -------------------------------------------------------------------------------

_IMPORT_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


async def _upload(request: Request) -> tuple[bytes, str | None]:
    """The file's bytes and name: a multipart field `file`, or the raw body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        return await read_body(request), None
    form = await read_form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise bad_input("send the hash list as a file in the multipart field 'file'", "file")
    return await upload.read(), upload.filename


def _text(data: bytes) -> str:
    if not data.strip():
        raise bad_input("the file is empty", "file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_input(f"the file is not UTF-8 text (byte {exc.start})", "file") from exc


def import_problem(errors: list[exchange.LineError]) -> ProblemError:
    """422 listing the bad lines (the first 100) and how many there are: nothing was imported."""
    listed = [{"line": e.line, "field": "file", "detail": e.detail} for e in errors[:MAX_LISTED_ERRORS]]
    first = errors[0]
    detail = f"{len(errors)} bad line(s); nothing was imported. Line {first.line}: {first.detail}"
    return ProblemError(422, "Invalid input", detail, field="file", kind="invalid-input",
                        extra={"errors": listed, "error_count": len(errors)})


def _parse(fmt: str, text: str, signal: str | None, filename: str | None) -> list[banks.EntryIn]:
    if fmt in ("te-simple", "hma") and signal is None:
        signal = exchange.signal_from_filename(filename)
    try:
        entries, errors = exchange.parse(fmt, text, signal=signal)
    except ValueError as exc:
        raise bad_input(str(exc), "signal") from exc
    if errors:
        raise import_problem(errors)
    return entries


def _import(project: str, name: str, entries: list[banks.EntryIn], label: str, source: str) -> dict[str, Any]:
    entries = [replace(e, label=e.label or label, source=e.source or source) for e in entries]
    with transaction() as session:
        return _added(banks.add_entries(session, banks.require_bank(session, project, name), entries), ids=False)


@router.post("/v1/banks/{name}/import", openapi_extra=_IMPORT_OPENAPI, response_model=EntriesImported,
             responses=problems(400, 401, 404, 413, 415, 422), summary="Import a hash list")
async def import_entries(
    request: Request,
    project: ProjectId,
    name: str = BankName,
    format: Format = Query("plain", description="plain, te, te-csv, te-simple or hma."),
    signal: Signal | None = Query(None, description="The signal of plain lists of 64-hex hashes and of simple .te files."),
    label: str = Query("", max_length=banks.MAX_TEXT, description="Label for entries the file gives none."),
    source: str | None = Query(
        None, max_length=banks.MAX_TEXT, description="Source for entries the file gives none (default: the file name)."
    ),
) -> dict[str, Any]:
    """Import a hash list (multipart field `file`, or the raw body). All or nothing: if any line is
    bad, nothing is imported and the answer lists the bad lines with their numbers."""
    for value, field in ((label, "label"), (source or "", "source")):
        if "\x00" in value:
            raise bad_input(NUL_REFUSED, field)
    data, filename = await _upload(request)
    with transaction() as session:
        banks.require_bank(session, project, name)  # 404 before parsing a large file
    entries = await run_in_threadpool(_parse, format, _text(data), signal, filename)
    default_source = source if source is not None else (filename or "")[: banks.MAX_TEXT]
    return await run_in_threadpool(_import, project, name, entries, label, default_source)


def _batches(lines: Iterator[str], size: int = 2000) -> Iterator[str]:
    # Each chunk crosses a thread boundary: batching keeps a million-line export fast.
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def _stream(bank_id: str, fmt: str, signal: str | None) -> Iterator[str]:
    with transaction() as session:
        bank = session.get(Bank, bank_id)
        assert bank is not None
        category = "NEGATIVE_CLASS" if bank.negative else "POSITIVE_CLASS"
        entries = banks.iter_entries(session, bank, signal=signal)
        yield from _batches(exchange.export_lines(fmt, entries, signal=signal, collab=bank.name, category=category))


@router.get(
    "/v1/banks/{name}/export",
    response_class=StreamingResponse,
    responses={200: {"description": "The hash list, as an attachment.",
                     "content": {m: {"schema": {"type": "string"}} for m in sorted(set(exchange.MEDIA_TYPES.values()))}},
               **problems(401, 404, 422)},
    summary="Export a bank",
)
def export_entries(
    project: ProjectId,
    name: str = BankName,
    format: Format = Query("plain", description="plain, te, te-csv, te-simple or hma."),
    signal: Signal | None = Query(
        None, description="Only this signal (needed by single-signal formats when the bank holds several)."
    ),
) -> StreamingResponse:
    """The bank's live entries as a file to download, in a format `import` reads back."""
    with transaction() as session:
        bank = banks.require_bank(session, project, name)
        try:
            signal = exchange.export_signal(format, signal, banks.entry_counts(session, [bank.id])[bank.id])
        except ValueError as exc:
            raise bad_input(str(exc), "signal") from exc
        bank_id = bank.id
    filename = exchange.export_filename(name, format, signal)
    return StreamingResponse(
        _stream(bank_id, format, signal),
        media_type=f"{exchange.MEDIA_TYPES[format]}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
