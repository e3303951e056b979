"""Workers at the same moment (the tests of intake's and review's timed jobs)."""
from __future__ import annotations

import threading


def two_workers(monkeypatch, module, remind) -> tuple[list[int], list[bool]]:
    """Run ``remind()`` in two threads at once; ``module._claim`` is wrapped so both workers have
    read what was already sent before either claims (on PostgreSQL; on SQLite the second waits
    for the first one's write lock and the barrier times out). Returns (what each worker
    published, every claim's outcome)."""
    barrier = threading.Barrier(2, timeout=3)
    seen, claims, claim = threading.local(), [], module._claim

    def racing_claim(session, row):
        if not getattr(seen, "waited", False):
            seen.waited = True
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
        won = claim(session, row)
        claims.append(won)
        return won

    monkeypatch.setattr(module, "_claim", racing_claim)
    return in_threads(remind), claims


def in_threads(fn, count: int = 2, barrier: threading.Barrier | None = None) -> list:
    """Run ``fn()`` in ``count`` threads (each waiting at ``barrier`` first, if given) and return
    what each returned; the first exception raised in a thread is raised here."""
    results, errors = [], []

    def worker():
        try:
            if barrier is not None:
                barrier.wait()
            results.append(fn())
        except Exception as exc:  # pragma: no cover - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results
