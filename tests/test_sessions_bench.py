"""B10's harness runs (tiny counts): every store measured beside the run without one, round
trips counted, and 200 concurrent runs over 200 sessions on SQLite all commit."""

from __future__ import annotations

import shutil

import pytest


def test_the_sessions_benchmark_measures_every_store() -> None:
    from benchmarks.server import ServerProcess
    from benchmarks.sessions import b10_sessions, verdicts

    with ServerProcess() as server:
        result = b10_sessions(server.base_url(0, 1), iterations=2, warmup=1)
    per_run = result["per_run"]
    expected = {"none", "sqlite", "json"}
    if shutil.which("redis-server"):
        expected.add("redis")
    if result["skipped"] == [] or "postgres" in per_run:
        expected.add("postgres")
    assert expected <= set(per_run)
    assert all(per_run[kind]["cpu_ms"] > 0 for kind in per_run)
    for kind in ("redis", "postgres"):
        if kind in per_run:  # exactly one load and one commit, counted on the way out
            assert per_run[kind]["round_trips_per_run"] == pytest.approx(2.0)
    concurrent = result["concurrent_sqlite"]
    assert concurrent["error_count"] == 0 and concurrent["sessions_committed"] == 200
    assert len(verdicts(result)) >= 2
