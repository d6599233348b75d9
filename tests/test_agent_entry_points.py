"""`Agent.arun` reads the engine's loop itself (agent/core.py), the sync `run` through
`_drain`: both give the same result and history, with and without a session."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from selectools import Agent, AgentConfig, LocalProvider, ToolCall, tool
from selectools.sessions import SQLiteSessionStore


@tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _agent(**config: Any) -> Agent:
    provider = LocalProvider(responses=[ToolCall("weather", {"city": "Paris"}), "It is sunny."])
    return Agent([weather], provider=provider, config=AgentConfig(**config))


def _seen(agent: Agent, result: Any) -> tuple[Any, ...]:
    return (result.content, result.iterations, result.stop_reason,
            [(call.tool_name, call.parameters) for call in result.tool_calls],
            [(message.role, message.content) for message in agent.history])


def test_arun_and_run_give_the_same_result() -> None:
    by_arun, by_run = _agent(), _agent()
    assert _seen(by_arun, asyncio.run(by_arun.arun("Weather in Paris?"))) == \
        _seen(by_run, by_run.run("Weather in Paris?"))


def test_arun_and_run_open_the_same_session(tmp_path: Path) -> None:
    # The session named by the call, and the one named by the config (no session_id given).
    for by_call in (True, False):
        seen = []
        for how in ("arun", "run"):
            store = SQLiteSessionStore(str(tmp_path / f"{by_call}-{how}.db"))
            agent = _agent(session_store=store, session_id=None if by_call else "s")
            session_id = "s" if by_call else None
            if how == "arun":
                result = asyncio.run(agent.arun("Weather in Paris?", session_id=session_id))
            else:
                result = agent.run("Weather in Paris?", session_id=session_id)
            stored = store.load("s")
            assert stored is not None
            seen.append((_seen(agent, result), len(stored.get_history())))
        assert seen[0] == seen[1]
        assert seen[0][1] == 4  # user, the call, its result, the answer
