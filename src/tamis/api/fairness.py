"""Work shared by every project but never taken by one: media threads and analysis turns.

Fetching and decoding release the GIL (sockets, Pillow's C decoders), so a few threads overlap them.
A project runs at most TAMIS_MEDIA_PER_PROJECT loads at once, whatever its number of requests or
items: four slow URLs of one project leave the other threads to everyone else. Likewise at most
TAMIS_ANALYSIS_PER_PROJECT of a project's requests are analysed at once, so a project sending many
long texts shares the CPU rather than queueing everyone behind it. A request waits for its project's
turn within its budget (TAMIS_REQUEST_BUDGET_S) and is then answered 503 with Retry-After.

Waiting for an analysis turn holds no thread (the request polls from the event loop). Waiting for a
media thread does hold one of the server's worker threads (media loads are started from inside the
request's worker thread), so at most WAITING_PER_SHARE times a project's media share may wait at
once; past that a request is answered 503 at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import anyio

from tamis.config import get_settings
from tamis.errors import ProblemError

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_slots: dict[tuple[str, str], threading.BoundedSemaphore] = {}
_waiting: dict[str, int] = {}  # requests of each project waiting for a media thread
WAITING_PER_SHARE = 2
_POLL_S = 0.02


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=get_settings().media_threads, thread_name_prefix="tamis-media")
        return _pool


def project_slots(project: str, kind: str = "media") -> threading.BoundedSemaphore:
    """The project's share of `kind` ("media" or "analysis"), one semaphore per project and kind."""
    with _lock:
        slots = _slots.get((project, kind))
        if slots is None:
            settings = get_settings()
            size = settings.media_per_project if kind == "media" else settings.analysis_per_project
            slots = _slots[(project, kind)] = threading.BoundedSemaphore(size)
        return slots


@asynccontextmanager
async def analysis_turn(project: str, field: str = "items") -> AsyncIterator[None]:
    """Hold one of the project's analysis turns, waited for within the request's budget (else 503)
    from the event loop, so that waiting requests hold no worker thread."""
    settings = get_settings()
    slots = project_slots(project, "analysis")
    deadline = time.monotonic() + settings.request_budget_s
    while not slots.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise busy(
                f"this project's requests ({settings.analysis_per_project} analysed at a time) did not reach "
                f"this one within the request's budget of {settings.request_budget_s} s",
                field, settings.request_budget_s,
            )
        await anyio.sleep(_POLL_S)
    try:
        yield
    finally:
        slots.release()


@contextmanager
def _in_line(project: str, field: str) -> Iterator[None]:
    """Count the project's requests waiting for media threads; too many already: 503 at once."""
    settings = get_settings()
    most = settings.media_per_project * WAITING_PER_SHARE
    with _lock:
        if _waiting.get(project, 0) >= most:
            raise busy(f"{most} of this project's requests are already waiting for media threads", field,
                       settings.fetch_timeout_s)
        _waiting[project] = _waiting.get(project, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _waiting[project] -= 1


def busy(detail: str, field: str, retry_after_s: float) -> ProblemError:
    """503 with Retry-After: the work would take longer than the request's budget."""
    return ProblemError(
        503, "Service busy", detail, field=field, kind="busy",
        headers={"Retry-After": str(max(1, round(retry_after_s)))},
    )


def run_loads(project: str, loads: dict[int, Callable[[], T]], fields: dict[int, str] | None = None) -> dict[int, T]:
    """Run the loads on the shared threads, at most the project's share at a time; results by key.

    The first error in key order is raised once every started load has finished (a load never
    outlives its own fetch deadline). Loads that cannot start within the request's budget: 503.
    """
    settings = get_settings()
    deadline = time.monotonic() + settings.request_budget_s
    slots = project_slots(project)
    futures: dict[int, Future[T]] = {}
    refused: ProblemError | None = None
    if not loads:
        return {}
    with _in_line(project, (fields or {}).get(min(loads), "items")):
        for key in sorted(loads):
            if not slots.acquire(timeout=max(deadline - time.monotonic(), 0)):
                field = (fields or {}).get(key, "items")
                refused = busy(
                    f"this project's media loads ({settings.media_per_project} at a time) did not reach this one "
                    f"within the request's budget of {settings.request_budget_s} s",
                    field, settings.fetch_timeout_s,
                )
                break
            future = _executor().submit(loads[key])
            future.add_done_callback(lambda _f: slots.release())
            futures[key] = future
    results: dict[int, T] = {}
    first_error: ProblemError | None = None
    for key in sorted(futures):
        try:
            results[key] = futures[key].result()
        except ProblemError as exc:
            first_error = first_error or exc
    if first_error or refused:
        raise first_error or refused  # type: ignore[misc]
    return results
