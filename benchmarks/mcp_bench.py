"""B10: the cost of one MCP tool call through selectools, against the `mcp` SDK's own client
calling the same server directly, over stdio and over streamable HTTP.

    python -m benchmarks.mcp_bench                  # 400 calls per side and transport
    python -m benchmarks.mcp_bench --calls 100 --transports stdio --json mcp.json

The server is one small MCPServer (the SDK's) in its own process, `add(a, b)`, started once
per transport. Over HTTP each side has a client and session of its own; over stdio (one
client per process) the SDK side calls through the SDK Client our connection holds, since
two server processes are not scheduled alike on a busy host. selectools
calls the Tool as the Agent does (`Tool.aexecute`: argument validation, the call, the
result read into text); the SDK side calls `Client.call_tool` and reads the text block.
Calls alternate in blocks of 20 between the two sides, so drift in the host's load falls on
both; every answer is checked. Per side: median wall time per call (microseconds, over the
blocks) and client CPU per call (`time.process_time`). Budget: selectools at most 1.10x
the SDK's wall time per call (both include the server's work, which is the same).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

BUDGET = 1.10
BLOCK = 20
SDK, OURS = "mcp SDK Client", "selectools MCP tool"


def serve(transport: str) -> None:
    """The benchmark's server (run in a child process)."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    if transport == "stdio":
        server.run()
        return
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"port {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(server.streamable_http_app(), log_level="warning")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def _server_command(transport: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.mcp_bench", "--serve", transport]


async def measure(transport: str, calls: int, url: str | None) -> dict[str, Any]:
    from mcp import Client
    from mcp_types import TextContent

    from selectools.mcp import MCPServer, MCPServerHTTP, MCPServerStdio

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ours: MCPServer
    async with contextlib.AsyncExitStack() as stack:
        if transport == "stdio":
            command = _server_command(transport)
            ours = await stack.enter_async_context(MCPServerStdio(
                command[0], command[1:], cwd=root, env={"PYTHONPATH": root}))
            # Each stdio client has a server process of its own, and on a busy host two
            # processes are not scheduled alike: the SDK side calls through the very
            # Client our connection holds (one process, one client; our layer the only
            # difference).
            client: Any = _client_of(ours)
        else:  # two clients, each with a session of its own, on one server process
            ours = await stack.enter_async_context(MCPServerHTTP(url or ""))
            client = await stack.enter_async_context(Client(url or ""))
        (tool,) = [t for t in ours.tools() if t.name == "add"]

        async def by_sdk(i: int) -> str:
            result = await client.call_tool("add", {"a": i, "b": 1})
            block = result.content[0]
            assert isinstance(block, TextContent)
            return block.text

        async def by_us(i: int) -> str:
            return await tool.aexecute({"a": i, "b": 1})

        sides: dict[str, Callable[[int], Awaitable[str]]] = {SDK: by_sdk, OURS: by_us}
        for call in sides.values():  # warm both paths up
            for i in range(BLOCK):
                assert await call(i) == str(i + 1)
        walls: dict[str, list[float]] = {name: [] for name in sides}
        cpus: dict[str, float] = dict.fromkeys(sides, 0.0)
        done = 0
        while done < calls:
            for name, call in sides.items():
                cpu, wall = time.process_time(), time.perf_counter()
                for i in range(done, done + BLOCK):
                    assert await call(i) == str(i + 1), name
                walls[name].append((time.perf_counter() - wall) / BLOCK)
                cpus[name] += time.process_time() - cpu
            done += BLOCK
    result: dict[str, Any] = {"transport": transport, "calls": done}
    for name in sides:
        result[name] = {"wall_us": statistics.median(walls[name]) * 1e6,
                        "cpu_us": cpus[name] / done * 1e6}
    result["ratio"] = result[OURS]["wall_us"] / result[SDK]["wall_us"]
    result["within_budget"] = result["ratio"] <= BUDGET
    return result


def _client_of(server: Any) -> Any:
    """The SDK Client under a connected server's connection on this loop."""
    return server._connections[asyncio.get_running_loop()].client


def run_transport(transport: str, calls: int) -> dict[str, Any]:
    if transport == "stdio":
        return asyncio.run(measure(transport, calls, None))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.Popen(_server_command(transport), stdout=subprocess.PIPE, text=True,
                               cwd=root, env={**os.environ, "PYTHONPATH": root})
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().split()[1])
        return asyncio.run(measure(transport, calls, f"http://127.0.0.1:{port}/mcp"))
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mcp_bench",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=400, help="calls per side and transport")
    parser.add_argument("--transports", default="stdio,http",
                        help="comma-separated: stdio, http (default both)")
    parser.add_argument("--json", default=None, metavar="FILE", help="write the results here")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    results = [run_transport(t.strip(), max(args.calls, BLOCK))
               for t in args.transports.split(",") if t.strip()]
    print(f"{'transport':<10} {'side':<22} {'wall us/call':>13} {'CPU us/call':>12}")
    for result in results:
        for side in (SDK, OURS):
            print(f"{result['transport']:<10} {side:<22} {result[side]['wall_us']:>13.0f} "
                  f"{result[side]['cpu_us']:>12.0f}")
        verdict = "ok" if result["within_budget"] else "OVER BUDGET"
        print(f"{result['transport']:<10} {'ratio (ours / SDK)':<22} {result['ratio']:>13.3f}"
              f"   budget <= {BUDGET:.2f}: {verdict}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"case": "B10", "budget": BUDGET, "results": results}, handle, indent=2)
    return 0 if all(result["within_budget"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
