"""The public report form's rate limit is kept in the database: a second process sees the notices
the first one counted; concurrent takes never grant more than the burst; addresses (IPv6 by /64) and
projects are counted apart."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from tamis.services import rate_limits
from tamis.store.db import transaction
from tamis.web import dsa as dsa_web

BURST = int(dsa_web.FORM_BURST)


@pytest.mark.slow  # a second Python process
def test_another_process_sees_the_same_count(project: str) -> None:
    script = ("from tamis.web import dsa; "
              f"print(''.join('1' if dsa.limiter.take({project!r}, '203.0.113.7') else '0' for _ in range({BURST})))")
    done = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "1" * BURST  # the other process took the whole burst
    assert not dsa_web.limiter.take(project, "203.0.113.7")  # so this one has none left
    assert dsa_web.limiter.take(project, "203.0.113.8")  # another address has its own
    assert dsa_web.limiter.take(f"{project}-other", "203.0.113.7")  # and so has another project's form


def test_ipv6_addresses_of_one_subscriber_share_a_limit(project: str) -> None:
    granted = [dsa_web.limiter.take(project, f"2001:db8:1:2::{i}") for i in range(BURST + 1)]
    assert granted == [True] * BURST + [False]
    assert dsa_web.limiter.take(project, "2001:db8:1:3::1")


def test_concurrent_takes_never_exceed_the_burst(project: str) -> None:
    key = rate_limits.key_of("test", project)
    now = 1_000_000.0
    results: list[bool] = []
    lock = threading.Lock()

    def take() -> None:
        with transaction() as session:
            granted = rate_limits.take(session, key, per_s=1 / 60, burst=3, now=now)
        with lock:
            results.append(granted)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [False] * 5 + [True] * 3
    with transaction() as session:  # a minute later, one more
        assert rate_limits.take(session, key, per_s=1 / 60, burst=3, now=now + 60)
        assert not rate_limits.take(session, key, per_s=1 / 60, burst=3, now=now + 60)
