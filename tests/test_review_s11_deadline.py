"""Review s11: `run_timeout` "is a hard limit on the whole run" (Agent's docstring; DESIGN
principle 6), also where a run waits for something outside itself before or after its
model calls: another process's run holding the session (session_conflict="wait"),
another process's write transaction on the SQLite file at the commit, an MCP server
that never finishes connecting when the run starts. Real processes and files; the model
is LocalProvider.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from holders import other_process, queued_behind

from selectools import Agent, AgentConfig, RunTimeoutError, tool
from selectools._deadline import DeadlineReached
from selectools.providers.stubs import LocalProvider
from selectools.sessions import SQLiteSessionStore
from selectools.sessions.errors import SessionLockTimeout
from selectools.sessions.record import SessionState

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


def session_agent(store: SQLiteSessionStore, **options: object) -> Agent:
    return Agent(tools=[], provider=LocalProvider(), config=AgentConfig(
        session_store=store, run_timeout=RUN_TIMEOUT, **options))  # type: ignore[arg-type]


def ended_in_time(agent: Agent) -> float:
    started = time.monotonic()
    with pytest.raises(TimeoutError):  # RunTimeoutError or SessionLockTimeout, in time
        agent.run("hello", session_id="shared")
    return time.monotonic() - started


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
        server.close()  # a failed connect leaves nothing open; close() makes sure
    assert time.monotonic() - started < RUN_TIMEOUT + SLACK


# -- what the run says, what it leaves, and that each wait counts against the one deadline

@tool()
async def nap() -> str:
    """Sleep a while (a tool that takes NAP seconds)."""
    await asyncio.sleep(NAP)
    return "rested"


#: With LONG_TIMEOUT: a run of one NAP ends in time, a NAP after a wait of WAIT does not.
LONG_TIMEOUT, NAP, WAIT = 2.0, 1.2, 1.2


def test_the_lock_wait_error_names_the_session_and_what_held_it(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)
    try:
        agent = session_agent(store, session_conflict="wait", session_wait_timeout=HELD_FOR)
        with other_process(HOLD_SESSION_LOCK, str(path), str(HELD_FOR)):
            with pytest.raises(RunTimeoutError) as raised:
                agent.run("hello", session_id="shared")
        assert "session 'shared'" in str(raised.value)
        assert "held by another run" in str(raised.value)
        # the holder gone, the session is free: the next run takes it and commits
        assert agent.run("hello again", session_id="shared").content
        state = store.get("shared")
        assert state is not None
        assert [m.content for m in state.messages][0] == "hello again"
    finally:
        store.close()


def test_a_shorter_session_wait_timeout_still_raises_its_own_error(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)
    try:
        agent = Agent(tools=[], provider=LocalProvider(), config=AgentConfig(
            session_store=store, run_timeout=HELD_FOR, session_conflict="wait",
            session_wait_timeout=0.3))
        with other_process(HOLD_SESSION_LOCK, str(path), str(HELD_FOR)):
            with pytest.raises(SessionLockTimeout):
                agent.run("hello", session_id="shared")
    finally:
        store.close()


def test_the_lock_wait_counts_against_run_timeout(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)
    try:
        agent = Agent(tools=[nap], provider=LocalProvider(), config=AgentConfig(
            session_store=store, run_timeout=LONG_TIMEOUT, session_conflict="wait"))
        assert agent.run("nap", session_id="alone").content  # one NAP: in time
        with other_process(HOLD_SESSION_LOCK, str(path), str(WAIT)):
            started = time.monotonic()
            with pytest.raises(RunTimeoutError):
                agent.run("nap", session_id="shared")  # the WAIT, then a NAP: too late
        assert time.monotonic() - started < LONG_TIMEOUT + SLACK
        assert store.get("shared") is None  # the run failed: nothing committed
    finally:
        store.close()


def _first_run(store: SQLiteSessionStore, session_id: str = "shared") -> SessionState:
    Agent(tools=[], provider=LocalProvider(),
          config=AgentConfig(session_store=store)).run("first", session_id=session_id)
    state = store.get(session_id)
    assert state is not None
    return state


def test_an_abandoned_commit_leaves_the_session_as_it_was_and_says_so(
        tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)
    try:
        before = _first_run(store)
        with other_process(HOLD_WRITE_TRANSACTION, str(path), str(HELD_FOR)):
            with pytest.raises(RunTimeoutError) as raised:
                session_agent(store).run("hello", session_id="shared")
        message = str(raised.value)
        assert "commit to session 'shared'" in message and "not saved" in message
        assert isinstance(raised.value.__cause__, DeadlineReached)
        after = store.get("shared")
        assert after is not None
        assert (after.version, after.messages) == (before.version, before.messages)
        # the writer gone, the next run commits on top of the previous state
        session_agent(store).run("hello again", session_id="shared")
        latest = store.get("shared")
        assert latest is not None and latest.version == before.version + 1
        assert [m.content for m in latest.messages][:len(before.messages)] == [
            m.content for m in before.messages]
        assert "hello again" in [m.content for m in latest.messages]
        assert "hello" not in [m.content for m in latest.messages]
    finally:
        store.close()


def test_a_commit_queued_behind_another_runs_waiting_commit_is_not_made(
        tmp_path: Path) -> None:
    """Run "a" (no run_timeout) waits on the store's thread for the other process's
    write; run "b" (run_timeout) is queued behind it: at b's deadline its commit is given
    up unmade, and "a" commits once the other process is done."""
    path = tmp_path / "sessions.db"
    store = SQLiteSessionStore(path)
    held = 3.0
    try:
        _first_run(store, "b")
        patient = Agent(tools=[], provider=LocalProvider(),
                        config=AgentConfig(session_store=store))

        with other_process(HOLD_WRITE_TRANSACTION, str(path), str(held)):
            # (after 0.2 s, a's commit is on the store's thread, waiting)
            elapsed, error = asyncio.run(queued_behind(
                patient.arun("from a", session_id="a"),
                lambda: session_agent(store).arun("from b", session_id="b"), 0.2))
        assert error is not None and "not saved" in str(error)
        assert elapsed < RUN_TIMEOUT + SLACK
        a, b = store.get("a"), store.get("b")
        assert a is not None and "from a" in [m.content for m in a.messages]
        assert b is not None and "from b" not in [m.content for m in b.messages]
    finally:
        store.close()


SLOW_MCP_SERVER = '''
import json, sys, time
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue
    if message.get("method") == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "slow", "version": "1"}}
    elif message.get("method") == "tools/list":
        time.sleep(float(sys.argv[1]))
        result = {"tools": []}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"],
                                 "result": result}) + "\\n")
    sys.stdout.flush()
'''


def _mcp_server(tmp_path: Path, script: str, name: str, *arguments: str) -> Any:
    pytest.importorskip("mcp")
    from selectools.mcp import MCPServerStdio

    path = tmp_path / f"{name}.py"
    path.write_text(script)
    return MCPServerStdio(sys.executable, [str(path), *arguments], name=name, mode="legacy",
                          connect_timeout=HELD_FOR)


def test_a_streamed_run_says_which_mcp_server_it_waited_for(tmp_path: Path) -> None:
    server = _mcp_server(tmp_path, SILENT_MCP_SERVER, "silent")
    agent = Agent(tools=[], provider=LocalProvider(), mcp_servers=[server],
                  config=AgentConfig(run_timeout=RUN_TIMEOUT))

    async def stream() -> float:
        started = time.monotonic()
        try:
            with pytest.raises(RunTimeoutError) as raised:
                async for _ in agent.astream("hello"):
                    pass
            assert "MCP server 'silent'" in str(raised.value)
            return time.monotonic() - started
        finally:
            await server.aclose()

    assert asyncio.run(stream()) < RUN_TIMEOUT + SLACK


def test_connecting_mcp_servers_counts_against_run_timeout(tmp_path: Path) -> None:
    server = _mcp_server(tmp_path, SLOW_MCP_SERVER, "slow", str(WAIT))
    agent = Agent(tools=[nap], provider=LocalProvider(), mcp_servers=[server],
                  config=AgentConfig(run_timeout=LONG_TIMEOUT))

    async def runs() -> float:
        try:
            started = time.monotonic()
            with pytest.raises(RunTimeoutError):
                await agent.arun("nap")  # the server's WAIT, then a NAP: too late
            elapsed = time.monotonic() - started
            # connected now (the list came): one NAP is in time
            assert (await agent.arun("nap")).content
            return elapsed
        finally:
            await server.aclose()

    assert asyncio.run(runs()) < LONG_TIMEOUT + SLACK
