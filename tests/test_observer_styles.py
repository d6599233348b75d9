"""The three ways to observe a run, as selectools 1.x users write them: AgentObserver's
`on_*` methods, AsyncAgentObserver's `a_on_*` coroutines (blocking or not), and
SimpleStepObserver's one callback."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from selectools import Agent, AgentConfig, ToolCall, tool
from selectools.observer import AsyncAgentObserver, SimpleStepObserver
from selectools.providers.stubs import LocalProvider

log: list[str] = []


@tool(description="Echo a word")
def echo(word: str) -> str:
    log.append(f"tool ran with {word}")
    return f"echo:{word}"


def _agent(*observers: Any) -> Agent:
    provider = LocalProvider(responses=[ToolCall("echo", {"word": "hi"}, "c1"), "done"])
    return Agent(tools=[echo], provider=provider,
                 config=AgentConfig(observers=list(observers), system_prompt="Be brief."))


async def test_simple_step_observer_gets_every_event_by_name_with_its_arguments() -> None:
    seen: list[tuple[str, str, dict[str, Any]]] = []
    observer = SimpleStepObserver(lambda event, run_id, **data: seen.append((event, run_id, data)))
    result = await _agent(observer).arun("say hi")

    assert [event for event, _, _ in seen] == [
        "run_start", "iteration_start", "llm_start", "usage", "llm_end", "tool_start",
        "tool_end", "iteration_end", "iteration_start", "llm_start", "usage", "llm_end",
        "iteration_end", "run_end"]
    assert len({run_id for _, run_id, _ in seen}) == 1
    by_event = {event: data for event, _, data in seen}
    # Messages come as a count: a callback logs, it does not keep the conversation.
    assert by_event["run_start"] == {"message_count": 1,
                                     "system_prompt": by_event["run_start"]["system_prompt"]}
    assert by_event["run_start"]["system_prompt"].startswith("Be brief.")
    assert set(by_event["llm_start"]) == {"message_count", "model", "system_prompt"}
    assert by_event["tool_start"] == {"call_id": "c1", "tool_name": "echo",
                                      "tool_args": {"word": "hi"}}
    assert by_event["tool_end"]["result"] == "echo:hi"
    assert by_event["tool_end"]["duration_ms"] >= 0
    assert by_event["run_end"]["result"] is result


def test_simple_step_observer_forwards_events_called_by_hand() -> None:
    seen: list[tuple[str, str, dict[str, Any]]] = []
    observer = SimpleStepObserver(lambda event, run_id, **data: seen.append((event, run_id, data)))
    observer.on_batch_start("b1", 4)  # type: ignore[attr-defined]
    observer.on_eval_start("suite", 3, "m")  # type: ignore[attr-defined]
    observer.on_structured_validate("r1", True, 1)
    observer.on_session_save("r1", session_id="s1", message_count=2)  # type: ignore[attr-defined]
    assert seen == [
        ("batch_start", "b1", {"prompts_count": 4}),
        ("eval_start", "", {"suite_name": "suite", "total_cases": 3, "model": "m"}),
        ("structured_validate", "r1", {"success": True, "attempt": 1, "error": None}),
        ("session_save", "r1", {"session_id": "s1", "message_count": 2}),
    ]


def test_simple_step_observer_refuses_what_it_cannot_forward() -> None:
    with pytest.raises(TypeError, match="callable"):
        SimpleStepObserver("print")  # type: ignore[arg-type]
    observer = SimpleStepObserver(lambda *args, **kwargs: None)
    with pytest.raises(TypeError, match="run_id, usage"):
        observer.on_usage("r1", None, "extra")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="tool_end"):
        observer.on_tool_end("r1", cost=3)  # type: ignore[call-arg]


class Recording(AsyncAgentObserver):
    def __init__(self, *, blocking: bool) -> None:
        self.blocking = blocking
        self.events: list[tuple[Any, ...]] = []

    async def a_on_run_start(self, run_id: str, messages: list[Any],
                             system_prompt: str) -> None:
        self.events.append(("run_start", len(messages)))

    async def a_on_tool_start(self, run_id: str, call_id: str, tool_name: str,
                              tool_args: dict[str, Any]) -> None:
        await asyncio.sleep(0.01)  # the run waits for a blocking observer
        log.append(f"observer saw {tool_name} start")
        self.events.append(("tool_start", tool_name, tool_args))

    async def a_on_tool_end(self, run_id: str, call_id: str, tool_name: str, result: str,
                            duration_ms: float) -> None:
        self.events.append(("tool_end", tool_name, result))

    async def a_on_run_end(self, run_id: str, result: Any) -> None:
        self.events.append(("run_end", result.content))


async def test_a_blocking_async_observer_is_awaited_before_the_run_goes_on() -> None:
    log.clear()
    observer = Recording(blocking=True)
    result = await _agent(observer).arun("say hi")
    assert result.content == "done"
    assert observer.events == [("run_start", 1), ("tool_start", "echo", {"word": "hi"}),
                               ("tool_end", "echo", "echo:hi"), ("run_end", "done")]
    assert log == ["observer saw echo start", "tool ran with hi"]


async def test_a_non_blocking_async_observer_runs_alongside_the_run() -> None:
    tool_ran = asyncio.Event()

    class WaitsForTheTool(AsyncAgentObserver):  # blocking is False by default
        def __init__(self) -> None:
            self.saw: list[str] = []

        async def a_on_run_start(self, run_id: str, messages: list[Any],
                                 system_prompt: str) -> None:
            # Were the run waiting for this, it would never reach the tool.
            await tool_ran.wait()
            self.saw.append("run_start after the tool")

    observer = WaitsForTheTool()
    recorder = Recording(blocking=False)

    @tool(description="Marks that it ran")
    async def mark() -> str:
        tool_ran.set()
        return "marked"

    provider = LocalProvider(responses=[ToolCall("mark", {}, "c1"), "done"])
    agent = Agent(tools=[mark], provider=provider,
                  config=AgentConfig(observers=[observer, recorder]))
    result = await asyncio.wait_for(agent.arun("go"), 30)
    assert result.content == "done"
    for _ in range(500):  # the observers' tasks finish soon after the run
        if observer.saw and len(recorder.events) == 4:
            break
        await asyncio.sleep(0.01)
    assert observer.saw == ["run_start after the tool"]
    assert {event[0] for event in recorder.events} == {"run_start", "tool_start", "tool_end",
                                                       "run_end"}


def test_a_non_blocking_async_observer_fires_in_a_sync_run_too() -> None:
    ended = threading.Event()

    class OnEnd(AsyncAgentObserver):
        async def a_on_run_end(self, run_id: str, result: Any) -> None:
            ended.set()

    assert _agent(OnEnd()).run("say hi").content == "done"
    assert ended.wait(10)


@pytest.mark.parametrize("blocking", [True, False])
async def test_an_async_observer_that_raises_is_logged_once_and_the_run_goes_on(
        blocking: bool, caplog: pytest.LogCaptureFixture) -> None:
    class Broken(AsyncAgentObserver):
        async def a_on_llm_end(self, run_id: str, response: Any, usage: Any) -> None:
            raise RuntimeError("observer bug")

    broken = Broken()
    broken.blocking = blocking
    healthy = Recording(blocking=True)
    with caplog.at_level(logging.ERROR, logger="selectools"):
        result = await _agent(broken, healthy).arun("say hi")
        for _ in range(500):  # a non-blocking task's failure is reported when it ends
            errors = [r for r in caplog.records
                      if "observer Broken raised in on_llm_end" in r.getMessage()]
            if errors:
                break
            await asyncio.sleep(0.01)
    assert result.content == "done"
    assert healthy.events[-1] == ("run_end", "done")
    assert len(errors) == 1  # two LLM calls, one log line


async def test_memory_trim_tells_how_many_messages_went_and_how_many_are_left() -> None:
    from selectools import ConversationMemory

    seen: list[tuple[str, dict[str, Any]]] = []
    observer = SimpleStepObserver(lambda event, run_id, **data: seen.append((event, data)))
    memory = ConversationMemory(max_messages=2)
    agent = Agent(tools=[echo], provider=LocalProvider(responses=["one", "two"]),
                  config=AgentConfig(observers=[observer]), memory=memory)
    await agent.arun("first")
    assert [event for event, _ in seen if event == "memory_trim"] == []
    await agent.arun("second")
    trims = [data for event, data in seen if event == "memory_trim"]
    assert trims == [{"messages_removed": 2, "messages_remaining": 2,
                      "reason": "enforce_limits"}]
    assert len(memory) == 2


def test_simple_step_observer_awaits_an_async_callback() -> None:
    seen: list[str] = []

    async def record(event: str, run_id: str, **data: Any) -> None:
        await asyncio.sleep(0)
        seen.append(event)

    agent = Agent(provider=LocalProvider(responses=["hello"]),
                  config=AgentConfig(observers=[SimpleStepObserver(record)]))
    agent.run("hi")
    assert seen[0] == "run_start" and seen[-1] == "run_end" and "llm_end" in seen
