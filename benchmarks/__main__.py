"""`python -m benchmarks`: measure the agent against hand-written loops and print the table.

    python -m benchmarks                      # every case, default counts
    python -m benchmarks --cases B1,B6 --iterations 40 --json bench.json
    python -m benchmarks --quick              # tiny counts: proves the harness, not a number

Each case runs in a fresh worker process against one loopback server process; the ratios
compare clients measured in the same invocation, never against stored figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .baseline import httpx_available
from .server import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
ALL_CASES = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9")
AGENT, AIOHTTP, HTTPX = "selectools Agent", "aiohttp loop", "httpx loop"

#: Budgets: (metric key, comparison, limit). "ratio<=" compares selectools / aiohttp loop.
BUDGETS: dict[str, tuple[str, float, str]] = {
    "B1": ("ratio<=", 1.2, "CPU <= 1.2x aiohttp loop"),
    "B2": ("ratio<=", 1.2, "CPU <= 1.2x aiohttp loop"),
    "B3": ("ratio>=", 0.85, "runs/s >= 0.85x aiohttp loop"),
    "B4": ("value<=", 0.17, "wall <= 0.17 s"),
    "B5": ("value<=", 60.0, "import <= 60 ms"),
    "B6": ("value<=", 50.0, "<= 50 us per run"),
    # The ratio of B7 compares the Agent with events=True to the Agent without (B1's).
    "B7": ("ratio<=", 1.15, "CPU <= 1.15x B1's Agent"),
    "B8": ("ratio<=", 1.15, "CPU <= 1.15x B1's Agent"),
    # B9 compares /api/chat served by one uvicorn process to Agent.astream in-process; its
    # second budget (TTFT p99 <= 1.5x in-process) is checked on its own row.
    "B9": ("ratio<=", 1.3, "CPU <= 1.3x in-process"),
}
EVENTS = "selectools Agent events=True"
TYPED = "selectools Agent typed"


def run_worker(case: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run one case in a fresh process and return its JSON result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", "benchmarks.worker", case,
                           json.dumps(arguments)], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{done.stderr.strip()[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _row(case: str, metric: str, agent: float | None, aiohttp: float | None = None,
         httpx: float | None = None, unit: str = "", budget: bool = False,
         with_ratio: bool = True) -> dict[str, Any]:
    ratio = agent / aiohttp if with_ratio and agent is not None and aiohttp else None
    row: dict[str, Any] = {"case": case, "metric": metric, "unit": unit, "selectools": agent,
                           "aiohttp_loop": aiohttp, "httpx_loop": httpx, "ratio": ratio,
                           "budget": None, "pass": None}
    if budget:
        kind, limit, text = BUDGETS[case]
        row["budget"] = text
        if kind == "ratio<=":
            row["pass"] = ratio is not None and ratio <= limit
        elif kind == "ratio>=":
            row["pass"] = ratio is not None and ratio >= limit
        else:
            row["pass"] = agent is not None and agent <= limit
    return row


def _median(result: dict[str, Any], client: str, metric: str) -> float | None:
    entry = result.get(client)
    return float(entry[metric]["median"]) if entry else None


def measure(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    cases = [c.strip().upper() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - set(ALL_CASES)
    if unknown:
        raise SystemExit(f"unknown cases {sorted(unknown)}; pick from {', '.join(ALL_CASES)}")
    with_httpx = not args.no_httpx and httpx_available()
    rows: list[dict[str, Any]] = []
    raw: dict[str, Any] = {}
    with ServerProcess() as server:
        for case in cases:
            started = time.perf_counter()
            print(f"running {case} ...", file=sys.stderr, flush=True)
            if case in ("B1", "B2"):
                paced = case == "B1"
                url = server.base_url(args.pace_us if paced else 0, 1)
                worker = "B1" if paced else "B2"
                result = run_worker(worker, {"base_url": url, "iterations": args.iterations,
                                             "warmup": args.warmup, "with_httpx": with_httpx})
                raw[case] = result
                label = "streamed run" if paced else "whole run"
                rows.append(_row(case, f"client CPU per {label}",
                                 _median(result, AGENT, "cpu_ms"),
                                 _median(result, AIOHTTP, "cpu_ms"),
                                 _median(result, HTTPX, "cpu_ms"), "ms", budget=True))
                rows.append(_row(case, f"wall per {label}", _median(result, AGENT, "wall_ms"),
                                 _median(result, AIOHTTP, "wall_ms"),
                                 _median(result, HTTPX, "wall_ms"), "ms"))
                if paced:
                    burst = run_worker("B1", {"base_url": server.base_url(0, 1000),
                                              "iterations": args.iterations,
                                              "warmup": args.warmup, "with_httpx": with_httpx})
                    raw["B1-burst"] = burst
                    rows.append(_row("B1", "CPU per streamed run, unpaced (context)",
                                     _median(burst, AGENT, "cpu_ms"),
                                     _median(burst, AIOHTTP, "cpu_ms"),
                                     _median(burst, HTTPX, "cpu_ms"), "ms"))
            elif case == "B3":
                url = server.base_url(args.b3_pace_us, args.b3_group)
                clients = ["aiohttp", "agent"] + (["httpx"] if with_httpx else [])
                rounds: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
                for _ in range(args.b3_rounds):
                    for client in clients:
                        rounds[client].append(run_worker("B3", {
                            "base_url": url, "client": client, "runs": args.b3_runs,
                            "concurrency": args.b3_concurrency}))
                raw[case] = rounds

                def med(client: str, key: str,
                        rounds: dict[str, list[dict[str, Any]]] = rounds) -> float | None:
                    if client not in rounds:
                        return None
                    return float(statistics.median(r[key] for r in rounds[client]))

                rows.append(_row(case, f"runs/s ({args.b3_runs} runs, {args.b3_concurrency} "
                                       "at once)", med("agent", "runs_per_s"),
                                 med("aiohttp", "runs_per_s"), med("httpx", "runs_per_s"),
                                 "runs/s", budget=True))
                rows.append(_row(case, "client CPU per run", med("agent", "cpu_ms_per_run"),
                                 med("aiohttp", "cpu_ms_per_run"), med("httpx", "cpu_ms_per_run"),
                                 "ms"))
                rows.append(_row(case, "peak RSS", med("agent", "peak_rss_mb"),
                                 med("aiohttp", "peak_rss_mb"), med("httpx", "peak_rss_mb"), "MB"))
                rows.append(_row(case, "peak RSS growth during the runs",
                                 med("agent", "peak_growth_mb"), med("aiohttp", "peak_growth_mb"),
                                 med("httpx", "peak_growth_mb"), "MB", with_ratio=False))
            elif case == "B4":
                result = run_worker("B4", {"base_url": server.base_url(0, 1000),
                                           "repeats": args.b4_repeats})
                raw[case] = result
                for kind in ("async", "sync"):
                    rows.append(_row(case, f"wall of one run, 3 {kind} tools x 0.15 s",
                                     result[f"{kind}:{AGENT}"]["wall_s"]["median"],
                                     result[f"{kind}:{AIOHTTP}"]["wall_s"]["median"], None, "s",
                                     budget=True))
            elif case == "B5":
                result = run_worker("B5", {"repeats": args.b5_repeats})
                raw[case] = result
                rows.append(_row(case, "import selectools (fresh process)",
                                 result["import_ms"]["median"], None, None, "ms", budget=True))
                rows.append(_row(case, "import + first OpenAIProvider",
                                 result["import_and_provider_ms"]["median"], None, None, "ms"))
                rows.append(_row(case, "import + first OpenAIProvider and @tool",
                                 result["import_provider_and_tool_ms"]["median"], None, None,
                                 "ms"))
                rows.append(_row(case, "whole process: python -c 'import selectools'",
                                 result["process_wall_ms"]["median"], None, None, "ms"))
                rows.append(_row(case, "whole process: python -c pass (context)",
                                 result["empty_process_wall_ms"]["median"], None, None, "ms"))
                for module, stats in result["context_import_ms"].items():
                    rows.append(_row(case, f"import {module} alone (context)",
                                     stats["median"], None, None, "ms"))
            elif case == "B6":
                result = run_worker("B6", {"runs": args.b6_runs, "batches": args.b6_batches})
                raw[case] = result
                rows.append(_row(case, "Agent.arun, 2 iterations + 1 tool (LocalProvider)",
                                 result["arun_us"]["median"], None, None, "us", budget=True))
                rows.append(_row(case, "Agent.astream, same run (context)",
                                 result["astream_us"]["median"], None, None, "us"))
                rows.append(_row(case, "Agent.run (sync), same run (context)",
                                 result["run_sync_us"]["median"], None, None, "us"))
            elif case == "B7":
                result = run_worker("B7", {"base_url": server.base_url(args.pace_us, 1),
                                           "iterations": args.iterations,
                                           "warmup": args.warmup})
                raw[case] = result
                rows.append(_row(case, "client CPU per streamed run, events=True "
                                       "(2nd column: events=False)",
                                 _median(result, EVENTS, "cpu_ms"),
                                 _median(result, AGENT, "cpu_ms"), None, "ms", budget=True))
            elif case == "B8":
                result = run_worker("B8", {
                    "base_url": server.base_url(args.pace_us, 1, json_answer=True),
                    "iterations": args.iterations, "warmup": args.warmup})
                raw[case] = result
                rows.append(_row(case, "client CPU per streamed run, typed JSON answer with "
                                       "partial values (2nd column: as B1)",
                                 _median(result, TYPED, "cpu_ms"),
                                 _median(result, AGENT, "cpu_ms"), None, "ms", budget=True))
            elif case == "B9":
                rows.extend(_b9_rows(server, args, raw))
            print(f"  {case} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        raw["server_stats"] = server.stats()
    return rows, raw


def _b9_rows(server: ServerProcess, args: argparse.Namespace,
             raw: dict[str, Any]) -> list[dict[str, Any]]:
    from .serve_load import TTFT_BUDGET, run_against

    result = run_against(server.base_url(args.b9_pace_us, 1), args.b9_streams,
                         args.b9_pace_us, args.b9_rounds)
    raw["B9"] = result
    medians = {key: (served, local) for key, served, local in result["rows"]}
    at_once = f"{args.b9_streams} /api/chat streams at once (2nd column: Agent.astream)"
    rows = [_row("B9", f"server CPU per streamed token, {at_once}",
                 *medians["cpu_us_per_token"], unit="us", budget=True),
            _row("B9", "TTFT p99, same runs", *medians["ttft_p99_ms"], unit="ms"),
            _row("B9", "TTFT p50, same runs (context)", *medians["ttft_p50_ms"], unit="ms")]
    rows[1]["budget"] = f"p99 <= {TTFT_BUDGET}x in-process"
    rows[1]["pass"] = bool(result["ttft_pass"])
    return rows


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def render(rows: list[dict[str, Any]]) -> str:
    header = ["case", "metric", "unit", "selectools", "aiohttp loop", "httpx loop", "ratio",
              "budget", "result"]
    table = [header]
    for row in rows:
        result = "" if row["pass"] is None else ("PASS" if row["pass"] else "FAIL")
        table.append([row["case"], row["metric"], row["unit"], _fmt(row["selectools"]),
                      _fmt(row["aiohttp_loop"]), _fmt(row["httpx_loop"]),
                      f"{row['ratio']:.2f}x" if row["ratio"] is not None else "-",
                      row["budget"] or "", result])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) + " |"
             for line in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(ALL_CASES),
                        help="comma-separated cases to run (default: all)")
    parser.add_argument("--iterations", type=int, default=20,
                        help="B1/B2: measured runs per client (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="B1/B2: warm-up runs per client")
    parser.add_argument("--pace-us", type=int, default=1000,
                        help="B1: pause after each streamed event, in µs (default 1000)")
    parser.add_argument("--b3-runs", type=int, default=200)
    parser.add_argument("--b3-concurrency", type=int, default=50)
    parser.add_argument("--b3-rounds", type=int, default=3,
                        help="B3: fresh-process rounds per client; the median is reported")
    parser.add_argument("--b3-pace-us", type=int, default=0)
    parser.add_argument("--b3-group", type=int, default=1,
                        help="B3: events per server write (default 1)")
    parser.add_argument("--b4-repeats", type=int, default=5)
    parser.add_argument("--b5-repeats", type=int, default=15)
    parser.add_argument("--b6-runs", type=int, default=2000, help="B6: runs per batch")
    parser.add_argument("--b6-batches", type=int, default=5)
    parser.add_argument("--b9-streams", type=int, default=500,
                        help="B9: concurrent streams (default 500)")
    parser.add_argument("--b9-pace-us", type=int, default=20_000,
                        help="B9: the model's pause after each event, in µs (default 20000)")
    parser.add_argument("--b9-rounds", type=int, default=1,
                        help="B9: rounds of both sides, alternating; medians are reported")
    parser.add_argument("--no-httpx", action="store_true", help="skip the httpx loop")
    parser.add_argument("--quick", action="store_true",
                        help="tiny counts: checks the harness, the numbers mean nothing")
    parser.add_argument("--json", metavar="PATH", help="also write rows and raw results here")
    args = parser.parse_args(argv)
    if args.quick:
        args.iterations, args.warmup, args.pace_us = 2, 1, 0
        args.b3_runs, args.b3_concurrency, args.b3_rounds = 6, 3, 1
        args.b4_repeats, args.b5_repeats = 1, 1
        args.b6_runs, args.b6_batches = 20, 1
        args.b9_streams, args.b9_pace_us, args.b9_rounds = 3, 0, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows, raw = measure(args)
    print(render(rows))
    if args.json:
        document = {
            "command": "python -m benchmarks " + " ".join(argv if argv is not None
                                                          else sys.argv[1:]),
            "python": sys.version.split()[0], "platform": platform.platform(),
            "cpus": os.cpu_count(), "options": vars(args), "rows": rows, "raw": raw,
        }
        Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    failed = [row for row in rows if row["pass"] is False]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
