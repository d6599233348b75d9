"""A process killed with SIGKILL in the middle of a run loses nothing committed, leaves no
half turn, and the session goes on from the last finished run: for every store, killed
during a tool and during a streamed answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from test_sessions_servers import postgres_dsn, redis_url  # noqa: F401 (fixtures)

from selectools import Agent, AgentConfig, Role, ToolCall, tool
from selectools.sessions import JsonFileSessionStore, SessionStore, SQLiteSessionStore
from selectools.testing import ScriptedProvider

SRC = Path(__file__).resolve().parents[1] / "src"
WIRE = Path(__file__).parent / "fixtures" / "wire"

CHILD = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, {src!r})
    from pathlib import Path
    from selectools import Agent, AgentConfig, ToolCall, tool
    from selectools.providers.openai import OpenAIProvider
    from selectools.testing import ScriptedProvider
    spec, mode, marker, url = json.loads(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
    import selectools.sessions as sessions
    store = getattr(sessions, spec["class"])(*spec["args"], **spec["kwargs"])

    @tool
    def note(text: str) -> str:
        "Write a note."
        return "noted " + text

    @tool
    def hang() -> str:
        "Never ends (until the process is killed)."
        marker.write_text("in the tool")
        time.sleep(3600)
        return "never"

    def config():
        return AgentConfig(session_store=store, session_id="s")

    first = Agent([note, hang], provider=ScriptedProvider(
        [ToolCall("note", {{"text": "one"}}, id="a1"), "first answer"]), config=config())
    assert first.run("first").content == "first answer"
    if mode == "tool":
        Agent([note, hang], provider=ScriptedProvider([ToolCall("hang", {{}}, id="a2")]),
              config=config()).run("second")
    else:
        def on_text(text):
            marker.write_text("streaming")
            time.sleep(3600)  # the answer is cut here: the loop waits for this call

        Agent([note, hang], provider=OpenAIProvider(base_url=url, api_key="sk-test"),
              config=config()).run("second", stream_handler=on_text)
    print("the run was not killed")
""")


@pytest.fixture(params=["json", "sqlite", "redis", "postgres"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    kind = request.param
    unique = f"crash{os.getpid()}_{time.monotonic_ns()}"
    if kind == "json":
        return {"class": "JsonFileSessionStore", "args": [str(tmp_path / "j")], "kwargs": {}}
    if kind == "sqlite":
        return {"class": "SQLiteSessionStore", "args": [str(tmp_path / "s.db")], "kwargs": {}}
    if kind == "redis":
        return {"class": "RedisSessionStore", "args": [request.getfixturevalue("redis_url")],
                "kwargs": {"prefix": unique + ":"}}
    return {"class": "PostgresSessionStore", "args": [request.getfixturevalue("postgres_dsn")],
            "kwargs": {"table": unique}}


def open_store(spec: dict[str, Any]) -> SessionStore:
    import selectools.sessions as sessions

    store: SessionStore = getattr(sessions, spec["class"])(*spec["args"], **spec["kwargs"])
    return store


def paired(messages: list[Any]) -> bool:
    """Every tool call has exactly one result right after its turn, and every result a call."""
    asked: list[str] = []
    for message in messages:
        if message.tool_calls:
            if asked:
                return False
            asked = [call.id for call in message.tool_calls]
        elif message.role == Role.TOOL:
            if message.tool_call_id not in asked:
                return False
            asked.remove(message.tool_call_id)
        elif asked:
            return False
    return not asked


@pytest.mark.parametrize("mode", ["tool", "stream"])
def test_a_run_killed_mid_way_leaves_the_session_as_the_last_finished_run_left_it(
        store_spec: dict[str, Any], mode: str, tmp_path: Path, wire_server: Any) -> None:
    wire_server.reply_file(WIRE / "openai_chat_stream_text_after_tool_result.sse",
                           chunk_size=64)
    marker = tmp_path / "marker"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(src=str(SRC)), json.dumps(store_spec), mode,
         str(marker), wire_server.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        give_up = time.monotonic() + 120
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(f"the child ended first: {child.communicate()}")
            assert time.monotonic() < give_up, "the child never reached the crash point"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if mode == "stream":
        assert wire_server.requests, "the streamed answer had started"

    store = open_store(store_spec)
    state = store.get("s")
    assert state is not None and state.version == 1 and state.pending is None
    first = [(m.role.value, m.content) for m in state.messages]
    assert first == [("user", "first"), ("assistant", ""), ("tool", "noted one"),
                     ("assistant", "first answer")]
    assert paired(state.messages)

    # The session goes on where it was: nothing lost, nothing twice.
    @tool
    def note(text: str) -> str:
        """Write a note."""
        return "noted " + text

    agent = Agent([note], provider=ScriptedProvider(
        [ToolCall("note", {"text": "two"}, id="b1"), "second answer"]),
        config=AgentConfig(session_store=store, session_id="s"))
    assert agent.run("second").content == "second answer"
    after = store.get("s")
    assert after is not None and after.version == 2 and paired(after.messages)
    assert [(m.role.value, m.content) for m in after.messages] == first + [
        ("user", "second"), ("assistant", ""), ("tool", "noted two"),
        ("assistant", "second answer")]
    store.close()


def test_sqlite_and_json_stores_of_a_killed_process_open_cleanly(tmp_path: Path) -> None:
    """A lock a killed holder had is released with it (flock): the next run does not wait."""
    import asyncio

    stores: list[tuple[SessionStore, str]] = [
        (SQLiteSessionStore(tmp_path / "s.db"), str(tmp_path / "s.db")),
        (JsonFileSessionStore(tmp_path / "j"), str(tmp_path / "j"))]
    for store, location in stores:
        holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import asyncio, sys, time
            sys.path.insert(0, {str(SRC)!r})
            import selectools.sessions as sessions
            store = sessions.{type(store).__name__}({location!r})
            async def hold():
                async with store.lock("s"):
                    print("held", flush=True)
                    time.sleep(3600)
            asyncio.run(hold())
        """)], stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        asyncio.run(_take(store))
        store.close()


async def _take(store: SessionStore) -> None:
    async with store.lock("s", timeout=10):
        pass
