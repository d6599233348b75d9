"""The agent loop through LocalProvider: streaming, results, iterations, bad input."""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

import pytest

from selectools import (
    Agent,
    AgentConfig,
    AgentResult,
    ConversationMemory,
    Message,
    Role,
    StreamChunk,
    ToolCall,
    tool,
)
from selectools.providers.stubs import LocalProvider, ScriptExhaustedError


@tool(description="Search the web")
def search(query: str) -> str:
    return f"Results for '{query}': Python is a popular programming language."


@tool(description="Add two numbers")
def add(a: int, b: int) -> int:
    return a + b


@tool(description="Always fails")
def broken(reason: str) -> str:
    raise RuntimeError(f"disk on fire: {reason}")


def scripted(*turns: object) -> LocalProvider:
    return LocalProvider(responses=list(turns))  # type: ignore[arg-type]


async def collect(agent: Agent, messages: object, **kwargs: object) -> list[Any]:
    return [item async for item in agent.astream(messages, **kwargs)]  # type: ignore[arg-type]


async def test_seed_quick_start_streams_chunks_then_one_result() -> None:
    agent = Agent(tools=[search], provider=LocalProvider(), config=AgentConfig(max_iterations=2))
    items = await collect(agent, [Message(role=Role.USER, content="Search for Python tutorials")])

    assert isinstance(items[-1], AgentResult)
    assert all(isinstance(i, StreamChunk) for i in items[:-1])
    call_chunks = [i for i in items[:-1] if i.tool_calls]  # type: ignore[union-attr]
    assert call_chunks[0].tool_calls[0].tool_name == "search"  # type: ignore[union-attr]
    assert call_chunks[0].tool_calls[0].parameters == {"query": "for Python tutorials"}  # type: ignore[union-attr]
    text = "".join(i.content for i in items[:-1])  # type: ignore[union-attr]
    result = items[-1]
    assert text == result.content  # type: ignore[union-attr]
    assert "Results for 'for Python tutorials'" in result.content  # type: ignore[union-attr]
    assert result.iterations == 2  # type: ignore[union-attr]
    assert result.tool_name == "search"  # type: ignore[union-attr]
    # Word by word: more than one text chunk for the final answer.
    assert len([i for i in items[:-1] if i.content]) > 3  # type: ignore[union-attr]


async def test_run_arun_and_astream_give_the_same_result() -> None:
    def make() -> Agent:
        return Agent(tools=[add], provider=scripted(
            Message(role=Role.ASSISTANT, content="Let me add.",
                    tool_calls=[ToolCall("add", {"a": 2, "b": "3"})]),
            ToolCall("add", {"a": 1, "b": 1}), "The sum is 5."))

    streamed = (await collect(make(), "add 2 and 3"))[-1]
    awaited = await make().arun("add 2 and 3")
    synced = await asyncio.to_thread(make().run, "add 2 and 3")
    for result in (streamed, awaited, synced):
        assert isinstance(result, AgentResult)
        assert result.content == "The sum is 5."
        assert result.iterations == 3
        assert [(c.tool_name, c.parameters) for c in result.tool_calls] == [
            ("add", {"a": 2, "b": "3"}), ("add", {"a": 1, "b": 1})]
        assert result.tool_name == "add" and result.tool_args == {"a": 1, "b": 1}
        assert result.usage is not None and result.usage.llm_calls == 3
        assert [s.type for s in result.trace.steps] == [  # type: ignore[union-attr]
            "llm_call", "tool_selection", "tool_execution",
            "llm_call", "tool_selection", "tool_execution", "llm_call"]
    assert streamed.usage.total_tokens == awaited.usage.total_tokens  # type: ignore[union-attr]


def test_run_from_sync_code_with_a_str() -> None:
    provider = scripted(ToolCall("add", {"a": 1, "b": 2}), "3")
    agent = Agent(tools=[add], provider=provider)
    result = agent.run("what is 1 + 2?")
    assert result.content == "3"
    tool_message = provider.requests[1][1][-1]
    assert tool_message.role == Role.TOOL and tool_message.content == "3"
    assert result.role == Role.ASSISTANT


def test_stream_handler_receives_text_deltas() -> None:
    seen: list[str] = []
    agent = Agent(tools=[], provider=LocalProvider())
    result = agent.run("hello there friend", stream_handler=seen.append)
    assert "".join(seen) == result.content == "hello there friend"
    assert len(seen) == 3


@pytest.mark.parametrize("bad", [[], "", "   "])
def test_empty_messages_are_refused_before_any_call(bad: object) -> None:
    provider = LocalProvider()
    with pytest.raises(ValueError, match="empty"):
        Agent(provider=provider).run(bad)  # type: ignore[arg-type]
    assert provider.requests == []


def test_wrong_message_types_are_named() -> None:
    with pytest.raises(TypeError, match=r"messages\[1\] is a dict"):
        Agent().run([Message(role=Role.USER, content="hi"), {"role": "user"}])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be Tool objects"):
        Agent(tools=[print])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"LocalProvider\(\), not the class"):
        Agent(provider=LocalProvider)  # type: ignore[arg-type]


async def test_max_iterations_reached_says_so() -> None:
    provider = scripted(*[ToolCall("add", {"a": i, "b": 1}) for i in range(3)])
    result = await Agent(tools=[add], provider=provider,
                         config=AgentConfig(max_iterations=3)).arun("loop forever")
    assert result.stop_reason == "max_iterations"
    assert "maximum of 3 iterations" in result.content
    assert result.iterations == 3
    assert len(result.tool_calls) == 3


async def test_tool_problems_go_back_to_the_model_and_the_run_goes_on() -> None:
    provider = scripted(
        [ToolCall("nope", {"x": 1}), ToolCall("add", {"a": "two", "b": 1}),
         ToolCall("broken", {"reason": "test"}), ToolCall("add", {"a": 1}),
         ToolCall("add", {"__raw_arguments__": '{"a": 1,'})],
        "I could not do it.")
    result = await Agent(tools=[add, broken], provider=provider).arun("try things")
    assert result.content == "I could not do it."
    results = [m for m in provider.requests[1][1] if m.role == Role.TOOL]
    assert [m.tool_name for m in results] == ["nope", "add", "broken", "add", "add"]
    unknown, bad_type, raised, missing, malformed = (m.content for m in results)
    assert malformed.startswith("Error:") and "must be a JSON object" in malformed
    assert unknown.startswith("Error:") and "'nope'" in unknown
    assert "add, broken" in unknown
    assert bad_type.startswith("Error:") and "parameter 'a'" in bad_type and "'two'" in bad_type
    assert raised.startswith("Error:") and "disk on fire: test" in raised
    assert missing.startswith("Error:") and "missing required parameter 'b'" in missing
    # Every result is linked to the call it answers.
    call_ids = [c.id for c in provider.requests[1][1][-6].tool_calls or []]
    assert [m.tool_call_id for m in results] == call_ids
    assert len(set(call_ids)) == 5


async def test_system_prompt_is_sent_on_every_iteration() -> None:
    provider = scripted(ToolCall("add", {"a": 1, "b": 1}), "2")
    agent = Agent(tools=[add], provider=provider,
                  config=AgentConfig(system_prompt="You are a calculator."))
    await agent.arun("1+1")
    assert [r[0] for r in provider.requests] == ["You are a calculator."] * 2


async def test_reset_clears_history_usage_analytics_and_memory() -> None:
    memory = ConversationMemory()
    agent = Agent(tools=[add], provider=scripted(ToolCall("add", {"a": 1, "b": 1}), "2"),
                  config=AgentConfig(enable_analytics=True), memory=memory)
    await agent.arun("1+1")
    assert agent.history and agent.usage.llm_calls == 2 and len(memory) == 4
    assert agent.analytics is not None and agent.analytics.tools["add"].calls == 1
    agent.reset()
    assert agent.history == [] and agent.usage.llm_calls == 0 and len(memory) == 0
    assert agent.analytics is not None and agent.analytics.tools == {}


async def test_memory_carries_the_conversation_into_the_next_run() -> None:
    provider = scripted("Nice to meet you, Ada.", "Your name is Ada.")
    agent = Agent(provider=provider, memory=ConversationMemory(max_messages=10))
    await agent.arun("My name is Ada.")
    await agent.arun("What is my name?")
    second_call = provider.requests[1][1]
    assert [m.content for m in second_call] == [
        "My name is Ada.", "Nice to meet you, Ada.", "What is my name?"]


async def test_routing_only_selects_without_executing() -> None:
    ran: list[str] = []

    @tool(description="Open a support ticket")
    def support_tool(issue: str) -> str:
        ran.append(issue)
        return "ticket"

    provider = scripted(ToolCall("support_tool", {"issue": "billing problem"}))
    result = await Agent(tools=[support_tool], provider=provider,
                         config=AgentConfig(routing_only=True)).arun("help with my bill")
    assert ran == []
    assert result.tool_name == "support_tool"
    assert result.tool_args == {"issue": "billing problem"}
    assert result.iterations == 1 and len(provider.requests) == 1
    assert result.stop_reason == "routing"
    assert [s.type for s in result.trace.steps] == ["llm_call", "tool_selection"]  # type: ignore[union-attr]


async def test_text_tool_calls_are_parsed_for_providers_without_native_tools() -> None:
    class TextOnly(LocalProvider):
        supports_native_tools = False

    provider = TextOnly(responses=[
        'I will add.\nTOOL_CALL {"tool_name": "add", "parameters": {"a": 4, "b": 5}}',
        "9"])
    agent = Agent(tools=[add], provider=provider)
    result = await agent.arun("4+5")
    assert result.content == "9"
    assert result.tool_calls[0].tool_name == "add"
    assert provider.requests[1][1][-1].content == "9"
    # Such a provider is told in the system prompt how to write a call, tools included.
    assert "TOOL_CALL" in provider.requests[0][0] and "add" in provider.requests[0][0]


async def test_an_answer_that_merely_contains_json_is_final() -> None:
    answer = 'Here is JSON: {"name": "Ada", "parameters": {"age": 36}}'
    result = await Agent(tools=[add], provider=scripted(answer)).arun("show json")
    assert result.content == answer and result.tool_calls == []


async def test_events_stream_shows_tool_start_and_result() -> None:
    agent = Agent(tools=[add], provider=scripted(ToolCall("add", {"a": 1, "b": 2}), "3"))
    items = await collect(agent, "1+2", events=True)
    events = [(i.event, i.data) for i in items if isinstance(i, StreamChunk) and i.event]
    names = [e for e, _ in events]
    assert names == ["iteration_start", "tool_call_delta", "tool_start", "tool_result",
                     "iteration_end", "iteration_start", "iteration_end"]
    # A call that came whole is one delta carrying its whole arguments.
    assert events[1][1] == {"index": 0, "call_id": events[2][1]["call_id"],  # type: ignore[index]
                            "tool_name": "add", "arguments_delta": '{"a": 1, "b": 2}'}
    tool_result = events[3][1]
    assert tool_result is not None
    assert tool_result["tool_name"] == "add" and tool_result["result"] == "3"
    assert tool_result["error"] is False
    assert tool_result["call_id"] == events[2][1]["call_id"]  # type: ignore[index]
    # Without events=True the seed's contract holds: no event chunks.
    plain = await collect(Agent(tools=[add], provider=scripted(
        ToolCall("add", {"a": 1, "b": 2}), "3")), "1+2")
    assert not [i for i in plain if isinstance(i, StreamChunk) and i.event]


async def test_exhausted_script_raises_clearly() -> None:
    with pytest.raises(ScriptExhaustedError, match="2 times but has 1"):
        await Agent(tools=[add], provider=scripted(ToolCall("add", {"a": 1, "b": 1}))).arun("x")


async def test_arun_finishes_the_engine_itself_even_when_the_run_fails() -> None:
    # A generator left unfinished would be closed later by asyncio's finalizer, with its
    # cleanup (closing an HTTP stream, say) running at some arbitrary point after the run.
    left: list[object] = []
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=left.append)
    try:
        await Agent(tools=[add], provider=scripted(ToolCall("add", {"a": 1, "b": 2}),
                                                   "3")).arun("1+2")
        with pytest.raises(ScriptExhaustedError):
            await Agent(tools=[add], provider=scripted(ToolCall("add", {"a": 1, "b": 1}))
                        ).arun("x")
        gc.collect()
    finally:
        sys.set_asyncgen_hooks(*hooks)
    assert left == []


async def test_one_agent_serves_concurrent_runs_without_mixing_them() -> None:
    agent = Agent(tools=[search], provider=LocalProvider(),
                  config=AgentConfig(max_iterations=2))
    topics = [f"topic{i}" for i in range(20)]
    results = await asyncio.gather(*(agent.arun(f"search {t}") for t in topics))
    for topic, result in zip(topics, results, strict=True):
        assert result.tool_args == {"query": topic}
        assert result.content == f"Here is what I found with search: Results for '{topic}': " \
            "Python is a popular programming language."
    assert agent.usage.llm_calls == 40
    assert len({r.run_id for r in results}) == 20


async def test_routing_runs_leave_no_unanswered_tool_calls_in_memory() -> None:
    memory = ConversationMemory()
    provider = scripted(ToolCall("search", {"query": "x"}), "plain answer")
    agent = Agent(tools=[search], provider=provider, memory=memory,
                  config=AgentConfig(routing_only=True))
    routed = await agent.arun("route me")
    assert routed.tool_name == "search" and routed.message.tool_calls
    assert [m.role for m in memory.get_history()] == [Role.USER]
    assert [m.role for m in agent.history] == [Role.USER]  # the same rule as memory
    await agent.arun("and now?")
    assert all(not m.tool_calls for m in provider.requests[1][1])
