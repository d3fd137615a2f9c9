"""The jobs this service runs. tamis.jobs knows no handlers (it claims, leases and retries jobs);
importing this module registers them, so run jobs through it."""

from tamis.jobs.queue import JobLoop, run_due
from tamis.services import retro, videos  # noqa: F401  (registers `retro_match` and `moderate_video`)

__all__ = ["JobLoop", "run_due"]
