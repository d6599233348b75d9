"""What streamed runs in flight hold for the cyclic GC, counted exactly (issue 19, B3).

    python -m benchmarks.gc_census agent --in-flight 500
    python -m benchmarks.gc_census bulk --in-flight 500
    python -m benchmarks.gc_census agent --in-flight 100 --top 40 --json census.json

B3's CPU per run grows with the runs in flight mostly in the collector: each full
collection walks every live tracked object, and each run in flight holds some. Three
counts, against a loopback server of this module's own (a child process) that streams the
second answer up to `--hold-after` events and then holds every such stream until told:

1. held: `--in-flight` streamed runs started at once, all of them waiting (the pool's
   100 connections each mid-way through a second answer, the other runs for a
   connection, their first answer and tools done), after `gc.collect()`: the tracked
   objects that exist then and did not before, per run, by type and by what holds them
   (the new object referring to it). Exact: the objects before are kept alive, so no
   address is reused.
2. garbage: the same runs released and finished, then `gc.collect()` with
   `gc.DEBUG_SAVEALL`: every object the collector found unreachable since the runs
   started (reference cycles a finished run left: its own defects, or its libraries').
3. collections: `--in-flight` runs started at once and streamed without a hold, with
   `gc.callbacks`: collections per run by generation, the objects each moved to an older
   generation (a young object alive at a collection survives into the next generation),
   and those it freed.

Counts do not depend on the host's load (the hold makes the state the same every time);
the collections of part 3 depend a little on the order in which runs progress.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import sys
import time
import urllib.request
from typing import Any

from . import scenario
from .agent_client import AgentClient
from .baseline import BulkLoop
from .server import ChildServer, stream_events_first, stream_events_second

CLIENTS = {"agent": AgentClient, "bulk": BulkLoop}
#: The connections in both clients' pools (aiohttp's TCPConnector limit, the provider's
#: POOL_SIZE): at most this many streams are mid-answer at once.
POOL = 100


# -- the holding server (a child process) -----------------------------------------------------

def make_app(hold_after: int) -> Any:
    """The scenario's streamed answers, each event in a write of its own; while armed, a
    second answer stops after `hold_after` events until `POST /release`."""
    from aiohttp import web

    first_events, second_events = stream_events_first(), stream_events_second()
    state = {"first": 0, "second": 0, "held": 0}
    gate = [asyncio.Event()]
    gate[0].set()

    async def completions(request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.read())
        second = scenario.tool_results_in(body) is not None
        if second and scenario.problem_with_results(body):
            return web.json_response({"error": {"message": "wrong tool results"}}, status=400)
        state["second" if second else "first"] += 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        events = second_events if second else first_events
        released = gate[0]
        for number, event in enumerate(events):
            if second and number == hold_after and not released.is_set():
                state["held"] += 1
                await released.wait()
                state["held"] -= 1
            await response.write(event)
        await response.write_eof()
        return response

    async def show(request: web.Request) -> web.Response:
        return web.json_response(state)

    async def arm(request: web.Request) -> web.Response:
        gate[0] = asyncio.Event()
        return web.json_response(state)

    async def release(request: web.Request) -> web.Response:
        gate[0].set()
        return web.json_response(state)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_get("/state", show)
    app.router.add_post("/arm", arm)
    app.router.add_post("/release", release)
    return app


async def serve(port: int, hold_after: int) -> None:
    from aiohttp import web

    runner = web.AppRunner(make_app(hold_after), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    server: Any = site._server
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


class HoldingServer(ChildServer):
    module = "benchmarks.gc_census"
    label = "holding server"

    def __init__(self, hold_after: int) -> None:
        super().__init__()
        self.hold_after = hold_after

    def arguments(self) -> list[str]:
        return ["serve", "--hold-after", str(self.hold_after)]

    def call(self, path: str) -> dict[str, int]:
        """`/state`, `/arm` or `/release` (blocking: a millisecond on the loopback)."""
        method = "GET" if path == "/state" else "POST"
        request = urllib.request.Request(self.url + path, method=method, data=None)
        with urllib.request.urlopen(request, timeout=10) as response:
            return dict(json.loads(response.read()))


# -- labels: what an object is, and what holds it -------------------------------------------

def _name(obj: object) -> str:
    """An object's type, with the code it runs for coroutines, generators, functions."""
    kind = type(obj)
    code = getattr(obj, "cr_code", None) or getattr(obj, "ag_code", None) \
        or getattr(obj, "gi_code", None) or getattr(obj, "__code__", None)
    if code is not None and hasattr(code, "co_qualname"):
        return f"{kind.__name__} {code.co_qualname}"
    if kind.__name__ == "method":
        return f"method {getattr(obj, '__func__', obj).__qualname__}"
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def census(new: list[object]) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """The new objects by type, and by type with its holder among the new objects."""
    ids = {id(obj): obj for obj in new}
    holder: dict[int, object] = {}
    for obj in new:
        for referent in gc.get_referents(obj):
            if id(referent) in ids and id(referent) not in holder:
                holder[id(referent)] = obj
    by_type: collections.Counter[str] = collections.Counter()
    by_holder: collections.Counter[str] = collections.Counter()
    for obj in new:
        name = _name(obj)
        by_type[type(obj).__name__] += 1
        parent = holder.get(id(obj))
        by_holder[f"{name}  <-  {_name(parent) if parent is not None else '(outside)'}"] += 1
    return by_type, by_holder


# -- the three counts -------------------------------------------------------------------------

class _Collections:
    """gc.callbacks: collections by generation, objects promoted, objects freed."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.promoted = [0, 0, 0]
        self.collected = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._older = 0
        self._started = 0.0
        #: What the gen-1 collections moved into gen 2, by type (and code): the objects
        #: alive long enough to be walked by every full collection until they die.
        self.into_gen2: collections.Counter[str] = collections.Counter()
        self.into_gen1: collections.Counter[str] = collections.Counter()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        generation = info["generation"]
        if phase == "start":
            # The young generations move into the next (gen 2 stays where it is).
            self._older = len(gc.get_objects(generation + 1)) if generation < 2 else 0
            self._started = time.process_time()
            return
        self.seconds[generation] += time.process_time() - self._started
        self.counts[generation] += 1
        self.collected[generation] += info["collected"]
        if generation < 2:
            older = gc.get_objects(generation + 1)
            moved = len(older) - self._older
            self.promoted[generation] += moved
            if moved > 0:
                # A collection appends its survivors to the next generation's list: the
                # last `moved` objects of it are what this one promoted.
                into = self.into_gen2 if generation == 1 else self.into_gen1
                into.update(census(older[-moved:])[1])


async def _wait_held(server: HoldingServer, runs: int) -> None:
    """Until every run waits: its first answer done, and each connection's second answer
    held (the other runs queued for a connection); then a moment for the client to read
    what was sent."""
    target = min(runs, POOL)
    deadline = time.monotonic() + 120
    while True:
        state = server.call("/state")
        if state["first"] >= runs and state["held"] >= target:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the runs never all waited: {state}")
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)


async def measure(client_name: str, runs: int, server: HoldingServer, slices: int = 3
                  ) -> dict[str, Any]:
    base_url = server.url + "/v1"
    client: Any = CLIENTS[client_name](base_url)
    expected = scenario.expected_answer()
    # Warm-up at the same level: every lazy import made, the pool's connections open.
    for answer in await asyncio.gather(*(client.run_stream() for _ in range(runs))):
        scenario.check_answer(answer, client.name)

    # 1. held
    gc.collect()
    before = gc.get_objects()
    known = set(map(id, before))
    server.call("/arm")
    tasks = [asyncio.ensure_future(client.run_stream()) for _ in range(runs)]
    await _wait_held(server, runs)
    gc.collect()
    mine = {id(before), id(known), id(tasks)}
    new = [obj for obj in gc.get_objects() if id(obj) not in known and id(obj) not in mine]
    held_types, held_holders = census(new)
    held_total = len(new)
    del new

    # 2. garbage, of the same runs finished
    gc.garbage.clear()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        server.call("/release")
        answers = await asyncio.gather(*tasks)
        del tasks
        await asyncio.sleep(0.2)  # (the connections' last callbacks)
        gc.collect()
        garbage = [obj for obj in gc.garbage if id(obj) not in known]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    for answer in answers:
        if answer != expected:
            raise AssertionError(f"{client.name}: a wrong answer {answer[:120]!r}")
    garbage_types, garbage_holders = census(garbage)
    garbage_total = len(garbage)
    del garbage, before, known

    # 3. collections, runs streamed without a hold: B3's batches (`max(200, 2 x level)`
    # runs, `level` at once), `slices` of them
    streamed = max(200, 2 * runs) * slices
    gate = asyncio.Semaphore(runs)

    async def one() -> str:
        async with gate:
            return str(await client.run_stream())

    gc.collect()
    tracker = _Collections()
    gc.callbacks.append(tracker)
    try:
        for _ in range(slices):
            answers = await asyncio.gather(*(one() for _ in range(streamed // slices)))
            for answer in answers:
                if answer != expected:
                    raise AssertionError(f"{client.name}: a wrong answer {answer[:120]!r}")
    finally:
        gc.callbacks.remove(tracker)
    await client.aclose()
    events = len(stream_events_first()) + len(stream_events_second())
    return {
        "client": client.name, "in_flight": runs, "on_the_wire": min(runs, POOL),
        "hold_after": server.hold_after, "events_per_run": events,
        "held_per_run": held_total / runs,
        "held_by_type": {k: v / runs for k, v in held_types.most_common()},
        "held_by_holder": {k: v / runs for k, v in held_holders.most_common()},
        "garbage_per_run": garbage_total / runs,
        "garbage_by_type": {k: v / runs for k, v in garbage_types.most_common()},
        "garbage_by_holder": {k: v / runs for k, v in garbage_holders.most_common()},
        "streamed_runs": streamed,
        "collections_per_run": [n / streamed for n in tracker.counts],
        "promoted_per_run": [n / streamed for n in tracker.promoted[:2]],
        "freed_per_run": [n / streamed for n in tracker.collected],
        "into_gen1_per_run": {k: v / streamed for k, v in tracker.into_gen1.most_common()},
        "into_gen2_per_run": {k: v / streamed for k, v in tracker.into_gen2.most_common()},
        "gc_ms_per_run": [s * 1000 / streamed for s in tracker.seconds],
    }


def _show(out: dict[str, Any], top: int) -> None:
    runs = out["in_flight"]
    print(f"{out['client']}: {runs} streamed runs in flight ({out['on_the_wire']} mid-way "
          f"through a second answer, held after {out['hold_after']} of its events; "
          f"the others queued for a connection)")
    print(f"  held: {out['held_per_run']:.2f} tracked objects a run")
    print("    " + ", ".join(f"{k} {v:.2f}" for k, v in list(out["held_by_type"].items())[:14]))
    for name, n in list(out["held_by_holder"].items())[:top]:
        print(f"    {n:8.2f}  {name}")
    print(f"  garbage left by the finished runs: {out['garbage_per_run']:.2f} objects a run")
    for name, n in list(out["garbage_by_holder"].items())[:top]:
        print(f"    {n:8.2f}  {name}")
    print(f"  {out['streamed_runs']} runs streamed, {runs} at once:")
    c, p, f = out["collections_per_run"], out["promoted_per_run"], out["freed_per_run"]
    ms = out["gc_ms_per_run"]
    print(f"  collections a run (gen 0/1/2): {c[0]:.3f} / {c[1]:.4f} / {c[2]:.4f}; "
          f"objects promoted a run gen0->1 {p[0]:.1f}, gen1->2 {p[1]:.1f} "
          f"({p[0] / out['events_per_run']:.3f} an event of {out['events_per_run']}); "
          f"freed {f[0]:.2f} / {f[1]:.2f} / {f[2]:.2f}; "
          f"ms a run {ms[0]:.4f} / {ms[1]:.4f} / {ms[2]:.4f}")
    print("  promoted into gen 1, a run, by type and holder:")
    for name, n in list(out["into_gen1_per_run"].items())[:top]:
        print(f"    {n:8.2f}  {name}")
    print("  promoted into gen 2, a run, by type and holder:")
    for name, n in list(out["into_gen2_per_run"].items())[:top]:
        print(f"    {n:8.2f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("client", choices=[*sorted(CLIENTS), "serve"])
    parser.add_argument("--in-flight", type=int, default=500)
    parser.add_argument("--hold-after", type=int, default=100,
                        help="events of the second answer sent before the hold")
    parser.add_argument("--top", type=int, default=25, help="holders listed")
    parser.add_argument("--json", help="write every count to this file")
    args = parser.parse_args(argv)
    if args.client == "serve":
        asyncio.run(serve(0, args.hold_after))
        return 0
    with HoldingServer(args.hold_after) as server:
        out = asyncio.run(measure(args.client, args.in_flight, server))
    _show(out, args.top)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(out, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
