"""An Agent with MCP servers beside its own tools: `Agent(tools=[...], mcp_servers=[...])`.
Their tools are listed when a run starts (connecting on first use), a changed list takes
effect on the next run, names must not clash, and sync runs work too."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

pytest.importorskip("mcp")

from mcp_servers.running import toolbox_stdio  # noqa: E402

from selectools import Agent, tool  # noqa: E402
from selectools.mcp import MCPServerStdio, MCPToolNameClash  # noqa: E402
from selectools.mcp.toolset import combined  # noqa: E402
from selectools.testing import ScriptedProvider  # noqa: E402
from selectools.types import Role, StreamChunk, ToolCall  # noqa: E402

pytestmark = pytest.mark.skipif(
    "mcp_servers" not in inspect.signature(Agent).parameters,
    reason="Agent(mcp_servers=...) is wired in agent/core.py (see docs/mcp.md)")


#: Agent, typed loosely for mypy until its `mcp_servers` keyword lands in agent/core.py.
McpAgent: Any = Agent


@tool
def add(a: int, b: int) -> int:
    """Our own adder."""
    return a + b


@tool
def greet(name: str) -> str:
    """Say hello."""
    return f"Hello, {name}!"


def tool_messages(agent: Agent) -> list[str]:
    return [m.content for m in agent.history if m.role is Role.TOOL]


def offered(provider: ScriptedProvider, request: int = 0) -> set[str]:
    return set(provider.requests[request][2])


async def test_server_tools_join_the_agents_own_and_a_changed_list_takes_effect_next_run(
        ) -> None:
    server = toolbox_stdio(name="toolbox")
    provider = ScriptedProvider([
        [ToolCall("greet", {"name": "Ada"}), ToolCall("add", {"a": 1, "b": 2})],
        ToolCall("grow", {}), "Grown.",
        ToolCall("extra", {}), "Used the new tool.",
    ])
    agent = McpAgent(tools=[greet], provider=provider, mcp_servers=[server])
    try:
        await agent.arun("Greet Ada and add 1 and 2.")  # connects on first use
        assert server.connected
        assert tool_messages(agent)[:2] == ["Hello, Ada!", "3"]
        assert {"greet", "add", "grow", "pixel"} <= offered(provider)
        assert "extra" not in offered(provider)
        for _ in range(1000):  # grow's notification arrives after its answer
            if server.version == 2:
                break
            await asyncio.sleep(0.01)
        result = await agent.arun("Use the new tool.")
    finally:
        await server.aclose()
    assert result.content == "Used the new tool."
    assert "extra" in offered(provider, -2) and "extra" in {t.name for t in agent.tools}
    assert tool_messages(agent) == ["extra tool"]


#: The tests that share one toolbox (a server takes seconds to start here) share one loop.
on_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared() -> AsyncIterator[MCPServerStdio]:
    """One toolbox for the tests that leave its tools as they are."""
    async with toolbox_stdio(name="toolbox") as server:
        yield server


@on_module_loop
async def test_a_name_clash_is_a_clear_error_at_start_unless_a_prefix_tells_them_apart(
        shared: MCPServerStdio) -> None:
    agent = McpAgent(tools=[add], provider=ScriptedProvider(["never"]), mcp_servers=[shared])
    with pytest.raises(MCPToolNameClash, match=(
            "tool name 'add' is offered by the agent's own tools and by MCP server "
            "'toolbox'; give the server a tool_prefix")):
        await agent.arun("Add.")
    # The same tools from a second server under a prefix: no clash, with ours or the first's.
    prefixed = toolbox_stdio(name="box", tool_prefix="box")
    provider = ScriptedProvider([
        [ToolCall("greet", {"name": "Bo"}), ToolCall("add", {"a": 1, "b": 1}),
         ToolCall("box_add", {"a": 2, "b": 2})], "Done."])
    agent = McpAgent(tools=[greet], provider=provider, mcp_servers=[shared, prefixed])
    async with prefixed:
        await agent.arun("Add twice.")
    assert tool_messages(agent) == ["Hello, Bo!", "2", "4"]
    assert {"greet", "add", "pixel", "box_add", "box_pixel"} <= offered(provider)


def test_two_servers_offering_one_name_are_refused_naming_both(
        shared: MCPServerStdio) -> None:
    second = toolbox_stdio(name="second")  # the same tools, never started: the check is
    with pytest.raises(MCPToolNameClash, match=(  # on the lists
            "tool name 'add' is offered by MCP server 'toolbox' and by MCP server 'second'")):
        combined([greet], [(shared, shared.tools()), (second, shared.tools())])


@on_module_loop
async def test_several_servers_at_once_with_the_time_server_from_pypi(
        shared: MCPServerStdio) -> None:
    time_command = Path(sys.executable).parent / "mcp-server-time"
    if not time_command.exists():
        pytest.skip("mcp-server-time is not installed")
    clock = MCPServerStdio(str(time_command), ["--local-timezone", "UTC"], name="time",
                           tool_prefix="time")
    provider = ScriptedProvider([
        [ToolCall("add", {"a": 40, "b": 2}),
         ToolCall("time_convert_time", {"source_timezone": "UTC", "time": "08:00",
                                        "target_timezone": "Asia/Tokyo"})],
        "42, and 17:00 in Tokyo."])
    agent = McpAgent(provider=provider, mcp_servers=[shared, clock])
    async with clock:
        chunks = [item async for item in agent.astream("Go.", events=True)]
    added, converted = tool_messages(agent)
    assert added == "42" and "T17:00:00+09:00" in converted
    events = [c.event for c in chunks if isinstance(c, StreamChunk) and c.event]
    assert events.count("tool_result") == 2


def test_sync_run_with_mcp_servers(shared: MCPServerStdio) -> None:
    agent = McpAgent(provider=ScriptedProvider([ToolCall("add", {"a": 2, "b": 3}), "5."]),
                  mcp_servers=[shared])
    assert agent.run("Add.").content == "5."
    assert tool_messages(agent) == ["5"]


def test_mcp_servers_must_be_servers() -> None:
    with pytest.raises(TypeError, match="mcp_servers must be MCPServerStdio, MCPServerHTTP"):
        McpAgent(mcp_servers=["uvx mcp-server-time"])
    with pytest.raises(ValueError, match="two MCP servers are named 'same'"):
        McpAgent(mcp_servers=[toolbox_stdio(name="same"), toolbox_stdio(name="same")])
