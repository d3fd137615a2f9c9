"""Time budgets (issue 10, items 2 and 6): a fetch ends by its deadline whatever the server does, one
project's slow media cannot starve another's, and a request's analysis is bounded."""

from __future__ import annotations

import time

import pytest

from tamis.config import Settings
from tamis.errors import ProblemError
from tamis.media import fetch_url

from slow_server import slow_server

LOOPBACK = ["127.0.0.1/32"]


@pytest.mark.parametrize("field", ["items[0].image_url", "video_url"])
def test_a_server_dripping_headers_is_cut_at_the_fetch_deadline(field: str) -> None:
    """Old code: the per-read timeout restarts with every byte, so the fetch lasted as long as the drip."""
    settings = Settings(fetch_timeout_s=1.0)
    with slow_server(interval=0.2, for_s=8.0) as server:
        started = time.monotonic()
        with pytest.raises(ProblemError) as info:
            fetch_url(f"{server.url}/drip", field=field, settings=settings, allowed_networks=LOOPBACK)
        elapsed = time.monotonic() - started
    assert info.value.status == 422 and info.value.field == field
    assert "timed out" in info.value.detail
    assert elapsed < 3.0, elapsed
