"""benchmarks/otel_bench.py runs end to end (tiny counts: the harness, not the numbers)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_otel_benchmark_runs_every_client_and_checks_their_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import otel_bench

    lines: list[str] = []
    assert otel_bench.main(["--quick"], out=lines.append) == 0
    table = "\n".join(lines)
    for client in ("| off |", "| on |", "| api only |"):
        assert client in table
    assert "on/off CPU" in table
    assert "benchmarks.otel_bench" in sys.modules
