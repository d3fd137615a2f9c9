"""What statements of reasons add to moderation: /v1/moderate's service call on 100 items that all
block (so 100 statements, built, validated against the schema and stored in the decision's
transaction), against the same call with the statement step left out, interleaved in one run.

A throw-away SQLite database (or --database URL); a list-only policy (no model), so the ratio shows
the statement step against the rest of recording a decision, not against model time (with models, the
share is far smaller).

    python bench/dsa_statements.py [--rounds 30] [--items 100] [--database URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    os.environ["TAMIS_DATABASE_URL"] = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='tamis-bench-sor-')}/tamis.db"
    os.environ.setdefault("TAMIS_DATA_DIR", tempfile.mkdtemp(prefix="tamis-bench-sor-data-"))

    from tamis.engine.policy import PolicyBody
    from tamis.schema import Item
    from tamis.services import moderation
    from tamis.services.dsa import statements
    from tamis.store import queries
    from tamis.store.db import get_engine, migrate, transaction

    migrate(get_engine())
    project = "bench"
    with transaction() as session:
        queries.put_policy(session, project, "default", PolicyBody.model_validate(
            {"analyzers": [], "block_lists": [{"name": "b", "category": "harassment", "action": "block", "terms": ["zorblax"]}]}))
    items = [Item(data_id=f"i{i}", text=f"message {i} zorblax") for i in range(args.items)]
    real = statements.record_automated

    def timed(with_statements: bool) -> float:
        moderation.statements.record_automated = real if with_statements else (lambda *a, **k: [])  # type: ignore[assignment]
        start = time.perf_counter()
        doc = moderation.moderate(project, items)
        elapsed = time.perf_counter() - start
        assert all(r.verdict == "block" for r in doc.results)
        return elapsed

    timed(True), timed(False)  # warm up (policy cache, schema validator)
    on, off = [], []
    for _ in range(args.rounds):
        on.append(timed(True))
        off.append(timed(False))
    moderation.statements.record_automated = real  # type: ignore[assignment]
    m_on, m_off = statistics.median(on) * 1000, statistics.median(off) * 1000
    print(f"{args.items} blocked items per call, {args.rounds} rounds, {os.cpu_count()} CPUs (a shared, busy machine)")
    print(f"with statements    median {m_on:8.1f} ms per call ({m_on / args.items:.2f} ms per item)")
    print(f"without (anchor)   median {m_off:8.1f} ms per call")
    print(f"ratio {m_on / m_off:.2f}x; statements add {(m_on - m_off) / args.items:.2f} ms per blocked item")


if __name__ == "__main__":
    sys.exit(main())
