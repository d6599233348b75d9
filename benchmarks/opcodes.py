"""Python opcodes executed per run, by function: the hot path's deterministic measure.

CPU time on a shared host wanders by 2x; the bytecodes a run executes do not. On these runs
selectools executes about as many machine instructions as the bulk loop and still costs
more CPU, because interpreted bytecode is the expensive kind (docs/DESIGN.md, principle 10):
opcodes per run are what a change to the hot path is measured by, CPU time confirms it.

    python -m benchmarks.opcodes agent whole      # B2's run through Agent.arun
    python -m benchmarks.opcodes agent stream     # B1 unpaced's run through Agent.astream
    python -m benchmarks.opcodes bulk whole       # the reference loop (bulk|line)
    python -m benchmarks.opcodes agent whole --top 80 --runs 20

Counted with `sys.settrace` opcode events (slow: the run takes seconds, but every count is
exact), against the loopback server in its own process, after warm-up runs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import sys
from pathlib import Path
from types import FrameType
from typing import Any

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

    async def main(url: str) -> None:
        client = CLIENTS[client_name](url)
        run = client.run_whole if mode == "whole" else client.run_stream
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
    by_package: collections.Counter[str] = collections.Counter()
    for (filename, _, _), n in counts.items():
        by_package[_package(filename)] += n
    return {
        "total": sum(counts.values()) / runs,
        "by_package": {name: n / runs for name, n in by_package.most_common()},
        "by_function": [(f"{_where(filename)}:{line}({name})", n / runs)
                        for (filename, name, line), n in counts.most_common()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("mode", choices=["whole", "stream"])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=40, help="functions listed")
    args = parser.parse_args(argv)
    counted = count(args.client, args.mode, args.runs)
    print(f"{args.client} {args.mode}: {counted['total']:.0f} opcodes a run")
    print("  " + ", ".join(f"{name} {n:.0f}" for name, n in counted["by_package"].items()))
    for where, n in counted["by_function"][:args.top]:
        print(f"{n:9.1f}  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
