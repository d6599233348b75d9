"""Why a run stopped: each turn's finish reason reaches `AgentResult.stop_reason`.

A turn cut by max_tokens ("length"), filtered ("content_filter") or failed ("error") ends the
run with that reason; its tool calls never run (a cut call's arguments are incomplete) and
neither history nor memory keeps a call without a result. Through a real OpenAI-compatible
server on 127.0.0.1 (whole and streamed), and through duck-typed providers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from wire_server import WireServer

from selectools import Agent, AgentResult, ConversationMemory, Message, Role, ToolCall, tool
from selectools.providers.openai import OpenAIProvider
from selectools.types import TurnEnd
from selectools.usage import UsageStats

CUT_ARGUMENTS = '{"where": "every'  # max_tokens hit inside the arguments


def completion(content: str | None, finish: str,
               calls: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(calls)]
    return {"id": "c1", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}


def chunks(content: str | None, finish: str,
           calls: list[tuple[str, str]] | None = None) -> str:
    def event(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        return "data: " + json.dumps({"id": "c1", "object": "chat.completion.chunk",
                                      "model": "m", "choices": [{
                                          "index": 0, "delta": delta,
                                          "finish_reason": finish_reason}]}) + "\n\n"

    events = [event({"role": "assistant"})]
    if content:
        events += [event({"content": content[i:i + 5]}) for i in range(0, len(content), 5)]
    for i, (name, arguments) in enumerate(calls or ()):
        events.append(event({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                             "function": {"name": name, "arguments": ""}}]}))
        for j in range(0, len(arguments), 4):
            events.append(event({"tool_calls": [{"index": i, "function": {
                "arguments": arguments[j:j + 4]}}]}))
    events.append(event({}, finish))
    return "".join(events) + "data: [DONE]\n\n"


def answer(server: WireServer, content: str | None, finish: str,
           calls: list[tuple[str, str]] | None = None, *, streamed: bool) -> None:
    if streamed:
        server.reply(body=chunks(content, finish, calls), content_type="text/event-stream",
                     chunk_size=64)
    else:
        server.reply(body=completion(content, finish, calls))


def delete_tool(ran: list[str]) -> Any:
    @tool(description="Delete records")
    def delete(where: str) -> str:
        ran.append(where)
        return "deleted"

    return delete


async def run_through(server: WireServer, agent_tools: list[Any], *, streamed: bool,
                      memory: ConversationMemory | None = None) -> tuple[Agent, AgentResult]:
    provider = OpenAIProvider(base_url=server.url, model="m", max_retries=0, timeout=5)
    agent = Agent(tools=agent_tools, provider=provider, memory=memory)
    try:
        if streamed:
            result = [item async for item in agent.astream("clean up")][-1]
        else:
            result = await agent.arun("clean up")
    finally:
        await provider.aclose()
    assert isinstance(result, AgentResult)
    return agent, result


streamed_or_whole = pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])


@streamed_or_whole
async def test_a_tool_call_cut_by_max_tokens_is_not_run_and_the_run_says_length(
        wire_server: WireServer, streamed: bool) -> None:
    ran: list[str] = []
    memory = ConversationMemory()
    answer(wire_server, "Deleting now.", "length", [("delete", CUT_ARGUMENTS)],
           streamed=streamed)
    agent, result = await run_through(wire_server, [delete_tool(ran)], streamed=streamed,
                                      memory=memory)
    assert ran == []
    assert result.stop_reason == "length"
    assert result.content == "Deleting now."  # the partial text is kept
    assert result.message.stop_reason == "length" and not result.message.tool_calls
    assert result.tool_calls == [] and result.iterations == 1
    assert len(wire_server.requests) == 1  # the model was not asked again
    assert result.trace is not None
    dropped = result.trace.of_type("tool_calls_dropped")
    assert [d.data["tools"][0]["name"] for d in dropped] == ["delete"]
    assert dropped[0].data["stop_reason"] == "length"
    # in the order things happened: the model's turn, then the calls it made that were dropped
    assert [s.type for s in result.trace.steps] == ["llm_call", "tool_calls_dropped"]
    for kept in (memory.get_history(), agent.history):
        assert not any(m.tool_calls for m in kept)
        assert kept[-1].role == Role.ASSISTANT and kept[-1].content == "Deleting now."


@streamed_or_whole
async def test_a_cut_call_with_no_text_leaves_nothing_unanswered_in_memory(
        wire_server: WireServer, streamed: bool) -> None:
    ran: list[str] = []
    memory = ConversationMemory()
    answer(wire_server, None, "length", [("delete", CUT_ARGUMENTS)], streamed=streamed)
    _, result = await run_through(wire_server, [delete_tool(ran)], streamed=streamed,
                                  memory=memory)
    assert ran == [] and result.stop_reason == "length" and result.content == ""
    assert [m.role for m in memory.get_history()] == [Role.USER]


@streamed_or_whole
@pytest.mark.parametrize(("finish", "reason"), [
    ("stop", "completed"), ("length", "length"), ("content_filter", "content_filter")])
async def test_a_text_answer_reports_its_finish_reason(
        wire_server: WireServer, streamed: bool, finish: str, reason: str) -> None:
    answer(wire_server, "Here is part of it", finish, streamed=streamed)
    _, result = await run_through(wire_server, [], streamed=streamed)
    assert result.stop_reason == reason
    assert result.content == "Here is part of it"
    assert result.message.stop_reason == reason


@streamed_or_whole
async def test_tool_calls_that_ended_normally_run_and_the_run_completes(
        wire_server: WireServer, streamed: bool) -> None:
    ran: list[str] = []
    answer(wire_server, None, "tool_calls", [("delete", '{"where": "tmp"}')], streamed=streamed)
    answer(wire_server, "Done.", "stop", streamed=streamed)
    _, result = await run_through(wire_server, [delete_tool(ran)], streamed=streamed)
    assert ran == ["tmp"]
    assert result.stop_reason == "completed" and result.content == "Done."
    assert result.trace is not None
    llm_steps = result.trace.of_type("llm_call")
    assert [s.data["stop_reason"] for s in llm_steps] == ["tool_calls", "completed"]


class ScriptedStream:
    """A duck-typed streaming provider whose turns end with the given TurnEnd."""

    name = "scripted"

    def __init__(self, *turns: tuple[list[Any], str | None]) -> None:
        self.turns = list(turns)

    async def astream(self, **kwargs: Any) -> AsyncIterator[Any]:
        items, reason = self.turns.pop(0)
        for item in items:
            yield item
        if reason is not None:
            yield TurnEnd(reason)  # type: ignore[arg-type]
        yield UsageStats(prompt_tokens=1, completion_tokens=1, total_tokens=2)


@pytest.mark.parametrize("reason", ["length", "content_filter", "error"])
async def test_a_duck_typed_stream_ending_a_turn_stops_the_run_without_running_its_calls(
        reason: str) -> None:
    ran: list[str] = []
    provider = ScriptedStream(([ToolCall("delete", {"where": "all"}, "c1")], reason))
    result = await Agent(tools=[delete_tool(ran)], provider=provider).arun(  # type: ignore[arg-type]
        "go")
    assert ran == [] and result.stop_reason == reason


async def test_a_duck_typed_stream_without_turn_end_still_runs_its_calls() -> None:
    ran: list[str] = []
    provider = ScriptedStream(([ToolCall("delete", {"where": "x"}, "c1")], None),
                              (["ok"], None))
    result = await Agent(tools=[delete_tool(ran)], provider=provider).arun(  # type: ignore[arg-type]
        "go")
    assert ran == ["x"] and result.stop_reason == "completed" and result.content == "ok"


async def test_a_whole_answer_with_an_error_stop_reason_ends_the_run() -> None:
    ran: list[str] = []

    class Whole:
        name = "whole"

        async def acomplete(self, **kwargs: Any) -> Message:
            return Message(role=Role.ASSISTANT, content="",
                           tool_calls=[ToolCall("delete", {"where": "all"}, "c1")],
                           stop_reason="error")

    result = await Agent(tools=[delete_tool(ran)], provider=Whole()).arun(  # type: ignore[arg-type]
        "go")
    assert ran == [] and result.stop_reason == "error"
