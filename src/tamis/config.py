"""Settings, read from TAMIS_* environment variables."""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class MissingDataDir(Exception):
    """The data directory does not exist, and this process may not create one."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAMIS_", extra="ignore")

    data_dir: Path = Field(Path("tamis-data"), description="Where the SQLite database and media live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in data_dir.")
    # The command line sets this False unless told --create-data-dir: a typo'd TAMIS_DATA_DIR or a
    # command run from the wrong folder must not start an empty database silently.
    create_data_dir: bool = True
    # A write waiting longer than this for another's lock on the SQLite file is answered 503.
    sqlite_busy_timeout_s: float = 5.0

    # Input limits: anything above is refused with a 4xx before it costs work.
    max_items: int = 100
    max_text_chars: int = 100_000
    # All of one request's texts together: analysis time grows with characters (README, "Limits").
    max_request_chars: int = 100_000
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 50_000_000
    max_request_bytes: int = 64 * 1024 * 1024
    max_video_bytes: int = 64 * 1024 * 1024
    vpdq_fps: float = 1.0  # frames per second sampled for vPDQ
    fetch_timeout_s: float = 10.0  # the whole fetch: connect, TLS, headers and body
    # Media threads (fetch + decode) shared by all projects, and how many one project may hold at once.
    media_threads: int = 4
    media_per_project: int = 2
    # Requests of one project analysed at once (the rest wait their turn, within request_budget_s).
    analysis_per_project: int = 2
    # Longest a request waits for its project's turn at the media threads before a 503 with Retry-After.
    request_budget_s: float = 30.0
    # Slow clients: a request's head (line and headers) must arrive within header_timeout_s, its body
    # within body_timeout_s; the connection is closed, or the request answered 408.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 60.0
    fetch_max_redirects: int = 5
    # Only for tests and closed networks: let URL fetching reach loopback/private addresses.
    fetch_allow_private: bool = False

    # Webhooks
    # Total time for one delivery attempt: DNS, connect, send, and the receiver's status line and
    # headers (a receiver that drips its answer is cut at this deadline).
    webhook_timeout_s: float = 10.0
    webhook_max_attempts: int = 12
    webhook_backoff_base_s: float = 2.0
    webhook_backoff_max_s: float = 3600.0
    webhook_poll_s: float = 0.5
    # Deliveries in flight per sender process, and at most this many per webhook and per project,
    # so that one slow receiver holds a few slots, never the whole sender.
    webhook_concurrency: int = Field(32, ge=1)
    webhook_endpoint_concurrency: int = Field(2, ge=1)
    webhook_project_concurrency: int = Field(8, ge=1)
    # Webhook destinations must be public addresses; CIDRs listed here (comma-separated) are
    # reachable anyway, e.g. "10.20.0.0/16,127.0.0.1/32" for receivers inside the operator's network.
    webhook_allow_networks: str = ""
    # Active webhooks per project: each decision fans out to all of them.
    webhook_max_per_project: int = Field(20, ge=1)
    # A claimed delivery whose sender died is sent again (by any worker) once its lease ends: this
    # long, or 3 x webhook_timeout_s if that is longer (an attempt in flight is never taken over).
    webhook_lease_s: float = Field(60.0, gt=0)
    # The embedded runner delivers webhooks inside `tamis serve`; turn off when `tamis worker`s do it.
    embedded_worker: bool = True

    # Rate limits per API key (token buckets; 0 = no limit): requests, and items judged (texts,
    # images, videos), per second, with bursts up to the *_burst amounts. Per process: see README.
    rate_limit_requests_per_s: float = Field(100.0, ge=0)
    rate_limit_requests_burst: float = Field(200.0, ge=1)
    rate_limit_items_per_s: float = Field(1000.0, ge=0)
    rate_limit_items_burst: float = Field(2000.0, ge=1)

    # Models
    # Threads per onnxruntime session; 0 = half the cores this process may use (at least 1), so that
    # two requests running models at once fill the cores without fighting over them
    onnx_threads: int = 0
    # Image classifiers run as int8 versions derived from the shipped float models on first use, into
    # model_cache_dir (default: data_dir/models). nsfw-image by default: bench/quantized.py measures it
    # 0.70x the float time with no verdict changed; image-safety's int8 changes a verdict, so it is
    # opt-in. image-text: its gate's text detector answers first as an int8 model (3x cheaper on a photo
    # without text); an image where one of its lines reads as text goes through the float detector as
    # before, so what is read is unchanged (bench/ocr.py --only gate). '[]' runs everything float.
    int8_models: list[Literal["nsfw-image", "image-safety", "image-text"]] = Field(
        default_factory=lambda: ["nsfw-image", "image-text"])
    model_cache_dir: Path | None = None
    # OCR: auto = tesseract where Debian's tesseract-ocr is installed, else rapidocr (pip-only)
    ocr_engine: Literal["auto", "rapidocr", "tesseract", "off"] = "auto"
    # Text read from images, kept per process by the image bytes' SHA-256 (the same meme posted a
    # thousand times is read once): this many images, least recently used dropped first; 0 = off
    ocr_cache_size: int = Field(1024, ge=0)

    # QR codes: when the 512 px working copy has none, look again at up to 2048 px for small codes in
    # big images (reads codes down to ~3% of the width instead of ~10%; costs ~50-200 ms per big
    # JPEG without codes, more for big PNG/WebP: bench/links.py)
    codes_second_look: bool = True

    # Stored media: blurred thumbnails for reviewers, kept this many days (0 = keep forever)
    thumbnail_px: int = 256
    media_retention_days: int = 90
    # Sharp review copies, shown when a reviewer reveals a picture (blurred thumbnails show shapes
    # only): kept for `flagged` items (review or block, and any item that becomes a case when judged,
    # e.g. a sampled pass), `all` images (user reports on passed items then have one too), or `none`.
    # Longest side review_sharp_px; deleted after media_retention_days like the thumbnails.
    review_sharp_media: Literal["none", "flagged", "all"] = "flagged"
    review_sharp_px: int = Field(1024, ge=64, le=4096)
    # Never a sharp copy of an item flagged in these categories, or (`bank_match`) blocked by a bank
    # match (a bank that asks for review keeps one: a person must judge the match): suspected child sexual abuse material and known material matched by hash are not
    # kept viewable in tamis nor shown to reviewers (what the law asks of the operator for such material
    # differs by country; tamis keeps the blurred thumbnail, the hashes and the decision). '[]' keeps all.
    review_sharp_withheld: list[str] = Field(default_factory=lambda: ["sexual/minors", "bank_match"])
    # Review workspace: a reviewer who has revealed media or decided cases this many times today (UTC)
    # is reminded to take a break (a soft limit: they may go on).
    review_daily_soft_limit: int = 300
    # Quality checks: this share of `pass` and `block` items also become review cases (0 = none); they
    # come after every real review case of their queue, and routing rules on `verdicts` can send them
    # to a queue of their own.
    review_sample_rate: float = Field(0.0, ge=0.0, le=1.0)

    # Video: decoded with PyAV, sampled at video_fps and on scene changes, moderated as a job
    max_video_seconds: float = 600.0
    max_video_pixels: int = 3840 * 2160
    video_fps: float = 1.0
    video_scene_threshold: float = 0.35
    video_max_frames: int = 1200
    # A job whose runner stops renewing its lease for this long runs again elsewhere.
    job_lease_s: float = 300.0

    @field_validator("webhook_allow_networks")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for cidr in filter(None, (part.strip() for part in value.split(","))):
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad CIDR
        return value

    def webhook_allowed_networks(self) -> list[IPNetwork]:
        return [ipaddress.ip_network(c.strip(), strict=False) for c in self.webhook_allow_networks.split(",") if c.strip()]

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        if not self.data_dir.is_dir():
            if not self.create_data_dir or self.data_dir.exists():
                raise MissingDataDir(
                    f"data directory {self.data_dir.resolve()} does not exist. Run tamis from the folder that "
                    "holds tamis-data, point TAMIS_DATA_DIR at it, or pass --create-data-dir to start a new "
                    "one (`tamis up` creates it)"
                )
            # Only the operator's user may read the data: it holds content, key hashes and webhook secrets.
            self.data_dir.mkdir(mode=0o700, parents=True)
        path = (self.data_dir / "tamis.db").resolve()
        if not path.exists():  # SQLite would create it 0644; its -wal and -shm files copy its mode
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        return f"sqlite:///{path}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
