"""B10: what a session store adds to a run: B2's run (`Agent.arun` against the loopback
model server: text, three tool calls, the tools, the answer) with a session store, side by
side with the same runs without one, interleaved run by run.

- CPU and wall per run for each store (every thread's CPU: the store's own thread
  included). Each run opens a new session (a load that finds nothing, a commit that
  creates it), so that the model is sent exactly B2's request; `warm` is the store alone,
  loading and committing a session of 10 messages (one run's worth on top of an existing
  conversation).
- Round trips per run for Redis (commands counted by the server, INFO commandstats) and
  PostgreSQL (statements counted by the server, pg_stat_database.xact_commit).
- 200 concurrent runs over 200 sessions on one SQLite file: every one must commit, with no
  "database is locked" error.

Budget (issue 15): SQLite adds at most 25 % to B2's CPU per run; Redis and PostgreSQL at
most two round trips per run. Redis and PostgreSQL are started here on 127.0.0.1 from
Debian's packages when installed (else reported as skipped).

    python -m benchmarks.sessions                  # 60 runs per client
    python -m benchmarks.sessions --iterations 20

Registered as case B10 in `cases.py` (`b10_sessions`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from . import scenario
from .agent_client import make_agent

SQLITE_CPU_BUDGET, ROUND_TRIP_BUDGET = 1.25, 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(port: int, process: subprocess.Popen[bytes]) -> None:
    give_up = time.monotonic() + 30
    while time.monotonic() < give_up and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no server on port {port}")


@contextmanager
def _process(command: list[str], port: int) -> Iterator[None]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(port, process)
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def redis_server() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port, folder = _free_port(), tempfile.mkdtemp()
    with _process([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                   "--save", "", "--appendonly", "no"], port):
        yield f"redis://127.0.0.1:{port}/0"
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str | None]:
    tools = next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
                  if (p / "initdb").exists()), None)
    if tools is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp())
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
    subprocess.run([*as_user, str(tools / "initdb"), "-D", str(folder / "data"), "-U",
                    "bench", "--auth=trust", "--no-sync"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = _free_port()
    # fsync stays on: a commit is measured as it would cost.
    with _process([*as_user, str(tools / "postgres"), "-D", str(folder / "data"), "-p",
                   str(port), "-k", str(folder), "-c", "listen_addresses=127.0.0.1"], port):
        time.sleep(0.5)  # the port opens before connections are accepted
        yield f"postgresql://bench@127.0.0.1:{port}/postgres"
    shutil.rmtree(folder, ignore_errors=True)


def _stores(folder: str, redis_url: str | None, postgres_dsn: str | None) -> dict[str, Any]:
    from selectools.sessions import JsonFileSessionStore, SQLiteSessionStore

    stores: dict[str, Any] = {"sqlite": SQLiteSessionStore(os.path.join(folder, "s.db")),
                              "json": JsonFileSessionStore(os.path.join(folder, "json"))}
    if redis_url is not None:
        from selectools.sessions import RedisSessionStore

        stores["redis"] = RedisSessionStore(redis_url)
    if postgres_dsn is not None:
        from selectools.sessions import PostgresSessionStore

        stores["postgres"] = PostgresSessionStore(postgres_dsn)
    return stores


class _CountingPool:
    """An asyncpg pool that counts the queries sent through it: each is one round trip
    (asyncpg caches each connection's prepared statements; the warm-up runs fill it)."""

    def __init__(self, pool: Any) -> None:
        self.pool, self.queries = pool, 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.pool, name)
        if name not in ("fetchrow", "fetchval", "fetch", "execute"):
            return attribute

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.queries += 1
            return await attribute(*args, **kwargs)
        return counted


_redis_commands = [0]


async def _round_trips(kind: str, store: Any) -> int:
    """How many commands (Redis) or queries (PostgreSQL) the store sent, counted on the
    way out: one round trip each (a Lua script is one command, whatever it runs)."""
    if kind == "redis":
        client = store._client()
        if not getattr(client, "_counted", False):
            send = client.execute_command

            async def counted(*args: Any, **options: Any) -> Any:
                _redis_commands[0] += 1
                return await send(*args, **options)
            client.execute_command, client._counted = counted, True
        return _redis_commands[0]
    pool = await store._pool()
    if not isinstance(pool, _CountingPool):
        import asyncio

        pool = store._pools[asyncio.get_running_loop()] = _CountingPool(pool)
    return int(pool.queries)


async def _measure(base_url: str, iterations: int, warmup: int, folder: str,
                   redis_url: str | None, postgres_dsn: str | None) -> dict[str, Any]:
    from selectools import AgentConfig

    stores = _stores(folder, redis_url, postgres_dsn)
    agents: dict[str, Any] = {"none": make_agent(base_url)}
    for kind, store in stores.items():
        agent = make_agent(base_url)
        agent.config = AgentConfig(session_store=store)
        agents[kind] = agent
    numbers = iter(range(10**9))

    async def one(kind: str) -> str | None:
        agent = agents[kind]
        session = None if kind == "none" else f"run-{next(numbers)}"
        result = await agent.arun(scenario.PROMPT, session_id=session)
        scenario.check_answer(result.content, kind)
        return session

    async def check(kind: str, session: str | None) -> None:
        if session is not None and (await stores[kind].aload_state(session)).version != 1:
            raise AssertionError(f"{kind}: the run did not commit its session")

    for kind in agents:
        for _ in range(warmup):
            await check(kind, await one(kind))
        if kind in ("redis", "postgres"):
            await _round_trips(kind, stores[kind])
    cpu: dict[str, list[float]] = {kind: [] for kind in agents}
    wall: dict[str, list[float]] = {kind: [] for kind in agents}
    trips: dict[str, int] = {kind: 0 for kind in ("redis", "postgres") if kind in stores}
    kinds = list(agents)
    for i in range(iterations):
        for k in range(len(kinds)):
            kind = kinds[(i + k) % len(kinds)]
            before = await _round_trips(kind, stores[kind]) if kind in trips else 0
            cpu0, wall0 = time.process_time(), time.perf_counter()
            session = await one(kind)
            wall1, cpu1 = time.perf_counter(), time.process_time()
            if kind in trips:
                trips[kind] += await _round_trips(kind, stores[kind]) - before
            await check(kind, session)
            cpu[kind].append((cpu1 - cpu0) * 1000)
            wall[kind].append((wall1 - wall0) * 1000)
    warm = {kind: await _warm_store_ms(store) for kind, store in stores.items()}
    for agent in agents.values():
        await agent.provider.aclose()
    for store in stores.values():
        await store.aclose()
    import statistics

    base = statistics.median(cpu["none"])
    return {kind: {"cpu_ms": statistics.median(cpu[kind]),
                   "wall_ms": statistics.median(wall[kind]),
                   "cpu_ratio": statistics.median(cpu[kind]) / base,
                   **({"round_trips_per_run": trips[kind] / iterations} if kind in trips
                      else {}),
                   **({"warm_load_commit_ms": warm[kind]} if kind in warm else {})}
            for kind in agents}


async def _warm_store_ms(store: Any, rounds: int = 50) -> float:
    """Load and commit a session that has a run's 10 messages on top of 10 others."""
    from selectools import Message, Role

    state = await store.aload_state("warm")
    state.messages = [Message(role=Role.USER, content=f"message {n} " * 20) for n in range(10)]
    await store.acommit(state, expected_version=state.version)
    started = time.process_time()
    for _ in range(rounds):
        state = await store.aload_state("warm")
        loaded = len(state.messages)
        state.messages = state.messages[-10:] + [
            Message(role=Role.ASSISTANT, content="an answer " * 20)] * 10
        await store.acommit(state, expected_version=state.version, new_from=loaded)
    return (time.process_time() - started) * 1000 / rounds


async def _concurrent(base_url: str, folder: str, runs: int = 200) -> dict[str, Any]:
    from selectools import AgentConfig
    from selectools.sessions import SQLiteSessionStore

    store = SQLiteSessionStore(os.path.join(folder, "concurrent.db"))
    agent = make_agent(base_url)
    agent.config = AgentConfig(session_store=store)
    wall0 = time.perf_counter()
    results = await asyncio.gather(*(agent.arun(scenario.PROMPT, session_id=f"c{n}")
                                     for n in range(runs)), return_exceptions=True)
    wall = time.perf_counter() - wall0
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    committed = len(await store.alist())
    await agent.provider.aclose()
    await store.aclose()
    return {"runs": runs, "errors": errors[:3], "error_count": len(errors),
            "sessions_committed": committed, "wall_s": wall}


def b10_sessions(base_url: str, iterations: int, warmup: int) -> dict[str, Any]:
    """B10 (see this module's docstring), against the model server at `base_url`."""
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server())
        postgres_dsn = stack.enter_context(postgres_server())
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        per_run = asyncio.run(_measure(base_url, iterations, warmup, folder, redis_url,
                                       postgres_dsn))
        concurrent = asyncio.run(_concurrent(base_url, folder))
    skipped = [kind for kind, url in (("redis", redis_url), ("postgres", postgres_dsn))
               if url is None]
    return {"per_run": per_run, "concurrent_sqlite": concurrent, "skipped": skipped}


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool]]:
    per_run = result["per_run"]
    checks = [(f"SQLite CPU {per_run['sqlite']['cpu_ratio']:.2f}x B2 (<= {SQLITE_CPU_BUDGET})",
               per_run["sqlite"]["cpu_ratio"] <= SQLITE_CPU_BUDGET)]
    for kind in ("redis", "postgres"):
        if kind in per_run:
            trips = per_run[kind]["round_trips_per_run"]
            checks.append((f"{kind}: {trips:.2f} round trips per run (<= 2)",
                           trips <= ROUND_TRIP_BUDGET))
    concurrent = result["concurrent_sqlite"]
    checks.append((f"200 concurrent runs on SQLite: {concurrent['error_count']} errors, "
                   f"{concurrent['sessions_committed']} sessions committed",
                   concurrent["error_count"] == 0 and concurrent["sessions_committed"] == 200))
    return checks


def main(argv: list[str] | None = None,
         run: Callable[..., dict[str, Any]] = b10_sessions) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sessions")
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--json", help="write the raw numbers to this file")
    args = parser.parse_args(argv)
    from .server import ServerProcess

    with ServerProcess() as server:
        result = run(server.base_url(0, 1), args.iterations, args.warmup)
    print(json.dumps(result, indent=2))
    ok = True
    for text, passed in verdicts(result):
        print(("PASS " if passed else "FAIL ") + text)
        ok = ok and passed
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
