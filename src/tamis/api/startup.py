"""Starting tamis: where its data lives, the banner it prints, and waiting until a server is ready."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from tamis import __version__
from tamis.config import Settings


def masked_database(settings: Settings) -> str:
    """The database URL with its password hidden (banners and logs are read by many)."""
    if not settings.database_url:
        return f"sqlite:///{(settings.data_dir / 'tamis.db').resolve()}"
    try:
        return make_url(settings.database_url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL still must not leak: show its scheme only
        return settings.database_url.split(":", 1)[0] + "://***"


@dataclass
class Banner:
    url: str
    settings: Settings
    key: str | None = None  # a key created on this start, shown once
    project: str = "default"
    log: Path | None = None

    def lines(self) -> list[str]:
        out = [
            f"tamis {__version__}",
            f"  API       {self.url}   (docs {self.url}/docs, health {self.url}/healthz)",
            f"  data dir  {self.settings.data_dir.resolve()}",
            f"  database  {masked_database(self.settings)}",
        ]
        if self.log:
            out.append(f"  log       {self.log}")
        if self.key:
            out.append(f"  API key   {self.key}   (project {self.project!r}; shown once, store it now)")
        else:
            out.append(f"  API keys  tamis keys create --project {self.project}")
        return out


def wait_ready(url: str, *, timeout_s: float, alive: Callable[[], bool] | None = None) -> bool:
    """Poll `url`/readyz until it answers 200 (True), `alive()` turns False or the time is up (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    return False
