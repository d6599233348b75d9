"""The measurements. Each function runs in a fresh worker process (see worker.py) and returns
plain JSON-able numbers; every run's answer is checked before its numbers are kept."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import scenario
from .agent_client import AgentClient
from .baseline import AiohttpLoop, BulkLoop, HttpxLoop, httpx_available
from .serve_load import b9_serve_load
from .server import process_cpu_s
from .sessions import b10_sessions

Client = Any


def _clients(base_url: str, with_httpx: bool,
             tools: dict[str, Callable[..., Any]] | None = None) -> list[Client]:
    clients: list[Client] = [BulkLoop(base_url, tools), AiohttpLoop(base_url, tools),
                             AgentClient(base_url, tools)]
    if with_httpx and httpx_available():
        clients.append(HttpxLoop(base_url, tools))
    return clients


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "mean": statistics.fmean(values),
            "min": min(values), "max": max(values), "n": len(values)}


async def _per_run(clients: list[Client], run: Callable[[Client], Awaitable[str]],
                   iterations: int, warmup: int,
                   check: Callable[[str, str], None] = scenario.check_answer,
                   ) -> dict[str, Any]:
    """CPU and wall time of each run, clients interleaved run by run (rotating who goes
    first) so that they share the machine's conditions."""
    for client in clients:
        for _ in range(warmup):
            check(await run(client), f"{client.name} (warm-up)")
    cpu: dict[str, list[float]] = {c.name: [] for c in clients}
    wall: dict[str, list[float]] = {c.name: [] for c in clients}
    for i in range(iterations):
        for k in range(len(clients)):
            client = clients[(i + k) % len(clients)]
            cpu0, wall0 = time.process_time(), time.perf_counter()
            answer = await run(client)
            wall1, cpu1 = time.perf_counter(), time.process_time()
            check(answer, client.name)
            cpu[client.name].append((cpu1 - cpu0) * 1000)
            wall[client.name].append((wall1 - wall0) * 1000)
    for client in clients:
        await client.aclose()
    return {name: {"cpu_ms": _summary(cpu[name]), "wall_ms": _summary(wall[name])}
            for name in cpu}


def b1_streaming(base_url: str, iterations: int, warmup: int,
                 with_httpx: bool = True) -> dict[str, Any]:
    """One streamed run: text + 3 tool calls, the tools, then a 200-token streamed answer."""
    async def main() -> dict[str, Any]:
        return await _per_run(_clients(base_url, with_httpx), lambda c: c.run_stream(),
                              iterations, warmup)
    return asyncio.run(main())


def b2_whole(base_url: str, iterations: int, warmup: int,
             with_httpx: bool = True) -> dict[str, Any]:
    """The same run without streaming (`Agent.arun`)."""
    async def main() -> dict[str, Any]:
        return await _per_run(_clients(base_url, with_httpx), lambda c: c.run_whole(),
                              iterations, warmup)
    return asyncio.run(main())


def b7_events(base_url: str, iterations: int, warmup: int) -> dict[str, Any]:
    """B1's streamed run with `astream(events=True)`, against the same run without events,
    runs interleaved: the cost of the event stream a user interface reads."""
    async def main() -> dict[str, Any]:
        clients: list[Client] = [AgentClient(base_url), AgentClient(base_url, events=True)]
        return await _per_run(clients, lambda c: c.run_stream(), iterations, warmup)
    return asyncio.run(main())


def b8_typed(base_url: str, iterations: int, warmup: int) -> dict[str, Any]:
    """B1's run whose final answer is a JSON document, streamed with
    `astream(..., response_format=schema, events=True)` (partial values included), against
    the same run as B1 streams it, interleaved: what typed output costs while streaming."""
    async def main() -> dict[str, Any]:
        clients: list[Client] = [
            AgentClient(base_url),
            AgentClient(base_url, events=True, response_format=scenario.JSON_ANSWER_SCHEMA)]
        return await _per_run(clients, lambda c: c.run_stream(), iterations, warmup,
                              check=scenario.check_json_answer)
    return asyncio.run(main())


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


#: B3's clients by their worker argument.
B3_CLIENTS: dict[str, Callable[[str], Client]] = {
    "bulk": BulkLoop, "agent": AgentClient, "aiohttp": AiohttpLoop, "httpx": HttpxLoop}


def b3_concurrency(base_url: str, client: str, runs: int, concurrency: int,
                   server_pid: int | None = None) -> dict[str, Any]:
    """`runs` streamed runs, `concurrency` at once, on one client: runs/s and peak memory.
    Peak RSS is the process's high-water mark, so each client gets its own process. With
    `server_pid`, the server process's CPU during the runs too (is it the bottleneck?)."""
    async def main() -> dict[str, Any]:
        target: Client = B3_CLIENTS[client](base_url)
        scenario.check_answer(await target.run_stream(), f"{target.name} (warm-up)")
        gc.collect()
        rss_before = _rss_mb()
        gate = asyncio.Semaphore(concurrency)

        async def one() -> str:
            async with gate:
                return str(await target.run_stream())

        server0 = sum(process_cpu_s(server_pid)) if server_pid else 0.0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        answers = await asyncio.gather(*(one() for _ in range(runs)))
        wall1, cpu1 = time.perf_counter(), time.process_time()
        server1 = sum(process_cpu_s(server_pid)) if server_pid else 0.0
        for answer in answers:
            scenario.check_answer(answer, target.name)
        await target.aclose()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = {"client": target.name, "runs": runs, "concurrency": concurrency,
                  "wall_s": wall1 - wall0, "runs_per_s": runs / (wall1 - wall0),
                  "cpu_ms_per_run": (cpu1 - cpu0) * 1000 / runs,
                  "rss_before_mb": rss_before, "peak_rss_mb": peak,
                  "peak_growth_mb": peak - rss_before}
        if server_pid:
            result["server_cpu_ms_per_run"] = (server1 - server0) * 1000 / runs
            result["server_cpu_share"] = (server1 - server0) / (wall1 - wall0)
        return result
    return asyncio.run(main())


class _GcClock:
    """CPU time spent in the cyclic garbage collector, from `gc.callbacks`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started


def b3_paired(base_url: str, levels: list[int], runs: int, slices: int,
              context: list[str], server_pid: int | None = None) -> dict[str, Any]:
    """B3's runs/s and CPU per run, every client and every level in ONE process, in
    `slices` rounds of one batch per client and level (`max(runs, 2 * level)` streamed runs,
    `level` at once), the order rotating each round: a shared host's drift then falls on
    all of them alike, so the ratios and the spread across levels are about the clients.
    Also the cyclic GC's share of each (what grows with the runs in flight) and the
    server's CPU. `context` clients (the line loop, httpx) run at the first level only."""
    async def main() -> dict[str, Any]:
        clients = {name: B3_CLIENTS[name](base_url) for name in ["bulk", "agent", *context]}
        for client in clients.values():
            scenario.check_answer(await client.run_stream(), f"{client.name} (warm-up)")
        batches = [(level, name) for level in levels for name in clients
                   if name in ("bulk", "agent") or level == levels[0]]
        totals = {batch: [0.0] * 5 for batch in batches}  # runs, wall, cpu, gc, server
        clock = _GcClock()
        gc.callbacks.append(clock)
        try:
            for number in range(slices):
                shift = number % len(batches)
                for level, name in batches[shift:] + batches[:shift]:
                    client, count = clients[name], max(runs, 2 * level)
                    gate = asyncio.Semaphore(level)

                    async def one(client: Client = client, gate: asyncio.Semaphore = gate
                                  ) -> str:
                        async with gate:
                            return str(await client.run_stream())

                    gc.collect()
                    gc0, server0 = clock.seconds, (sum(process_cpu_s(server_pid))
                                                   if server_pid else 0.0)
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    answers = await asyncio.gather(*(one() for _ in range(count)))
                    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                    server = (sum(process_cpu_s(server_pid)) - server0) if server_pid else 0.0
                    for answer in answers:
                        scenario.check_answer(answer, client.name)
                    total = totals[(level, name)]
                    total[0] += count
                    total[1] += wall
                    total[2] += cpu
                    total[3] += clock.seconds - gc0
                    total[4] += server
        finally:
            gc.callbacks.remove(clock)
        for client in clients.values():
            await client.aclose()
        out: dict[str, Any] = {}
        for (level, name), (done, wall, cpu, collector, server) in totals.items():
            out.setdefault(str(level), {})[name] = {
                "runs": int(done), "runs_per_s": done / wall,
                "cpu_ms_per_run": cpu * 1000 / done, "gc_ms_per_run": collector * 1000 / done,
                "server_cpu_share": server / wall if server_pid else None}
        return out
    return asyncio.run(main())


def b4_parallel_tools(base_url: str, repeats: int) -> dict[str, Any]:
    """Wall time of one run whose three tools each sleep 0.15 s, async tools and sync ones."""
    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for kind, tools in (("async", scenario.slow_async_tools()),
                            ("sync", scenario.slow_sync_tools())):
            for client in (AgentClient(base_url, tools), BulkLoop(base_url, tools)):
                scenario.check_answer(await client.run_whole(), f"{client.name} (warm-up)")
                walls = []
                for _ in range(repeats):
                    wall0 = time.perf_counter()
                    answer = await client.run_whole()
                    walls.append(time.perf_counter() - wall0)
                    scenario.check_answer(answer, client.name)
                await client.aclose()
                out[f"{kind}:{client.name}"] = {"wall_s": _summary(walls)}
        return out
    return asyncio.run(main())


_IMPORT_PROBE = """
import sys, time, json
t0 = time.perf_counter()
import selectools
t1 = time.perf_counter()
loaded = sorted(m for m in ("aiohttp", "httpx", "pydantic", "selectools.providers.openai")
                if m in sys.modules)
provider = None
if {construct!r}:
    provider = selectools.OpenAIProvider(base_url="http://127.0.0.1:9/v1", api_key="k")
t2 = time.perf_counter()
if {construct!r}:
    @selectools.tool()
    def get_weather(city: str, days: int = 1) -> str:
        \"\"\"The weather in a city.\"\"\"
        return city
t3 = time.perf_counter()
if {construct!r} and "aiohttp" in sys.modules:
    raise SystemExit("constructing a provider imported aiohttp")
print(json.dumps({{"import_ms": (t1 - t0) * 1000, "construct_ms": (t2 - t0) * 1000,
                  "tool_ms": (t3 - t0) * 1000, "loaded": loaded}}))
"""

_BARE_PROBE = """
import time, json
t0 = time.perf_counter()
import {module}
print(json.dumps({{"import_ms": (time.perf_counter() - t0) * 1000}}))
"""


def _probe(code: str) -> tuple[dict[str, Any], float]:
    # Bytecode caches are allowed (as after a pip install, which compiles them): with
    # PYTHONDONTWRITEBYTECODE set, our own modules would be compiled on every import.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    wall0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env=env)
    wall = (time.perf_counter() - wall0) * 1000
    if done.returncode != 0:
        raise AssertionError(f"import probe failed: {done.stderr.strip()[-800:]}")
    lines = done.stdout.strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), wall


def b5_import(repeats: int) -> dict[str, Any]:
    """`import selectools`, and import + first OpenAIProvider (+ first @tool), each in fresh
    processes."""
    _probe(_IMPORT_PROBE.format(construct=False))  # warm the bytecode caches
    imports, constructs, tools, walls, empty = [], [], [], [], []
    loaded: list[str] = []
    for _ in range(repeats):
        result, wall = _probe(_IMPORT_PROBE.format(construct=False))
        if "aiohttp" in result["loaded"] or "selectools.providers.openai" in result["loaded"]:
            raise AssertionError(f"import selectools loaded {result['loaded']}")
        imports.append(result["import_ms"])
        walls.append(wall)
        loaded = result["loaded"]
        result, _ = _probe(_IMPORT_PROBE.format(construct=True))
        constructs.append(result["construct_ms"])
        tools.append(result["tool_ms"])
        _, wall = _probe("pass")
        empty.append(wall)
    context = {module: _summary([_probe(_BARE_PROBE.format(module=module))[0]["import_ms"]
                                 for _ in range(max(3, repeats // 3))])
               for module in ("pydantic", "aiohttp")}
    return {"import_ms": _summary(imports), "import_and_provider_ms": _summary(constructs),
            "import_provider_and_tool_ms": _summary(tools),
            "process_wall_ms": _summary(walls), "empty_process_wall_ms": _summary(empty),
            "modules_loaded_by_import": loaded, "context_import_ms": context}


def b6_local(runs: int, batches: int) -> dict[str, Any]:
    """In-process overhead: µs per two-iteration run with one tool call, on LocalProvider
    scripted turns (no network, no sleeping)."""
    from selectools import Agent, AgentResult, LocalProvider, Role, ToolCall, tool

    final_text = "It is sunny in Paris."
    expected_tool_text = scenario.weather_text("Paris")
    weather = tool(scenario.get_weather)

    def fresh_agent(count: int) -> tuple[Any, Any]:
        turns: list[Any] = []
        for _ in range(count):
            turns += [ToolCall("get_weather", {"city": "Paris"}), final_text]
        provider = LocalProvider(responses=turns)
        return Agent([weather], provider=provider), provider

    def check(result: Any, provider: Any) -> None:
        if result.content != final_text or result.iterations != 2:
            raise AssertionError(f"B6: wrong result {result.content!r} "
                                 f"after {result.iterations} iterations")
        seen = provider.requests[-1][1][-1]
        if seen.role != Role.TOOL or seen.content != expected_tool_text:
            raise AssertionError(f"B6: the second call did not see the tool result: {seen!r}")

    async def arun_batch(count: int) -> float:
        agent, provider = fresh_agent(count)
        check(await agent.arun(scenario.PROMPT), provider)  # warm
        agent, provider = fresh_agent(count)
        start = time.perf_counter()
        for _ in range(count):
            result = await agent.arun(scenario.PROMPT)
        elapsed = time.perf_counter() - start
        check(result, provider)
        return elapsed / count * 1e6

    async def astream_batch(count: int) -> float:
        agent, provider = fresh_agent(count)
        start = time.perf_counter()
        for _ in range(count):
            async for item in agent.astream(scenario.PROMPT):
                result = item
        elapsed = time.perf_counter() - start
        assert isinstance(result, AgentResult)
        check(result, provider)
        return elapsed / count * 1e6

    def run_batch(count: int) -> float:
        agent, provider = fresh_agent(count)
        start = time.perf_counter()
        for _ in range(count):
            result = agent.run(scenario.PROMPT)
        elapsed = time.perf_counter() - start
        check(result, provider)
        return elapsed / count * 1e6

    async def batches_of(batch: Callable[[int], Awaitable[float]]) -> list[float]:
        return [await batch(runs) for _ in range(batches)]

    result: dict[str, Any] = {
        "arun_us": _summary(asyncio.run(batches_of(arun_batch))),
        "astream_us": _summary(asyncio.run(batches_of(astream_batch))),
        "run_sync_us": _summary([run_batch(runs) for _ in range(batches)])}
    try:  # the budget's reference (engine_loop.py): a hand-written loop, interleaved
        from .engine_loop import b6_hand_us
    except ImportError:
        return result
    result["hand"] = b6_hand_us(runs, batches)
    return result


def otel(base_url: str, iterations: int, warmup: int) -> dict[str, Any]:
    """`benchmarks.otel_bench`'s measurement (imported here: it imports this module)."""
    from .otel_bench import measure

    return measure(base_url, iterations, warmup)


def mcp(transport: str, calls: int) -> dict[str, Any]:
    """`benchmarks.mcp_bench`'s measurement of one transport (stdio or http)."""
    from .mcp_bench import run_transport

    return run_transport(transport, calls)


CASES: dict[str, Callable[..., dict[str, Any]]] = {
    "B1": b1_streaming, "B2": b2_whole, "B3": b3_concurrency, "B3-paired": b3_paired,
    "B4": b4_parallel_tools,
    "B5": b5_import, "B6": b6_local, "B7": b7_events, "B8": b8_typed,
    "B9": b9_serve_load,  # run by `python -m benchmarks.serve_load`
    "B10": b10_sessions,  # run by `python -m benchmarks.sessions`
    "OTEL": otel, "MCP": mcp,  # run by `python -m benchmarks.otel_bench` and `.mcp_bench`
}
