"""Machine work per run, C included: instructions, cache misses and branch mispredictions.

`benchmarks.opcodes` counts the Python opcodes a run executes; it misses the work done in C
(JSON encoding, aiohttp's parser, the allocator, attribute lookups that miss their cache).
This counts everything the client process executes, with valgrind's cachegrind (simulated
caches and branch predictor): a client process runs `warmup` runs and then `runs` runs, a
second one the warm-up only, and the difference over `runs` is one run's work. Exact up to
the event loop's timing (under valgrind a client is ~30x slower, so an answer is always
waiting when it reads), and the same on any host.

    python -m benchmarks.instructions                   # agent and bulk loop, whole runs
    python -m benchmarks.instructions agent bulk --mode stream --runs 100

It needs valgrind (`apt-get install valgrind`); 400 whole runs take about 40 s a process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .opcodes import CLIENTS
from .server import ServerProcess

#: The summary lines cachegrind writes, and what each is called here.
_COUNTERS = {"I refs": "instructions", "I1 misses": "first-level instruction cache misses",
             "D refs": "data reads and writes", "D1 misses": "first-level data cache misses",
             "Branches": "branches", "Mispredicts": "branch mispredictions"}
_ROOT = Path(__file__).resolve().parent.parent


def _child(client_name: str, mode: str, runs: int, warmup: int) -> None:
    """The measured process: the server in its own (untraced) process, then the runs."""
    async def main(url: str) -> None:
        client = CLIENTS[client_name](url)
        run = client.run_whole if mode == "whole" else client.run_stream
        for _ in range(warmup + runs):
            await run()
        await client.aclose()

    with ServerProcess() as server:
        asyncio.run(main(server.base_url(0, 1 if mode == "whole" else 1000)))


def _counted(client_name: str, mode: str, runs: int, warmup: int) -> dict[str, int]:
    """cachegrind's totals for one client process of `warmup` + `runs` runs."""
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes",
               "--cachegrind-out-file=/dev/null", sys.executable, "-m",
               "benchmarks.instructions", "--child", client_name, "--mode", mode,
               "--runs", str(runs), "--warmup", str(warmup)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=_ROOT,
                          env=os.environ, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{client_name} under valgrind failed:\n{done.stderr[-2000:]}")
    totals: dict[str, int] = {}
    for label in _COUNTERS:
        words = r"\s+".join(label.split())  # (cachegrind pads its labels: "I   refs")
        found = re.search(rf"== {words}:\s+([\d,]+)", done.stderr)
        if found is None:
            raise RuntimeError(f"no {label!r} line in valgrind's summary:\n{done.stderr[-2000:]}")
        totals[label] = int(found.group(1).replace(",", ""))
    return totals


def per_run(client_name: str, mode: str, runs: int, warmup: int = 20) -> dict[str, float]:
    """One run's counts: (warm-up + runs) minus warm-up alone, over `runs`."""
    both = _counted(client_name, mode, runs, warmup)
    alone = _counted(client_name, mode, 0, warmup)
    return {label: (both[label] - alone[label]) / runs for label in _COUNTERS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clients", nargs="*", help=f"of {sorted(CLIENTS)} (agent bulk)")
    parser.add_argument("--mode", choices=["whole", "stream"], default="whole")
    parser.add_argument("--runs", type=int, default=None,
                        help="runs counted (400 whole, 100 stream)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.clients = args.clients or ["agent", "bulk"]
    if unknown := set(args.clients) - set(CLIENTS):
        parser.error(f"unknown clients {sorted(unknown)}: choose from {sorted(CLIENTS)}")
    runs = args.runs if args.runs is not None else (400 if args.mode == "whole" else 100)
    if args.child:
        _child(args.clients[0], args.mode, runs, args.warmup)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    counted = {name: per_run(name, args.mode, runs, args.warmup) for name in args.clients}
    names = list(counted)
    print(f"{args.mode} runs, per run ({runs} runs after {args.warmup} of warm-up):")
    print(f"{'':38}" + "".join(f"{name:>14}" for name in names)
          + ("       ratio" if len(names) == 2 else ""))
    for label, meaning in _COUNTERS.items():
        values = [counted[name][label] for name in names]
        ratio = f"{values[0] / values[1]:11.2f}x" if len(values) == 2 and values[1] else ""
        print(f"{meaning:38}" + "".join(f"{value:14,.0f}" for value in values) + ratio)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
