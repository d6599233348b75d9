"""Review s11: `run_timeout` "is a hard limit on the whole run" (Agent's docstring; DESIGN
principle 6), also where a run waits for something outside itself before or after its
model calls: another process's run holding the session (session_conflict="wait"),
another process's write transaction on the SQLite file at the commit, an MCP server
that never finishes connecting when the run starts. Real processes and files; the model
is LocalProvider.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from selectools import Agent, AgentConfig
from selectools.providers.stubs import LocalProvider
from selectools.sessions import SQLiteSessionStore

RUN_TIMEOUT = 1.0
#: The run must end this soon after its run_timeout (a loaded 2-core host included).
SLACK = 2.0
#: How long the other process holds what the run waits for (longer than both).
HELD_FOR = 8.0

HOLD_SESSION_LOCK = '''
import asyncio, sys, time
from selectools.sessions import SQLiteSessionStore

async def main():
    store = SQLiteSessionStore(sys.argv[1])
    async with store.lock("shared"):
        print("held", flush=True)
        await asyncio.sleep(float(sys.argv[2]))
    await store.aclose()

asyncio.run(main())
'''

HOLD_WRITE_TRANSACTION = '''
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE selectools_sessions SET updated_at = updated_at")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
'''


@contextmanager
def other_process(script: str, *arguments: str) -> Iterator[None]:
    """A process that takes something and says "held" (stopped by its pid at the end)."""
    process = subprocess.Popen([sys.executable, "-c", script, *arguments],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        yield
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def session_agent(store: SQLiteSessionStore, **options: object) -> Agent:
    return Agent(tools=[], provider=LocalProvider(), config=AgentConfig(
        session_store=store, run_timeout=RUN_TIMEOUT, **options))  # type: ignore[arg-type]


def ended_in_time(agent: Agent) -> float:
    started = time.monotonic()
    with pytest.raises(TimeoutError):  # RunTimeoutError or SessionLockTimeout, in time
        agent.run("hello", session_id="shared")
    return time.monotonic() - started


@pytest.mark.xfail(strict=True, reason="_open_session (the lock wait) runs before the Run "
                   "makes its deadline: only session_wait_timeout bounds it")
def test_waiting_for_a_session_another_process_holds_ends_at_run_timeout(
        tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)
    try:
        with other_process(HOLD_SESSION_LOCK, str(path), str(HELD_FOR)):
            elapsed = ended_in_time(session_agent(
                store, session_conflict="wait", session_wait_timeout=HELD_FOR - 2))
        assert elapsed < RUN_TIMEOUT + SLACK
    finally:
        store.close()


@pytest.mark.xfail(strict=True, reason="the session commit is awaited unbounded by the "
                   "run's deadline: it waits SQLite's busy_timeout (30 s) on the store thread")
def test_a_commit_behind_another_processs_write_ends_at_run_timeout(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)
    try:
        Agent(tools=[], provider=LocalProvider(),
              config=AgentConfig(session_store=store)).run("first", session_id="shared")
        with other_process(HOLD_WRITE_TRANSACTION, str(path), str(HELD_FOR)):
            started = time.monotonic()
            try:
                session_agent(store).run("hello", session_id="shared")
            except TimeoutError:
                pass
            elapsed = time.monotonic() - started
        assert elapsed < RUN_TIMEOUT + SLACK
    finally:
        store.close()


SILENT_MCP_SERVER = '''
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("method") == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "silent", "version": "1"}}
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"],
                                     "result": result}) + "\\n")
        sys.stdout.flush()
'''


@pytest.mark.xfail(strict=True, reason="Agent._refresh_mcp_tools (connecting mcp_servers) "
                   "runs before the run's deadline exists: connect_timeout alone bounds it")
def test_an_mcp_server_that_never_lists_its_tools_ends_the_run_at_run_timeout(
        tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    from selectools.mcp import MCPServerStdio

    script = tmp_path / "silent.py"
    script.write_text(SILENT_MCP_SERVER)
    server = MCPServerStdio(sys.executable, [str(script)], name="silent", mode="legacy",
                            connect_timeout=HELD_FOR)
    agent = Agent(tools=[], provider=LocalProvider(), mcp_servers=[server],
                  config=AgentConfig(run_timeout=RUN_TIMEOUT))
    started = time.monotonic()
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 (a timeout of some kind)
            agent.run("hello")
    finally:
        with server:  # (its process is on the library's loop: close it there)
            pass
    assert time.monotonic() - started < RUN_TIMEOUT + SLACK
