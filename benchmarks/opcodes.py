"""Python opcodes executed per run, by function: the hot path's deterministic measure.

CPU time on a shared host wanders by 2x; the bytecodes a run executes do not. On these runs
selectools executes about as many machine instructions as the bulk loop and still costs
more CPU, because interpreted bytecode is the expensive kind (docs/DESIGN.md, principle 10):
opcodes per run are what a change to the hot path is measured by, CPU time confirms it.

    python -m benchmarks.opcodes agent whole      # B2's run through Agent.arun
    python -m benchmarks.opcodes agent stream     # B1 unpaced's run through Agent.astream
    python -m benchmarks.opcodes bulk whole       # the reference loop (bulk|line)
    python -m benchmarks.opcodes agent whole --top 80 --runs 20
    python -m benchmarks.opcodes agent batch      # a batch item: abatch, 50 at once, held
    python -m benchmarks.opcodes bulk batch       # the loop under a semaphore, 50 at once

Counted with `sys.settrace` opcode events (slow: the run takes seconds, but every count is
exact), against the loopback server in its own process, after warm-up runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import re
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from . import scenario
from .agent_client import AgentClient
from .baseline import AiohttpLoop, BulkLoop
from .server import ServerProcess

#: The repository's directory: the benchmarks' own files are shown under it.
_ROOT = str(Path(__file__).resolve().parent.parent)
CLIENTS = {"agent": AgentClient, "bulk": BulkLoop, "line": AiohttpLoop}


def _where(filename: str) -> str:
    """A function's file as its module's path: `selectools/agent/run.py`, `json/decoder.py`."""
    where = re.sub(r"^.*/(site-packages|src|lib/python3\.\d+)/", "", filename)
    return where.removeprefix(_ROOT + "/")


def _package(filename: str) -> str:
    """The top package of a function's file (`selectools`, `asyncio`, `json`, `<string>`)."""
    return _where(filename).split("/", 1)[0].removesuffix(".py")


def count(client_name: str, mode: str, runs: int, warmup: int = 5) -> dict[str, Any]:
    """Opcodes per run of `runs` runs (after `warmup`): the total, by package, by function."""
    counts: collections.Counter[tuple[str, str, int]] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[code.co_filename, code.co_name, code.co_firstlineno] += 1
        return tracer

    # A batch: one batch of `runs` inputs, 50 at once, after one of warm-up; per input.
    inputs = runs if mode == "batch" else 0
    if inputs:
        runs, warmup = 1, 1

    async def main(url: str) -> None:
        client = CLIENTS[client_name](url)
        run = client.run_whole if mode == "whole" else client.run_stream
        if inputs:
            run = functools.partial(_batch, client, inputs)
        for _ in range(warmup):
            await run()
        sys.settrace(tracer)
        try:
            for _ in range(runs):
                await run()
        finally:
            sys.settrace(None)
        await client.aclose()

    with ServerProcess() as server:
        # Whole answers in one write; streams unpaced, all events at once (B1 unpaced).
        asyncio.run(main(server.base_url(0, 1 if mode == "whole" else 1000)))
    runs = inputs or runs
    by_package: collections.Counter[str] = collections.Counter()
    for (filename, _, _), n in counts.items():
        by_package[_package(filename)] += n
    return {
        "total": sum(counts.values()) / runs,
        "by_package": {name: n / runs for name, n in by_package.most_common()},
        "by_function": [(f"{_where(filename)}:{line}({name})", n / runs)
                        for (filename, name, line), n in counts.most_common()],
    }


#: The expected answer, made before anything is counted.
_ANSWER = scenario.expected_answer()


async def _batch(client: Any, inputs: int) -> None:
    """`inputs` whole runs 50 at once: the agent's by `abatch` (results held), a loop's
    under a semaphore (batch_bench's two sides)."""
    from selectools.batch import abatch

    if isinstance(client, AgentClient):
        results = await abatch(client.agent, [scenario.PROMPT] * inputs, max_concurrency=50)
        answers = [result.content for result in results]
    else:
        gate = asyncio.Semaphore(50)

        async def one() -> str:
            async with gate:
                return str(await client.run_whole())

        answers = await asyncio.gather(*(one() for _ in range(inputs)))
    if answers != [_ANSWER] * inputs:  # (the expected answer made once: not counted)
        raise AssertionError(f"a wrong answer in the batch: {answers[0][:160]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("mode", choices=["whole", "stream", "batch"])
    parser.add_argument("--runs", type=int, default=None,
                        help="runs counted (20), or a batch's inputs (200)")
    parser.add_argument("--top", type=int, default=40, help="functions listed")
    args = parser.parse_args(argv)
    runs = args.runs or (200 if args.mode == "batch" else 20)
    counted = count(args.client, args.mode, runs)
    print(f"{args.client} {args.mode}: {counted['total']:.0f} opcodes a run")
    print("  " + ", ".join(f"{name} {n:.0f}" for name, n in counted["by_package"].items()))
    for where, n in counted["by_function"][:args.top]:
        print(f"{n:9.1f}  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
