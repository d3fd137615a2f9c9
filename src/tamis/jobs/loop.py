"""A background thread that repeats one pass of work, resting only when a pass found nothing to do.

`tamis serve` runs these in-process (the embedded runner); `tamis worker` runs them alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("tamis.jobs")


class PollingLoop:
    def __init__(self, name: str, poll_s: float, join_timeout_s: float = 30.0) -> None:
        self.name, self.poll_s, self.join_timeout_s = name, poll_s, join_timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_pass(self) -> int:
        """Do one pass of work; return how much was done (0 = rest before the next pass)."""
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=self.join_timeout_s)

    def run(self) -> None:
        self.loop(self.run_pass)

    def loop(self, run_pass: Callable[[], int]) -> None:
        while not self._stop.is_set():
            try:
                busy = run_pass()
            except Exception:  # a database hiccup must not end the loop
                log.exception("%s: pass failed", self.name)
                busy = 0
            if not busy:
                self._stop.wait(self.poll_s)
