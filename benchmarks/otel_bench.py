"""What tracing costs: B1's streamed run with OTelObserver on, against the same run with it
off (B1's Agent), runs interleaved one by one on the same loopback server.

```
python -m benchmarks.otel_bench                       # 30 runs per client (about 40 s)
python -m benchmarks.otel_bench --iterations 60 --json otel.json
python -m benchmarks.otel_bench --quick               # proves the harness only
```

Clients: `off` (no observer: B1's Agent, the budget's base), `on` (OTelObserver on the
OpenTelemetry SDK: a TracerProvider with a BatchSpanProcessor and a MeterProvider with a
periodic reader, both exporting to exporters that drop what they get, so what is measured
is the instrumentation and the SDK, not a network), and for context `api only` (the
observer on the API's no-op providers: no SDK configured, the observer's own cost). Every
run's answer is checked, as in B1. Budget: `on` at most 1.15x the CPU of `off`.
The run makes six spans (invoke_agent, two chat, three execute_tool), two duration and four
token measurements. Needs the `otel` extra and opentelemetry-sdk (the dev extra).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import scenario
from .agent_client import AgentClient
from .cases import _per_run
from .server import ServerProcess

BUDGET = 1.15


def _sdk_providers() -> tuple[Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class DroppingSpanExporter(SpanExporter):
        """Drops every batch: the SDK's work without any I/O."""

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class DroppingMetricExporter(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 10_000,
                   **kwargs: Any) -> MetricExportResult:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            pass

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DroppingSpanExporter()))
    reader = PeriodicExportingMetricReader(DroppingMetricExporter(),
                                           export_interval_millis=1000)
    return tracer_provider, MeterProvider(metric_readers=[reader])


class ObservedClient(AgentClient):
    """B1's Agent with one more observer in its config."""

    def __init__(self, base_url: str, name: str, observer: Any) -> None:
        super().__init__(base_url)
        self.name = name
        old = self.agent
        from selectools import Agent, AgentConfig

        self.agent = Agent(list(old.tools), provider=old.provider,
                           config=AgentConfig(observers=[observer]))


def measure(base_url: str, iterations: int, warmup: int) -> dict[str, Any]:
    from selectools.otel import OTelObserver

    tracer_provider, meter_provider = _sdk_providers()
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    off = AgentClient(base_url)
    off.name = "off"
    clients = [
        off,
        ObservedClient(base_url, "on", OTelObserver(tracer_provider=tracer_provider,
                                                    meter_provider=meter_provider)),
        ObservedClient(base_url, "api only", OTelObserver(
            tracer_provider=NoOpTracerProvider(), meter_provider=NoOpMeterProvider())),
    ]

    async def main() -> dict[str, Any]:
        return await _per_run(clients, lambda c: c.run_stream(), iterations, warmup)

    try:
        return asyncio.run(main())
    finally:
        tracer_provider.shutdown()
        meter_provider.shutdown()


def render(result: dict[str, Any]) -> tuple[str, bool]:
    base = result["off"]["cpu_ms"]["median"]
    lines = ["| client | CPU per streamed run (median, ms) | wall (median, ms) | ratio to off |",
             "|--------|------|------|------|"]
    for name, numbers in result.items():
        cpu, wall = numbers["cpu_ms"]["median"], numbers["wall_ms"]["median"]
        lines.append(f"| {name} | {cpu:.2f} | {wall:.1f} | {cpu / base:.3f}x |")
    ratio = result["on"]["cpu_ms"]["median"] / base
    passed = ratio <= BUDGET
    lines.append(f"\non/off CPU {ratio:.3f}x, budget {BUDGET}x: {'PASS' if passed else 'FAIL'}")
    return "\n".join(lines), passed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.otel_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=30, help="measured runs per client")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per client")
    parser.add_argument("--pace-us", type=int, default=1000,
                        help="pause after each streamed event, in µs (B1's default 1000)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts: checks the harness, the numbers mean nothing")
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers here")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.warmup, args.pace_us = 2, 1, 0
    return args


def main(argv: list[str] | None = None,
         out: Callable[[str], Any] = print) -> int:
    args = parse_args(argv)
    with ServerProcess() as server:
        result = measure(server.base_url(args.pace_us, 1), args.iterations, args.warmup)
    table, passed = render(result)
    out(table)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "command": "python -m benchmarks.otel_bench " + " ".join(
                argv if argv is not None else sys.argv[1:]),
            "options": vars(args), "scenario_model": scenario.MODEL, "raw": result},
            indent=2) + "\n")
    return 0 if passed or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
