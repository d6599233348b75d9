"""Typed tool results reach the model as JSON with their kind first; artifacts a tool emits
during a run land on that run's `AgentResult.artifacts`, from every kind of tool and entry
point, and never on another run's."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from wire_server import WireServer

import selectools
from selectools import (
    Agent,
    AgentConfig,
    AgentResult,
    Ambiguous,
    Artifact,
    Message,
    NotFound,
    Role,
    ToolCall,
    ToolResult,
    emit_artifact,
    tool,
)
from selectools.providers.openai import OpenAIProvider
from selectools.testing import ScriptedProvider
from selectools.usage import UsageStats


def answer(message: dict[str, Any]) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {"id": "c1", "object": "chat.completion", "model": "m", "choices": [{
        "index": 0, "finish_reason": finish, "message": {"role": "assistant", **message}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}}


@dataclass(frozen=True)
class Quota(ToolResult):
    kind: ClassVar[str] = "quota_exceeded"
    limit: int
    used: list[int]


async def test_typed_results_reach_the_model_as_json_with_their_kind_first(
        wire_server: WireServer) -> None:
    @tool
    def lookup(query: str) -> ToolResult:
        """Find a customer."""
        if query == "acme":
            return Ambiguous(entity="customer", query=query,
                             matches=[{"id": 1, "name": "Acme Corp"}, {"id": 2, "name": "Acme"}])
        if query == "budget":
            return Quota(limit=10, used=[4, 7])
        return NotFound(entity="customer", query=query)

    calls = [{"id": f"call_{q}", "type": "function",
              "function": {"name": "lookup", "arguments": json.dumps({"query": q})}}
             for q in ("acme", "zenith", "budget")]
    wire_server.reply(body=answer({"content": None, "tool_calls": calls}))
    wire_server.reply(body=answer({"content": "Which Acme?"}))
    provider = OpenAIProvider(base_url=wire_server.url, model="m", max_retries=0, timeout=5)
    try:
        await Agent(tools=[lookup], provider=provider).arun("find acme, zenith, budget")
    finally:
        await provider.aclose()
    sent = {m["tool_call_id"]: m["content"]
            for m in wire_server.requests[1].json["messages"] if m["role"] == "tool"}
    assert sent["call_zenith"] == '{"kind": "not_found", "entity": "customer", "query": "zenith"}'
    assert sent["call_acme"].startswith('{"kind": "ambiguous"')
    assert json.loads(sent["call_acme"])["matches"][0] == {"id": 1, "name": "Acme Corp"}
    assert json.loads(sent["call_budget"]) == {"kind": "quota_exceeded", "limit": 10,
                                               "used": [4, 7]}
    assert list(json.loads(sent["call_budget"])) == ["kind", "limit", "used"]


def chart_tool() -> Any:
    @tool
    def render_chart(title: str) -> str:
        """Render a chart."""
        emit_artifact(f"https://files.example/{title}.png", mime_type="image/png",
                      filename=f"{title}.png", role="primary")
        return f"rendered {title}"

    return render_chart


def async_chart_tool() -> Any:
    @tool
    async def render_chart(title: str) -> str:
        """Render a chart."""
        await asyncio.sleep(0)
        emit_artifact(f"https://files.example/{title}.png")
        return f"rendered {title}"

    return render_chart


def charts(*titles: str) -> list[Any]:
    """One model turn asking for one chart per title, then a final answer."""
    return [[ToolCall("render_chart", {"title": t}, id=f"c_{t}") for t in titles], "done"]


def urls(result: AgentResult) -> list[str]:
    return sorted(a.url for a in result.artifacts)


def test_a_sync_tool_run_in_a_thread_emits_onto_the_result() -> None:
    result = Agent(tools=[chart_tool()], provider=ScriptedProvider(charts("sales"))).run("go")
    assert result.artifacts == [Artifact("https://files.example/sales.png", "image/png",
                                         "sales.png", role="primary")]


@pytest.mark.parametrize("make_tool", [chart_tool, async_chart_tool], ids=["sync", "async"])
@pytest.mark.parametrize("config", [
    AgentConfig(),
    AgentConfig(tool_timeout_seconds=10.0),
    AgentConfig(parallel_tool_execution=False),
    AgentConfig(max_parallel_tools=1),
], ids=["parallel", "with a tool timeout", "sequential", "one at a time"])
async def test_every_tool_of_a_turn_emits_onto_the_result_of_arun(
        make_tool: Any, config: AgentConfig) -> None:
    agent = Agent(tools=[make_tool()], provider=ScriptedProvider(charts("a", "b", "c")),
                  config=config)
    result = await agent.arun("three charts")
    assert urls(result) == [f"https://files.example/{t}.png" for t in "abc"]


@pytest.mark.parametrize("events", [False, True], ids=["chunks", "events"])
async def test_astream_ends_with_a_result_carrying_the_artifacts(events: bool) -> None:
    agent = Agent(tools=[chart_tool()], provider=ScriptedProvider(charts("x", "y")))
    items = [item async for item in agent.astream("charts", events=events)]
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert urls(result) == ["https://files.example/x.png", "https://files.example/y.png"]


def test_consecutive_runs_of_one_agent_keep_their_own_artifacts() -> None:
    @tool
    def quiet() -> str:
        """Emit nothing."""
        return "quiet"

    agent = Agent(tools=[chart_tool(), quiet], provider=ScriptedProvider([
        *charts("one"), ToolCall("quiet", {}, id="q"), "nothing"]))
    first, second = agent.run("chart"), agent.run("nothing")
    assert urls(first) == ["https://files.example/one.png"]
    assert second.artifacts == []


class EchoToolProvider:
    """Asks for `render_chart(title=<the user's message>)`, then answers "done": each run
    of a shared agent gets its own script, whatever the order runs interleave in."""

    name = "echo-tool"
    default_model = "echo"

    async def acomplete(self, *, messages: list[Message], **_: Any) -> tuple[Message, Any]:
        usage = UsageStats(model="echo", provider="echo-tool")
        if messages[-1].role is Role.TOOL:
            return Message(role=Role.ASSISTANT, content="done"), usage
        title = next(m.content for m in reversed(messages) if m.role is Role.USER)
        return Message(role=Role.ASSISTANT, content="", tool_calls=[
            ToolCall("render_chart", {"title": title}, id=f"c_{title}")]), usage


async def test_concurrent_runs_of_one_agent_keep_their_artifacts_apart() -> None:
    started = {"red": asyncio.Event(), "blue": asyncio.Event()}

    @tool
    async def render_chart(title: str) -> str:
        """Render a chart."""
        started[title].set()
        other = "blue" if title == "red" else "red"
        await asyncio.wait_for(started[other].wait(), 5)  # both tools are running now
        emit_artifact(f"https://files.example/{title}.png")
        return "rendered"

    agent = Agent(tools=[render_chart], provider=EchoToolProvider())
    red, blue = await asyncio.gather(agent.arun("red"), agent.arun("blue"))
    assert urls(red) == ["https://files.example/red.png"]
    assert urls(blue) == ["https://files.example/blue.png"]


async def test_two_event_streams_consumed_in_turn_by_one_task_keep_their_artifacts_apart(
        ) -> None:
    agent = Agent(tools=[chart_tool()], provider=EchoToolProvider())
    streams = {title: agent.astream(title, events=True) for title in ("red", "blue")}
    last: dict[str, Any] = {}
    while streams:
        for title, stream in list(streams.items()):
            try:
                last[title] = await anext(stream)
            except StopAsyncIteration:
                del streams[title]
    assert urls(last["red"]) == ["https://files.example/red.png"]
    assert urls(last["blue"]) == ["https://files.example/blue.png"]


def test_a_timed_out_tool_emitting_later_does_not_change_the_result() -> None:
    release, finished = threading.Event(), threading.Event()

    @tool
    def slow_export(name: str) -> str:
        """Export a file, slowly."""
        emit_artifact(f"https://files.example/{name}-preview.png")
        release.wait(5)
        emit_artifact(f"https://files.example/{name}.csv")
        finished.set()
        return "exported"

    agent = Agent(tools=[slow_export], config=AgentConfig(tool_timeout_seconds=0.2),
                  provider=ScriptedProvider([ToolCall("slow_export", {"name": "q3"}, id="e"),
                                             "it timed out"]))
    result = agent.run("export")
    before = urls(result)  # the preview, unless the thread started after the time limit
    release.set()
    assert finished.wait(5)
    assert urls(result) == before
    assert "https://files.example/q3.csv" not in before


def test_emit_artifact_outside_a_run_only_returns_the_artifact() -> None:
    made = emit_artifact("https://files.example/orphan.png", size=12)
    assert made == Artifact("https://files.example/orphan.png", size=12)
    # ...and it is not collected by the next run.
    result = Agent(tools=[chart_tool()], provider=ScriptedProvider(charts("n"))).run("go")
    assert urls(result) == ["https://files.example/n.png"]


def test_the_typed_results_are_exported_from_the_package() -> None:
    for name in ("ToolResult", "NotFound", "Ambiguous", "Artifact", "emit_artifact"):
        assert getattr(selectools, name) is getattr(selectools.results, name)
        assert name in selectools.__all__
    assert NotFound(entity="invoice", query="INV-9").to_dict() == {
        "kind": "not_found", "entity": "invoice", "query": "INV-9"}
