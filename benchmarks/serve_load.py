"""B9: many concurrent `/api/chat` streams through one uvicorn process, against the same runs
through `Agent.astream` in-process, at the same concurrency.

Both sides do the benchmark's job (`scenario.py`: text, three tool calls, the tools, a
200-token answer) against the loopback model server, pacing its events like a model. Served:
`selectools.serve.create_app(agent)` in its own uvicorn process (the asyncio loop, as in
the in-process side; uvicorn's HTTP implementation as `--http` says, by default what uvicorn
picks: httptools if installed, else h11; the serve extra installs httptools, and without
it the run warns that it measures h11), read by an aiohttp
client in this process that opens all the streams at once; time to first token (TTFT) is from
sending the request to the read that brings the first `text-delta` event's bytes, and the
server's CPU is read from /proc/<pid>/stat around the batch. The client only keeps each
body while the batch runs and parses every event of it after the batch: it shares the
host's two cores with the served process and the model server (the in-process side has no
client), and parsing 100,000 events with json.loads as they came took a core's share from
the process being measured. In-process: the same Agent setup in this process, all the
runs started at once; TTFT is from calling `astream` to its first text, CPU is this process's.
The in-process runs are the served runs' own call, `astream(..., events=True)` (the tool
and step events a UI shows, which the server maps to frames): the ratio is what serving
adds to the engine's run, not what events cost (B7 measures that). Until session 14 the
in-process side streamed without events, and the ratio carried B7's cost as well.
Every run's streamed text is checked against the expected answer before its numbers count.

    python -m benchmarks.serve_load                       # 500 streams, 20 ms per event
    python -m benchmarks.serve_load --streams 50 --pace-us 2000
    python -m benchmarks.serve_load --opcodes --top 30    # opcodes per token, by function

`--opcodes` counts the Python opcodes each side executes per streamed token (sys.settrace,
exact where CPU time on a shared host is not): the served side is create_app in uvicorn on
this process's main thread, read by a client on another thread (not counted); both sides
one stream at a time (`--runs` runs after warm-up), so every event is its own read and
its own loop wakeup and the counts repeat. "work" leaves out the event loop's own
per-wakeup and per-second work (its select, timers, uvicorn's 0.1 s tick), which depends
on timing and is shared by the streams of a busy server.

Registered as case B9 in `cases.py` (`b9_serve_load`, one mode per fresh worker process) and
in `python -m benchmarks` (`--cases B9`, with `--b9-streams`, `--b9-pace-us`, `--b9-rounds`).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from . import scenario
from .server import process_cpu_s

ROOT = Path(__file__).resolve().parent.parent
#: Text tokens every run streams: the first answer's short text, then the 200-token answer.
TOKENS_PER_RUN = len(scenario.FIRST_TEXT_TOKENS) + scenario.ANSWER_TOKENS_TOTAL
EXPECTED_TEXT = scenario.FIRST_TEXT + scenario.expected_answer()
#: Budgets (issue 14): serving adds at most 30 % CPU per token; p99 TTFT <= 1.5x in-process.
CPU_BUDGET, TTFT_BUDGET = 1.30, 1.5

def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _summary(runs: list[tuple[float, float, Any]], cpu: tuple[float, float], wall_s: float,
             streams: int) -> dict[str, Any]:
    """`runs`: each run's (ms to its first text, ms to its whole answer, its body)."""
    tokens = streams * TOKENS_PER_RUN
    user, system = cpu
    ttft_ms = [ttft for ttft, _, _ in runs]
    done_ms = [done for _, done, _ in runs]
    return {"streams": streams, "ttft_p50_ms": _percentile(ttft_ms, 0.50),
            "ttft_p99_ms": _percentile(ttft_ms, 0.99), "ttft_max_ms": max(ttft_ms),
            "done_p50_ms": _percentile(done_ms, 0.50),
            "done_p99_ms": _percentile(done_ms, 0.99),
            "cpu_s": user + system, "cpu_us_per_token": (user + system) * 1e6 / tokens,
            "user_us_per_token": user * 1e6 / tokens,
            "system_us_per_token": system * 1e6 / tokens, "wall_s": wall_s}


def _own_cpu_s() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _elapsed(before: tuple[float, float], after: tuple[float, float]) -> tuple[float, float]:
    return after[0] - before[0], after[1] - before[1]


# -- in-process ---------------------------------------------------------------------------

async def _in_process(model_url: str, streams: int) -> dict[str, Any]:
    from selectools import AgentResult

    from .agent_client import make_agent

    agent = make_agent(model_url)

    async def one() -> tuple[float, float, str]:
        started = time.perf_counter()
        first: float | None = None
        text: list[str] = []
        async for item in agent.astream(scenario.PROMPT, events=True):
            if isinstance(item, AgentResult):
                break
            if item.event is None and item.content:
                if first is None:
                    first = time.perf_counter()
                text.append(item.content)
        assert first is not None, "a run streamed no text"
        return (first - started) * 1000, (time.perf_counter() - started) * 1000, "".join(text)

    _check(await one(), "in-process (warm-up)")
    cpu0, wall0 = _own_cpu_s(), time.perf_counter()
    runs = await asyncio.gather(*(one() for _ in range(streams)))
    wall1, cpu1 = time.perf_counter(), _own_cpu_s()
    for run in runs:
        _check(run, "in-process")
    await agent.provider.aclose()
    return _summary(runs, _elapsed(cpu0, cpu1), wall1 - wall0, streams)


def _check(run: tuple[float, float, str], where: str) -> None:
    if run[2] != EXPECTED_TEXT:
        raise AssertionError(f"{where}: wrong streamed text: {run[2][:160]!r}")


# -- served -------------------------------------------------------------------------------

_APP = """
import asyncio, socket, sys
import uvicorn
from benchmarks.agent_client import make_agent
from selectools.serve import create_app

listener = socket.socket(fileno=int(sys.argv[1]))
config = uvicorn.Config(create_app(make_agent(sys.argv[2])), loop="asyncio", http=sys.argv[3],
                        lifespan="off", log_level="warning", access_log=False,
                        timeout_keep_alive=30, backlog=2048)
asyncio.run(uvicorn.Server(config).serve(sockets=[listener]))
"""


class ServedApp:
    """create_app(agent) in a uvicorn process on a socket bound here (no race for a port)."""

    def __init__(self, model_url: str, http: str) -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(2048)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen([sys.executable, "-c", _APP, str(listener.fileno()),
                                         model_url, http], pass_fds=[listener.fileno()], env=env,
                                        cwd=ROOT)
        listener.close()

    def wait_ready(self) -> None:
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the served app did not start") from None
                time.sleep(0.05)

    def cpu_s(self) -> tuple[float, float]:
        return process_cpu_s(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _chat_body(number: int) -> bytes:
    # What useChat sends for a first question.
    return json.dumps({"id": f"chat-{number}", "trigger": "submit-message", "messages": [{
        "id": f"msg-{number}", "role": "user",
        "parts": [{"type": "text", "text": scenario.PROMPT}]}]}).encode()


_FIRST_TEXT = b'data: {"type":"text-delta"'


async def _read_chat(session: Any, url: str, number: int) -> tuple[float, float, bytes]:
    """One /api/chat stream: (ms to the first text-delta's bytes, ms to its end, the whole
    body). The body is only kept here, parsed by `_chat_text` after the batch: a client
    that parsed every event as it came would take a core's share of the host from the
    server it measures."""
    started = time.perf_counter()
    first: float | None = None
    pieces: list[bytes] = []
    async with session.post(url, data=_chat_body(number),
                            headers={"content-type": "application/json"}) as response:
        if response.status != 200:
            raise AssertionError(f"/api/chat answered {response.status}: "
                                 f"{(await response.read())[:300]!r}")
        async for piece in response.content.iter_any():
            pieces.append(piece)
            # (an event split across two reads is found at the second)
            if first is None and _FIRST_TEXT in (b"".join(pieces[-2:]) if len(
                    pieces) > 1 else piece):
                first = time.perf_counter()
    assert first is not None, "a stream carried no text"
    return (first - started) * 1000, (time.perf_counter() - started) * 1000, b"".join(pieces)


def _chat_text(body: bytes) -> str:
    """The text of a /api/chat body's text-deltas, every event parsed (an error event is
    a failed run)."""
    text: list[str] = []
    for event in body.split(b"\n\n"):
        if not event.startswith(b"data: {"):
            continue
        chunk = json.loads(event[6:])
        kind = chunk["type"]
        if kind == "text-delta":
            text.append(chunk["delta"])
        elif kind == "error":
            raise AssertionError(f"/api/chat sent an error: {chunk['errorText']}")
    return "".join(text)


def _check_chat(run: tuple[float, float, bytes], where: str) -> None:
    _check((run[0], run[1], _chat_text(run[2])), where)


async def _served(model_url: str, streams: int, http: str) -> dict[str, Any]:
    import aiohttp

    app = ServedApp(model_url, http)
    try:
        app.wait_ready()
        url = app.url + "/api/chat"
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_read=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            _check_chat(await _read_chat(session, url, -1), "served (warm-up)")
            cpu0, wall0 = app.cpu_s(), time.perf_counter()
            runs = await asyncio.gather(*(_read_chat(session, url, n) for n in range(streams)))
            wall1, cpu1 = time.perf_counter(), app.cpu_s()
        for run in runs:  # parsed now, outside the measured batch
            _check_chat(run, "served")
        return _summary(runs, _elapsed(cpu0, cpu1), wall1 - wall0, streams)
    finally:
        app.stop()


def b9_serve_load(base_url: str, streams: int, mode: str, http: str = "auto") -> dict[str, Any]:
    """One side of B9 (`mode` "served" or "in-process"), in a fresh worker process; `http`:
    uvicorn's HTTP implementation ("auto": httptools if installed, else h11)."""
    if mode == "served":
        return {**asyncio.run(_served(base_url, streams, http)), "http": _http_used(http)}
    if mode == "in-process":
        return asyncio.run(_in_process(base_url, streams))
    raise ValueError(f"mode must be 'served' or 'in-process', got {mode!r}")


def _http_used(http: str) -> str:
    if http != "auto":
        return http
    try:
        import httptools  # noqa: F401
    except ImportError:
        # What users get is httptools (the serve extra installs it); h11 costs about 450
        # more opcodes a token (1,893 against 1,435 at 48ed65d), so say it loudly.
        print("serve_load: httptools is not installed, so uvicorn runs h11, which "
              "`pip install selectools[serve]` does not give: these are not the served "
              "numbers users get (pip install httptools)", file=sys.stderr)
        return "h11"
    return "httptools"


# -- opcodes per token ----------------------------------------------------------------------

#: The event loop's own work per wakeup and per second (see the module doc), left out of "work".
_LOOP = re.compile(
    r"^(selectors\.py|uvicorn/server\.py|asyncio/base_events\.py:\d+\((_run_once|time|call_at|"
    r"call_later|_add_callback|get_debug|_check_closed|_timer_handle_cancelled)\)|"
    r"asyncio/selector_events\.py:\d+\(_process_events\)|"
    r"asyncio/events\.py:\d+\((__lt__|cancel|__init__|_run)\)|asyncio/tasks\.py:\d+\(sleep\))")


def _where(filename: str) -> str:
    return re.sub(r"^.*/(site-packages|src|lib/python3\.\d+)/", "", filename).removeprefix(
        str(ROOT) + "/")


class _Counter:
    """Opcodes executed on this thread while on, by function (`file:line(name)`)."""

    def __init__(self) -> None:
        self.counts: collections.Counter[tuple[str, str, int]] = collections.Counter()

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            self.counts[code.co_filename, code.co_name, code.co_firstlineno] += 1
        return self._trace

    def __enter__(self) -> None:
        sys.settrace(self._trace)

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)

    def per_token(self, runs: int) -> dict[str, float]:
        tokens = runs * TOKENS_PER_RUN
        return {f"{_where(f)}:{line}({name})": n / tokens
                for (f, name, line), n in self.counts.items()}


async def _opcodes_in_process(model_url: str, runs: int) -> dict[str, float]:
    from selectools import AgentResult

    from .agent_client import make_agent

    agent = make_agent(model_url)

    async def one() -> None:
        text = []
        async for item in agent.astream(scenario.PROMPT, events=True):
            if isinstance(item, AgentResult):
                break
            if item.event is None and item.content:
                text.append(item.content)
        _check((0.0, 0.0, "".join(text)), "in-process")

    await one()  # warm-up
    counter = _Counter()
    with counter:
        for _ in range(runs):
            await one()
    await agent.provider.aclose()
    return counter.per_token(runs)


async def _opcodes_served(model_url: str, runs: int, http: str) -> dict[str, float]:
    import aiohttp
    import uvicorn

    from selectools.serve import create_app

    from .agent_client import make_agent

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/api/chat"
    client_loop = asyncio.new_event_loop()  # the client's thread: not traced
    threading.Thread(target=client_loop.run_forever, daemon=True).start()

    async def client(count: int) -> None:
        async with aiohttp.ClientSession() as session:
            for number in range(count):
                _check_chat(await _read_chat(session, url, number), "served")

    def on_client(count: int) -> Any:
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(client(count), client_loop))

    config = uvicorn.Config(create_app(make_agent(model_url)), loop="asyncio", http=http,
                            lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[listener]))
    while not server.started:
        await asyncio.sleep(0.05)
    await on_client(1)  # warm-up
    counter = _Counter()
    with counter:
        await on_client(runs)
    server.should_exit = True
    await serving
    client_loop.call_soon_threadsafe(client_loop.stop)
    return counter.per_token(runs)


def opcodes(runs: int, pace_us: int, http: str = "auto") -> dict[str, Any]:
    """Opcodes per streamed token, served and in-process, by function (see the module doc)."""
    from .server import ServerProcess

    with ServerProcess() as model:
        url = model.base_url(pace_us, 1)
        served = asyncio.run(_opcodes_served(url, runs, http))
        local = asyncio.run(_opcodes_in_process(url, runs))

    def totals(counts: dict[str, float]) -> dict[str, float]:
        loop = sum(n for where, n in counts.items() if _LOOP.match(where))
        return {"total": sum(counts.values()), "loop": loop,
                "work": sum(counts.values()) - loop}

    return {"runs": runs, "pace_us": pace_us, "http": _http_used(http),
            "served": totals(served), "in_process": totals(local),
            "served_by_function": served, "in_process_by_function": local}


def render_opcodes(result: dict[str, Any], top: int) -> str:
    served, local = result["served"], result["in_process"]
    lines = [f"B9 opcodes per streamed token ({result['runs']} runs one at a time, model pacing "
             f"{result['pace_us']} us per event, uvicorn http={result['http']})",
             "| | served (/api/chat) | in-process (Agent.astream) | ratio |", "|---|---|---|---|"]
    for key in ("work", "loop", "total"):
        lines.append(f"| {key} | {served[key]:.1f} | {local[key]:.1f} | "
                     f"{served[key] / local[key]:.2f}x |")
    by_served, by_local = result["served_by_function"], result["in_process_by_function"]
    rows = sorted(set(by_served) | set(by_local),
                  key=lambda k: -abs(by_served.get(k, 0.0) - by_local.get(k, 0.0)))
    lines.append(f"\nserved - in-process, the {top} largest differences by function:")
    for where in rows[:top]:
        a, b = by_served.get(where, 0.0), by_local.get(where, 0.0)
        lines.append(f"{a - b:+9.2f}  {a:8.2f} {b:8.2f}  {where}"
                     f"{'  (loop)' if _LOOP.match(where) else ''}")
    return "\n".join(lines)


# -- the runner ---------------------------------------------------------------------------

def compare(served: list[dict[str, Any]], local: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds, the two ratios, and whether each is within its budget."""
    def med(rounds: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    cpu = med(served, "cpu_us_per_token") / med(local, "cpu_us_per_token")
    p99 = med(served, "ttft_p99_ms") / med(local, "ttft_p99_ms")
    rows = [(key, med(served, key), med(local, key))
            for key in ("ttft_p50_ms", "ttft_p99_ms", "ttft_max_ms", "done_p50_ms",
                        "done_p99_ms", "cpu_us_per_token",
                        "user_us_per_token", "system_us_per_token", "cpu_s", "wall_s")]
    return {"rows": rows, "cpu_ratio": cpu, "ttft_p99_ratio": p99,
            "cpu_pass": cpu <= CPU_BUDGET, "ttft_pass": p99 <= TTFT_BUDGET}


def run(streams: int, pace_us: int, rounds: int, http: str = "auto") -> dict[str, Any]:
    from .server import ServerProcess

    with ServerProcess() as server:
        return run_against(server.base_url(pace_us, 1), streams, pace_us, rounds, http)


def run_against(url: str, streams: int, pace_us: int, rounds: int,
                http: str = "auto") -> dict[str, Any]:
    """B9 against a running loopback model server (`url` paced at `pace_us`)."""
    from .__main__ import run_worker

    served: list[dict[str, Any]] = []
    local: list[dict[str, Any]] = []
    for _ in range(rounds):  # the two sides alternate, each in a fresh process
        served.append(run_worker("B9", {"base_url": url, "streams": streams,
                                        "mode": "served", "http": http}))
        local.append(run_worker("B9", {"base_url": url, "streams": streams,
                                       "mode": "in-process"}))
    return {"streams": streams, "pace_us": pace_us, "rounds": rounds,
            "http": served[0]["http"], "served": served,
            "in_process": local, **compare(served, local)}


def render(result: dict[str, Any]) -> str:
    labels = {"ttft_p50_ms": "TTFT p50 (ms)", "ttft_p99_ms": "TTFT p99 (ms)",
              "ttft_max_ms": "TTFT max (ms)", "done_p50_ms": "whole answer p50 (ms)",
              "done_p99_ms": "whole answer p99 (ms)",
              "cpu_us_per_token": "CPU per token (us)",
              "user_us_per_token": "  of which user (us)",
              "system_us_per_token": "  of which system (us)",
              "cpu_s": "CPU of the batch (s)", "wall_s": "wall of the batch (s)"}
    lines = [f"B9: {result['streams']} concurrent streams, model pacing "
             f"{result['pace_us']} us per event, uvicorn http={result['http']}, median of "
             f"{result['rounds']} round(s)",
             "| metric | served (/api/chat) | in-process (Agent.astream) | ratio |",
             "|---|---|---|---|"]
    for key, served, local in result["rows"]:
        lines.append(f"| {labels[key]} | {served:.4g} | {local:.4g} | {served / local:.2f}x |")
    lines.append(f"CPU per token {result['cpu_ratio']:.2f}x (budget <= {CPU_BUDGET}x): "
                 f"{'PASS' if result['cpu_pass'] else 'FAIL'}; TTFT p99 "
                 f"{result['ttft_p99_ratio']:.2f}x (budget <= {TTFT_BUDGET}x): "
                 f"{'PASS' if result['ttft_pass'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve_load",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=500, help="concurrent streams (500)")
    parser.add_argument("--pace-us", type=int, default=20_000,
                        help="the model server's pause after each event, in µs (20000: "
                             "50 tokens/s, a real model's pace)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds of both sides; medians are reported")
    parser.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto",
                        help="uvicorn's HTTP implementation (auto: httptools if installed)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw results here")
    parser.add_argument("--opcodes", action="store_true",
                        help="count opcodes per token instead (see above)")
    parser.add_argument("--runs", type=int, default=3, help="with --opcodes: runs a side (3)")
    parser.add_argument("--top", type=int, default=30, help="with --opcodes: functions listed")
    args = parser.parse_args(argv)
    if args.opcodes:
        counted = opcodes(args.runs, args.pace_us, args.http)
        print(render_opcodes(counted, args.top))
        if args.json:
            Path(args.json).write_text(json.dumps(counted, indent=2) + "\n")
        return 0
    result = run(args.streams, args.pace_us, args.rounds, args.http)
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["cpu_pass"] and result["ttft_pass"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
