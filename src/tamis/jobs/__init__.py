"""Background work: a jobs table claimed with leases (every process can run jobs; on PostgreSQL
several workers share it with SKIP LOCKED), and the handlers by kind."""

from tamis.jobs.queue import JobLoop, enqueue, run_due

__all__ = ["JobLoop", "enqueue", "run_due"]
