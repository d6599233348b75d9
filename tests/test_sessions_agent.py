"""The Agent on a session store: one Agent serves many sessions, a run commits once, two
runs of one session either conflict or take turns, and a conversation resumed after a
restart sends the model exactly what it would have sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from test_sessions_servers import postgres_dsn, redis_url  # noqa: F401 (fixtures)
from test_sessions_stores import StoreFactory, make_store  # noqa: F401 (fixture)

from selectools import Agent, AgentConfig, AgentResult, Message, Role, ToolCall, tool
from selectools.memory import ConversationMemory
from selectools.providers.anthropic import AnthropicProvider
from selectools.sessions import SessionConflictError, SQLiteSessionStore
from selectools.usage import UsageStats

WIRE = Path(__file__).parent / "fixtures" / "wire"
TWO_TURNS = json.loads((WIRE / "anthropic_thinking_tool_use_two_turns.json").read_text())


class HoldingModel:
    """A model that calls `hold(label=<the question>)` once per question, then answers
    "done: <question>"; it keeps every request's messages."""

    name = "holding"
    supports_streaming = False
    supports_async = True
    default_model = "holding"

    def __init__(self) -> None:
        self.requests: list[list[Message]] = []
        self._calls = 0

    async def acomplete(self, *, messages: Sequence[Message], **_: Any
                        ) -> tuple[Message, UsageStats]:
        self.requests.append(list(messages))
        last = messages[-1]
        if last.role == Role.USER:
            self._calls += 1
            answer = Message(role=Role.ASSISTANT, tool_calls=[
                ToolCall("hold", {"label": last.content}, id=f"call_{self._calls}")])
        else:
            question = next(m.content for m in reversed(messages) if m.role == Role.USER)
            answer = Message(role=Role.ASSISTANT, content=f"done: {question}")
        return answer, UsageStats(1, 1, 2, model="holding", provider="holding")


def holding_tool(gates: dict[str, asyncio.Event]) -> Any:
    @tool(description="Waits for the test to let the call finish")
    async def hold(label: str) -> str:
        gate = gates.get(label)
        if gate is not None:
            started = gates.get(label + ":started")
            if started is not None:
                started.set()
            await gate.wait()
        return f"held {label}"
    return hold


def exchange(question: str, call_id: str) -> list[tuple[str, str]]:
    return [("user", question), ("assistant", f"call {call_id}"),
            ("tool", f"held {question}"), ("assistant", f"done: {question}")]


def shape(messages: Sequence[Message]) -> list[tuple[str, str]]:
    return [(m.role.value, f"call {m.tool_calls[0].id}" if m.tool_calls else m.content)
            for m in messages]


async def test_one_agent_serves_many_sessions_at_once(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    model = HoldingModel()
    agent = Agent([holding_tool({})], provider=model,
                  config=AgentConfig(session_store=store))
    first = await asyncio.gather(*(agent.arun(f"q{n}", session_id=f"user-{n}")
                                   for n in range(10)))
    assert [r.content for r in first] == [f"done: q{n}" for n in range(10)]
    assert all(r.session_id == f"user-{n}" for n, r in enumerate(first))
    again = await agent.arun("once more", session_id="user-3")
    assert again.content == "done: once more"
    state = await store.aload_state("user-3")
    assert [m.content for m in state.messages if m.role == Role.USER] == ["q3", "once more"]
    assert state.version == 2
    # The model saw session 3's history, and no other session's.
    assert [m.content for m in model.requests[-2] if m.role == Role.USER] == ["q3",
                                                                               "once more"]
    assert agent.memory is None  # nothing of a session is kept on the Agent
    await store.aclose()


async def test_two_hundred_concurrent_runs_over_two_hundred_sessions_on_sqlite(
        tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    agent = Agent([holding_tool({})], provider=HoldingModel(),
                  config=AgentConfig(session_store=store))
    results = await asyncio.gather(*(agent.arun(f"q{n}", session_id=f"s{n}")
                                     for n in range(200)))
    assert all(r.content == f"done: q{n}" for n, r in enumerate(results))
    listed = await store.alist()
    assert len(listed) == 200 and {m.version for m in listed} == {1}
    assert {m.message_count for m in listed} == {4}
    await store.aclose()


async def test_second_of_two_concurrent_runs_gets_a_conflict_and_commits_nothing(
        make_store: StoreFactory) -> None:  # noqa: F811
    store = make_store()
    gates = {"slow": asyncio.Event(), "slow:started": asyncio.Event()}
    agent = Agent([holding_tool(gates)], provider=HoldingModel(),
                  config=AgentConfig(session_store=store, session_conflict="raise"))
    slow = asyncio.ensure_future(agent.arun("slow", session_id="shared"))
    await gates["slow:started"].wait()  # the slow run loaded the session, is in its tool
    fast = await agent.arun("fast", session_id="shared")
    assert fast.content == "done: fast"
    gates["slow"].set()
    with pytest.raises(SessionConflictError, match="'shared'"):
        await slow
    state = await store.aload_state("shared")
    assert shape(state.messages) == exchange("fast", "call_2")  # nothing of the slow run
    assert state.version == 1
    await store.aclose()


async def test_with_wait_the_second_run_waits_and_answers_on_top_of_the_first(
        make_store: StoreFactory) -> None:  # noqa: F811
    store = make_store()
    gates = {"first": asyncio.Event(), "first:started": asyncio.Event()}
    model = HoldingModel()
    agent = Agent([holding_tool(gates)], provider=model,
                  config=AgentConfig(session_store=store, session_conflict="wait"))
    first = asyncio.ensure_future(agent.arun("first", session_id="shared"))
    await gates["first:started"].wait()
    second = asyncio.ensure_future(agent.arun("second", session_id="shared"))
    await asyncio.sleep(0.2)
    assert len(model.requests) == 1 and not second.done()  # it waits for the session
    gates["first"].set()
    results = await asyncio.gather(first, second)
    assert [r.content for r in results] == ["done: first", "done: second"]
    state = await store.aload_state("shared")
    assert shape(state.messages) == exchange("first", "call_1") + exchange("second", "call_2")
    assert state.version == 2
    # The second run's model saw the first run's whole exchange.
    assert shape(model.requests[2]) == exchange("first", "call_1") + [("user", "second")]
    await store.aclose()


async def test_a_failed_run_commits_nothing(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")

    class Broken(HoldingModel):
        async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
            if len(self.requests) == 1:
                raise RuntimeError("the model went away")
            return await super().acomplete(**kwargs)

    agent = Agent([holding_tool({})], provider=Broken(),
                  config=AgentConfig(session_store=store, max_retries=0))
    with pytest.raises(RuntimeError, match="went away"):
        await agent.arun("q", session_id="s")  # after its tool ran, before its answer
    assert not await store.aexists("s")
    await store.aclose()


async def test_the_agents_memory_limits_bound_its_sessions(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    agent = Agent([holding_tool({})], provider=HoldingModel(),
                  config=AgentConfig(session_store=store, session_id="s"),
                  memory=ConversationMemory(max_messages=6))
    for n in range(3):
        await agent.arun(f"q{n}")
    state = await store.aload_state("s")
    assert shape(state.messages) == exchange("q2", "call_3")  # whole exchanges, newest
    assert len(agent.memory or []) == 0
    assert [r.session_id for r in await store.asearch("q2")] == ["s"]
    assert await store.asearch("q0") == []  # trimmed away, from the index too
    await store.aclose()


def test_session_settings_are_checked_when_made(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="session_store is None"):
        AgentConfig(session_id="s")
    with pytest.raises(TypeError, match="session_store must be a SessionStore"):
        AgentConfig(session_store="sessions.db")
    with pytest.raises(TypeError, match="session_store must be a SessionStore"):
        AgentConfig(session_store=SQLiteSessionStore)
    with pytest.raises(ValueError, match="session_conflict"):
        AgentConfig(session_store=SQLiteSessionStore(":memory:"),
                    session_conflict="merge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="session_wait_timeout"):
        AgentConfig(session_store=SQLiteSessionStore(":memory:"), session_wait_timeout=0)
    with pytest.raises(ValueError, match="needs a session store"):
        Agent([], provider=HoldingModel()).run("hi", session_id="s")


def _anthropic(url: str) -> AnthropicProvider:
    return AnthropicProvider(api_key="sk-ant-test", base_url=url, max_retries=0)


@tool(description="The user's country")
def get_user_country() -> str:
    return "Mexico"


CONFIG = dict(model="claude-sonnet-4-0", reasoning=3000, max_tokens=4096)
QUESTION = "What is the largest city in the user country?"
FOLLOW_UP = "And its second largest?"


async def test_after_a_restart_the_model_is_sent_exactly_what_it_would_have_been(
        wire_server: Any, make_store: StoreFactory) -> None:  # noqa: F811
    # Without a restart: one Agent, its conversation in memory.
    for _ in range(2):
        wire_server.reply(body=TWO_TURNS["first_response"])  # thinking, signed, + tool_use
        wire_server.reply(body=TWO_TURNS["second_response"])
        wire_server.reply(body=TWO_TURNS["second_response"])
    provider = _anthropic(wire_server.url)
    agent = Agent([get_user_country], provider=provider,
                  config=AgentConfig(**CONFIG), memory=ConversationMemory())  # type: ignore[arg-type]
    await agent.arun(QUESTION)
    await agent.arun(FOLLOW_UP)
    await provider.aclose()
    remembered = wire_server.requests[2].json

    # With a session, and a new store, provider and Agent (a new process) in between.
    store = make_store()
    provider = _anthropic(wire_server.url)
    before = Agent([get_user_country], provider=provider,
                   config=AgentConfig(session_store=store, **CONFIG))  # type: ignore[arg-type]
    await before.arun(QUESTION, session_id="conversation")
    await provider.aclose()
    await store.aclose()
    provider = _anthropic(wire_server.url)
    after = Agent([get_user_country], provider=provider,
                  config=AgentConfig(session_store=make_store(), **CONFIG))  # type: ignore[arg-type]
    result = await after.arun(FOLLOW_UP, session_id="conversation")
    await provider.aclose()
    assert isinstance(result, AgentResult)
    resumed = wire_server.requests[5].json
    assert resumed == remembered
    thinking = next(block for block in TWO_TURNS["first_response"]["content"]
                    if block["type"] == "thinking")
    assert thinking in resumed["messages"][1]["content"]  # signature and all


def test_two_processes_commit_to_one_sqlite_file_at_once_without_a_lock_error(
        tmp_path: Path) -> None:
    import subprocess
    import sys
    import textwrap

    database = tmp_path / "s.db"
    SQLiteSessionStore(database).close()
    script = textwrap.dedent(f"""
        import asyncio, sys
        sys.path[:0] = [{str(Path(__file__).resolve().parents[1] / "src")!r},
                        {str(Path(__file__).parent)!r}]
        from test_sessions_agent import HoldingModel, holding_tool
        from selectools import Agent, AgentConfig
        from selectools.sessions import SQLiteSessionStore

        async def main(name):
            store = SQLiteSessionStore({str(database)!r})
            agent = Agent([holding_tool({{}})], provider=HoldingModel(),
                          config=AgentConfig(session_store=store))
            for round in range(3):  # each session committed three times
                await asyncio.gather(*(agent.arun(f"{{name}}{{n}}-{{round}}",
                                                  session_id=f"{{name}}{{n}}")
                                       for n in range(60)))
            await store.aclose()
        asyncio.run(main(sys.argv[1]))
    """)
    children = [subprocess.Popen([sys.executable, "-c", script, name],
                                 stderr=subprocess.PIPE, text=True) for name in "ab"]
    errors = [child.communicate(timeout=300)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0], errors
    listed = SQLiteSessionStore(database).list()
    assert len(listed) == 120 and {m.version for m in listed} == {3}
    assert {m.message_count for m in listed} == {12}


async def test_namespaces_keep_two_agents_sessions_apart_in_one_store(tmp_path: Path) -> None:
    store = SQLiteSessionStore(tmp_path / "s.db")
    support = Agent([holding_tool({})], provider=HoldingModel(),
                    config=AgentConfig(session_store=store, session_namespace="support"))
    sales = Agent([holding_tool({})], provider=HoldingModel(),
                  config=AgentConfig(session_store=store, session_namespace="sales",
                                     session_id="default"))
    await support.arun("help", session_id="u1")
    await sales.arun("buy", session_id="u1")  # the call's session_id wins over the config's
    await sales.arun("browse")
    assert {(m.namespace, m.session_id) for m in await store.alist()} == {
        ("support", "u1"), ("sales", "u1"), ("sales", "default")}
    assert shape((await store.aload_state("u1", "support")).messages) == exchange("help",
                                                                                  "call_1")
    assert shape((await store.aload_state("u1", "sales")).messages) == exchange("buy",
                                                                                "call_1")
    assert await store.aget("u1") is None  # no session outside a namespace
    result = await sales.arun("again", session_id="u1")
    assert AgentResult.from_dict(result.to_dict()).session_id == "u1"
    await store.aclose()
