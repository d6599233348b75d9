"""Starting the test servers: the toolbox over stdio (as an MCPServerStdio) or over HTTP (a
child process on 127.0.0.1, on a port it picks itself and prints, stopped by its pid)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selectools.mcp import MCPServerStdio

HERE = Path(__file__).parent
TOOLBOX = str(HERE / "toolbox.py")
#: Bounds on waits for a child process (generous: the box may be loaded); never a sleep.
STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0


def toolbox_stdio(log: Path | None = None, **options: Any) -> MCPServerStdio:
    env = {"TOOLBOX_LOG": str(log)} if log is not None else {}
    env.update(options.pop("env", {}))
    return MCPServerStdio(sys.executable, [TOOLBOX, "stdio"], env=env, **options)


@contextmanager
def toolbox_http(kind: str = "http", log: Path | None = None, port: int = 0) -> Iterator[str]:
    """The toolbox over streamable HTTP ("http") or HTTP+SSE ("sse"); yields its URL.
    `port` 0: one the server picks."""
    env = {**os.environ, "TOOLBOX_LOG": str(log) if log is not None else "",
           "TOOLBOX_PORT": str(port)}
    process = subprocess.Popen([sys.executable, TOOLBOX, kind], stdout=subprocess.PIPE,
                               env=env, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "port N", printed once it listens
        if not line.startswith("port "):
            raise RuntimeError(f"the toolbox did not start: {line!r}")
        port = int(line.split()[1])
        yield f"http://127.0.0.1:{port}/mcp" if kind == "http" else f"http://127.0.0.1:{port}/sse"
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:  # uvicorn waits for open streams to end; a test that left one open is not
            process.wait(timeout=STOP_SECONDS)  # worth a minute
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def wait_for_line(log: Path, text: str) -> str:
    """The first line of `log` that starts with `text`, waiting for it (bounded)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                if line.startswith(text):
                    return line
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {log}")


async def line_in(log: Path, text: str) -> str:
    """`wait_for_line` for async tests: the event loop (and the MCP connection on it) runs
    while we wait."""
    import asyncio

    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                if line.startswith(text):
                    return line
        await asyncio.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in {log}")
