"""API keys: `Authorization: Bearer KEY` names the project every request acts for."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tamis.api import ratelimit
from tamis.errors import ProblemError
from tamis.store import queries
from tamis.store.db import transaction

# Key hash -> ((project, key id), when looked up). A key revoked in this process is forgotten at once; one
# revoked elsewhere (`tamis keys revoke` is another process) stops working here within _CACHE_S.
_CACHE_S = 5.0
_cache: dict[str, tuple[tuple[str, str], float]] = {}


def _forget(key_hash: str) -> None:
    _cache.pop(key_hash, None)


queries.on_key_revoked.append(_forget)


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, field="Authorization", kind="unauthorized")


def lookup(key: str) -> tuple[str, str] | None:
    """(project, key id) of a live key."""
    hashed = queries.hash_key(key)
    hit = _cache.get(hashed)
    if hit and time.monotonic() - hit[1] < _CACHE_S:
        return hit[0]
    with transaction() as session:
        found = queries.key_for(session, key)
    if found is None:
        _cache.pop(hashed, None)
    else:
        _cache[hashed] = (found, time.monotonic())
    return found


# Declares the scheme in OpenAPI (the Authorize button of /docs); the 401s stay tamis's problem documents.
bearer = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="tamis API key",
    description="`Authorization: Bearer KEY`; a key belongs to one project (`tamis keys create --project NAME`).",
    auto_error=False,
)


def current_project(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    key = credentials.credentials.strip() if credentials else ""
    if not key:
        raise _unauthorized("send an API key as 'Authorization: Bearer KEY' (create one with `tamis keys create`)")
    found = lookup(key)
    if found is None:
        raise _unauthorized("unknown or revoked API key")
    project, request.state.api_key_id = found
    ratelimit.charge_request(request, queries.hash_key(key), project)
    return project


def key_actor(request: Request) -> str:
    """Who acted, for the audit log, on a request authenticated by `current_project`: its key's id
    (never the key), so an operator can tell which integration changed a policy."""
    return f"key:{request.state.api_key_id}"


ProjectId = Annotated[str, Depends(current_project)]
