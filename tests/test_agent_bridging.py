"""Providers that lack some methods are bridged as the seed's flowchart says."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from selectools import (
    Agent,
    AgentConfig,
    AgentObserver,
    AgentResult,
    AsyncAgentObserver,
    Message,
    Role,
    StreamChunk,
    ToolCall,
    UsageStats,
    tool,
)
from selectools.providers.stubs import LocalProvider


@tool(description="Echo a word")
def echo(word: str) -> str:
    return word


class CompleteOnly:
    """A duck-typed provider with only a blocking `complete`."""

    name = "complete-only"

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.turn = 0

    def complete(self, *, model, system_prompt, messages, tools=None, temperature=0.0,  # type: ignore[no-untyped-def]
                 max_tokens=1000, timeout=None):
        if self.gate is not None and not self.gate.wait(5):
            raise AssertionError("the event loop was blocked while complete() ran")
        self.turn += 1
        if self.turn == 1:
            return Message(role=Role.ASSISTANT, tool_calls=[ToolCall("echo", {"word": "hi"})]), \
                UsageStats(3, 1, model="m", provider=self.name)
        return Message(role=Role.ASSISTANT, content=f"said {messages[-1].content}"), \
            UsageStats(5, 2, model="m", provider=self.name)


async def test_complete_only_provider_runs_in_a_thread_without_blocking_the_loop() -> None:
    gate = threading.Event()
    agent = Agent(tools=[echo], provider=CompleteOnly(gate))

    async def open_gate_from_the_loop() -> None:
        await asyncio.sleep(0.01)
        gate.set()

    opener = asyncio.create_task(open_gate_from_the_loop())
    items = [i async for i in agent.astream("say hi")]
    await opener
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content == "said hi"
    assert result.usage is not None and result.usage.total_tokens == 11
    # No astream: the whole answer arrives as a single chunk.
    texts = [i.content for i in items if isinstance(i, StreamChunk) and i.content]
    assert texts == ["said hi"]
    assert result.provider_used == "complete-only"


async def test_acomplete_only_provider_yields_one_chunk() -> None:
    class AcompleteOnly:
        async def acomplete(self, **kwargs):  # type: ignore[no-untyped-def]
            return Message(role=Role.ASSISTANT, content="whole answer"), None

    items = [i async for i in Agent(provider=AcompleteOnly()).astream("hi")]
    assert [i.content for i in items if isinstance(i, StreamChunk)] == ["whole answer"]
    assert isinstance(items[-1], AgentResult) and items[-1].content == "whole answer"


def test_reference_style_list_return_is_accepted() -> None:
    class ListReturning:
        def complete(self, **kwargs):  # type: ignore[no-untyped-def]
            return [Message(role=Role.ASSISTANT, content="ok")]

    assert Agent(provider=ListReturning()).run("hi").content == "ok"


async def test_a_whole_answer_of_another_shape_is_still_unpacked() -> None:
    # complete_any takes an exact (Message, UsageStats) as it is; every other shape goes
    # through unpack_completion: a usage that is not a UsageStats is dropped, a longer
    # tuple gives its first two, a Message subclass is a Message.
    from selectools.providers.base import complete_any

    class Mine(Message):
        pass

    usage = UsageStats(1, 2)
    for returned, content, expected_usage in [
            ((Message(role=Role.ASSISTANT, content="a"), "no usage"), "a", None),
            ((Message(role=Role.ASSISTANT, content="b"), usage, "extra"), "b", usage),
            ((Mine(role=Role.ASSISTANT, content="c"), usage), "c", usage)]:
        class Returns:
            async def acomplete(self, result=returned, **kwargs):  # type: ignore[no-untyped-def]
                return result

        message, got = await complete_any(Returns(), model="m", system_prompt="", messages=[])
        assert (message.content, got) == (content, expected_usage)

    class Wrong:
        async def acomplete(self, **kwargs):  # type: ignore[no-untyped-def]
            return ("text", usage)

    with pytest.raises(TypeError, match="returned tuple, expected"):
        await complete_any(Wrong(), model="m", system_prompt="", messages=[])


def test_provider_with_nothing_usable_is_named() -> None:
    class Nothing:
        name = "empty"

    with pytest.raises(TypeError, match="empty implements none of"):
        Agent(provider=Nothing()).run("hi")  # type: ignore[arg-type]


async def test_observers_see_the_run_in_order_and_a_raising_one_is_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    events: list[str] = []

    class Recorder(AgentObserver):
        def __getattribute__(self, name: str):  # type: ignore[no-untyped-def]
            if name.startswith("on_"):
                return lambda *args: events.append(name)
            return super().__getattribute__(name)

    class Raising(AgentObserver):
        def on_llm_start(self, *args):  # type: ignore[no-untyped-def]
            raise RuntimeError("observer bug")

    class AsyncRecorder(AsyncAgentObserver):
        def __init__(self) -> None:
            self.ends: list[str] = []

        async def on_run_end(self, run_id, result):  # type: ignore[no-untyped-def,override]
            await asyncio.sleep(0)
            self.ends.append(result.content)

    async_recorder = AsyncRecorder()
    provider = LocalProvider(responses=[ToolCall("echo", {"word": "x"}), "x"])
    config = AgentConfig(observers=[Raising(), Recorder(), async_recorder])
    with caplog.at_level(logging.ERROR, logger="selectools"):
        result = await Agent(tools=[echo], provider=provider, config=config).arun("go")
    assert result.content == "x"
    assert events == [
        "on_run_start", "on_iteration_start", "on_llm_start", "on_usage", "on_llm_end",
        "on_tool_start", "on_tool_end", "on_iteration_end",
        "on_iteration_start", "on_llm_start", "on_usage", "on_llm_end", "on_iteration_end",
        "on_run_end"]
    assert async_recorder.ends == ["x"]
    raised = [r for r in caplog.records if "observer bug" in str(r.exc_info)]
    assert len(raised) == 1  # called twice, logged once


async def test_routing_only_fires_iteration_events_once() -> None:
    events: list[str] = []

    class Recorder(AgentObserver):
        def on_iteration_start(self, *args):  # type: ignore[no-untyped-def]
            events.append("start")

        def on_iteration_end(self, *args):  # type: ignore[no-untyped-def]
            events.append("end")

        def on_run_end(self, *args):  # type: ignore[no-untyped-def]
            events.append("run_end")

    provider = LocalProvider(responses=[ToolCall("echo", {"word": "x"})])
    await Agent(tools=[echo], provider=provider,
                config=AgentConfig(routing_only=True, observers=[Recorder()])).arun("go")
    assert events == ["start", "end", "run_end"]


def test_sync_run_inside_a_running_loop_works() -> None:
    async def caller() -> str:
        # A sync call from a thread that already runs a loop (Jupyter, FastAPI handlers).
        return Agent(provider=LocalProvider()).run("inside a loop").content

    assert asyncio.run(caller()) == "inside a loop"


async def test_sync_run_from_an_async_tool_on_the_library_loop_is_refused() -> None:
    inner = Agent(provider=LocalProvider())

    @tool(description="Calls another agent the wrong way")
    async def nested() -> str:
        return inner.run("hi").content

    provider = LocalProvider(responses=[ToolCall("nested", {}), "done"])
    outer = Agent(tools=[nested], provider=provider)
    result = await asyncio.to_thread(outer.run, "go")
    assert result.content == "done"
    assert "would deadlock" in provider.requests[1][1][-1].content


def test_stream_handler_is_told_to_discard_text_a_fallback_replaced() -> None:
    from selectools import FallbackProvider
    from selectools.providers.errors import ProviderConnectionError

    class CutsOff:
        name = "primary"

        async def astream(self, **kwargs):  # type: ignore[no-untyped-def]
            yield "Hello "
            yield "from "
            raise ProviderConnectionError("connection reset", provider="primary")

    class Printer:
        def __init__(self) -> None:
            self.shown = ""

        def __call__(self, delta: str) -> None:
            self.shown += delta

        def discard(self) -> None:
            self.shown = ""

    printer = Printer()
    backup = LocalProvider(responses=["Hello from backup"])
    agent = Agent(provider=FallbackProvider([CutsOff(), backup]))
    result = agent.run("hi", stream_handler=printer)
    assert result.content == printer.shown == "Hello from backup"
    assert result.provider_used == "local"


def test_logging_observer_writes_one_short_line_per_event(
        caplog: pytest.LogCaptureFixture) -> None:
    from selectools import LoggingObserver

    provider = LocalProvider(responses=[ToolCall("echo", {"word": "hi"}), "hi"])
    agent = Agent(tools=[echo], provider=provider,
                  config=AgentConfig(observers=[LoggingObserver()]))
    with caplog.at_level(logging.INFO, logger="selectools"):
        result = agent.run("go")
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split()[0] for line in lines] == [
        "run_start", "iteration_start", "llm_start", "usage", "llm_end", "tool_start",
        "tool_end", "iteration_end", "iteration_start", "llm_start", "usage", "llm_end",
        "iteration_end", "run_end"]
    assert all(f"run={result.run_id}" in line and len(line) < 400 for line in lines)
    assert "'echo'" in lines[5] and "result:'hi'" in lines[-1]
