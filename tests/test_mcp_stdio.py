"""MCP tools over stdio: our toolbox server (the SDK's MCPServer) as a child process, read
through MCPServerStdio and driven through an Agent whose model is scripted."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

pytest.importorskip("mcp")

from mcp_servers.running import line_in, toolbox_stdio  # noqa: E402
from mcp_servers.toolbox import PIXEL_PNG  # noqa: E402
from wire_server import WireServer  # noqa: E402

from selectools import Agent, AgentConfig  # noqa: E402
from selectools.mcp import MCPConnectionError, MCPServerStdio, MCPToolError  # noqa: E402
from selectools.providers.anthropic import AnthropicProvider  # noqa: E402
from selectools.testing import ScriptedProvider  # noqa: E402
from selectools.types import Role, ToolCall  # noqa: E402

TOOL_NAMES = {"add", "describe", "pixel", "readme", "fail", "hang", "grow", "crash", "whoami",
              "header", "secret"}


def tool_messages(agent: Agent) -> list[str]:
    return [m.content for m in agent.history if m.role is Role.TOOL]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toolbox") / "toolbox.log"


#: The tests that share one toolbox (a server takes seconds to start here) share one loop.
on_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(log: Path) -> AsyncIterator[MCPServerStdio]:
    """One toolbox for the tests that leave it as they found it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOOLBOX_SECRET", "from-our-environment")
        async with toolbox_stdio(log) as server:
            yield server


async def test_tools_are_listed_on_connect_with_their_schemas_as_they_are() -> None:
    from mcp import Client, StdioServerParameters

    # The handshake-era protocol (2025-11-25) here; the shared server speaks 2026-07-28.
    async with toolbox_stdio(mode="legacy") as server:
        tools = {tool.name: tool for tool in server.tools()}
        assert set(tools) == TOOL_NAMES
        assert server.version == 1
        # What the SDK's own client lists, schema for schema.
        params = StdioServerParameters(command=server.command, args=server.args)
        async with Client(params, mode="legacy") as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        for name, tool in tools.items():
            assert tool.parameters_schema == listed[name].input_schema
            assert tool.description == listed[name].description
        # And a changed list is read again: the server sends notifications/tools/list_changed.
        await expect_extra_after_grow(server)


async def expect_extra_after_grow(server: MCPServerStdio) -> None:
    assert "extra" not in {tool.name for tool in server.tools()}
    assert await server.call_tool("grow") == "grown"
    for _ in range(1000):  # the notification arrives after the answer: wait for it
        if server.version == 2:
            break
        await asyncio.sleep(0.01)
    tools = await server.current_tools()
    assert server.version == 2
    assert "extra" in {tool.name for tool in tools}
    extra = next(tool for tool in tools if tool.name == "extra")
    assert await extra.aexecute({}) == "extra tool"


async def test_a_changed_tool_list_is_read_again_from_a_subscription() -> None:
    async with toolbox_stdio() as server:  # 2026-07-28: subscriptions/listen
        await expect_extra_after_grow(server)


@on_module_loop
async def test_an_agent_calls_mcp_tools_and_reads_their_results(
        shared: MCPServerStdio) -> None:
    provider = ScriptedProvider([
        [ToolCall("add", {"a": 2, "b": 40}), ToolCall("describe", {"city": "Lisbon"})],
        ToolCall("readme", {}),
        "Lisbon has 3.5 million people; 2 + 40 = 42.",
    ])
    agent = Agent(tools=await shared.list_tools(), provider=provider)
    result = await agent.arun("Add 2 and 40, and describe Lisbon.")
    assert result.content == "Lisbon has 3.5 million people; 2 + 40 = 42."
    added, described, readme = tool_messages(agent)
    assert added == "42"
    assert json.loads(described) == {"city": "Lisbon", "population": 3_500_000,
                                     "tags": ["port", "capital"]}
    assert readme == "[resource <file:///readme.md>]\n# Toolbox\nSmall tools."
    # The model was offered every tool of the server.
    assert set(provider.requests[0][2]) == TOOL_NAMES


@on_module_loop
async def test_structured_content_and_images_are_kept_on_the_result(
        shared: MCPServerStdio) -> None:
    described = await shared.call_tool("describe", {"city": "Porto"})
    picture = await shared.call_tool("pixel")
    assert described.structured == {"city": "Porto", "population": 3_500_000,
                                    "tags": ["port", "capital"]}
    assert picture == "a red pixel\n[image 1: image/png]"
    (part,) = picture.content_parts
    assert part.type == "image_base64" and part.media_type == "image/png"
    assert base64.b64decode(part.image_base64 or "") == PIXEL_PNG


@on_module_loop
async def test_an_mcp_tools_image_reaches_the_model_request_as_an_image(
        shared: MCPServerStdio, wire_server: WireServer) -> None:
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
              "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 5},
              "content": [{"type": "tool_use", "id": "toolu_1", "name": "pixel", "input": {}}]}
    wire_server.reply(body=answer)
    wire_server.reply(body={**answer, "stop_reason": "end_turn",
                            "content": [{"type": "text", "text": "A red pixel."}]})
    provider = AnthropicProvider(api_key="sk-ant-test", base_url=wire_server.url,
                                 model="claude-sonnet-4-5", max_retries=0)
    agent = Agent(tools=await shared.list_tools(), provider=provider)
    try:
        result = await agent.arun("What does the pixel tool draw?")
    finally:
        await provider.aclose()
    assert result.content == "A red pixel."
    (tool_result,) = wire_server.requests[1].json["messages"][-1]["content"]
    caption, image = tool_result["content"]
    assert caption == {"type": "text", "text": "a red pixel\n[image 1: image/png]"}
    assert image["type"] == "image" and image["source"]["type"] == "base64"
    assert image["source"]["media_type"] == "image/png"
    assert base64.b64decode(image["source"]["data"]) == PIXEL_PNG


@on_module_loop
async def test_an_is_error_result_is_a_tool_error_the_model_reads(
        shared: MCPServerStdio) -> None:
    with pytest.raises(MCPToolError, match="failed on purpose: no reason"):
        await shared.call_tool("fail", {"reason": "no reason"})
    agent = Agent(tools=shared.tools(), provider=ScriptedProvider([
        ToolCall("fail", {"reason": "disk full"}), ToolCall("add", {"a": 1, "b": 1}),
        "Done."]))
    result = await agent.arun("Try.")
    assert result.content == "Done."
    failed, added = tool_messages(agent)
    assert failed == ("Error: tool 'fail' raised MCPToolError: Error executing tool fail: "
                      "failed on purpose: disk full")
    assert added == "2"


@on_module_loop
async def test_bad_arguments_are_refused_before_the_server_is_called(
        shared: MCPServerStdio) -> None:
    agent = Agent(tools=shared.tools(), provider=ScriptedProvider([
        ToolCall("add", {"a": 1}), "Sorry."]))
    await agent.arun("Add.")
    (refused,) = tool_messages(agent)
    assert refused == "Error: invalid arguments for tool 'add': missing required parameter 'b'"


@on_module_loop
async def test_a_hanging_call_times_out_is_cancelled_at_the_server_and_the_run_goes_on(
        shared: MCPServerStdio, log: Path) -> None:
    pid = int(await shared.call_tool("whoami"))
    agent = Agent(tools=shared.tools(), config=AgentConfig(tool_timeout_seconds=2),
                  provider=ScriptedProvider([
                      ToolCall("hang", {"label": "slow"}), ToolCall("add", {"a": 3, "b": 4}),
                      "It hung; 3 + 4 = 7."]))
    result = await agent.arun("Go.")
    assert result.content == "It hung; 3 + 4 = 7."
    timed_out, added = tool_messages(agent)
    assert timed_out == "Error: tool 'hang' timed out after 2 s"
    assert added == "7"
    # The server got notifications/cancelled: the handler was cancelled in the same
    # process, which still answers on the same connection.
    assert await line_in(log, "cancelled slow") == f"cancelled slow {pid}"
    assert int(await shared.call_tool("whoami")) == pid


@on_module_loop
async def test_the_servers_own_timeout_bounds_a_call(shared: MCPServerStdio,
                                                     log: Path) -> None:
    own = MCPServerStdio(shared.command, shared.args, env=shared.env, timeout=0.5)
    async with own:
        agent = Agent(tools=own.tools(), provider=ScriptedProvider([
            ToolCall("hang", {"label": "own"}), "Gave up."]))
        await agent.arun("Go.")
        await line_in(log, "cancelled own")
    assert tool_messages(agent) == ["Error: tool 'hang' timed out after 0.5 s"]


@on_module_loop
async def test_cancelling_a_run_cancels_its_call_at_the_server(shared: MCPServerStdio,
                                                               log: Path) -> None:
    agent = Agent(tools=shared.tools(), provider=ScriptedProvider([
        ToolCall("hang", {"label": "run"}), "never"]))
    run = asyncio.create_task(agent.arun("Go."))
    started = await line_in(log, "started run")
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    cancelled = await line_in(log, "cancelled run")
    assert cancelled.split()[2] == started.split()[2]  # the same process: not a restart


async def test_a_server_that_dies_gives_a_tool_error_and_is_restarted_on_next_use() -> None:
    server = toolbox_stdio()  # connected on first use, without `async with`
    try:
        assert not server.connected
        first = int(await server.call_tool("whoami"))
        assert server.connected and set(t.name for t in server.tools()) == TOOL_NAMES
        agent = Agent(tools=server.tools(), provider=ScriptedProvider([
            ToolCall("crash", {}), ToolCall("whoami", {}), "It came back."]))
        result = await agent.arun("Go.")
    finally:
        await server.aclose()
    assert not server.connected
    assert result.content == "It came back."
    crashed, second = tool_messages(agent)
    assert crashed.startswith("Error: tool 'crash' raised MCPConnectionError: MCP server ")
    assert "reconnected on the next call" in crashed
    assert int(second) != first


@on_module_loop
async def test_env_reaches_the_server_and_nothing_else_of_ours_does(
        shared: MCPServerStdio) -> None:
    # TOOLBOX_SECRET was in our environment when the server started, but not in env=.
    assert await shared.call_tool("secret") == "(none)"
    async with toolbox_stdio(env={"TOOLBOX_SECRET": "given"}) as server:
        assert await server.call_tool("secret") == "given"


@on_module_loop
async def test_a_sync_run_gets_a_connection_of_its_own_on_the_library_loop(
        shared: MCPServerStdio) -> None:
    here = await shared.call_tool("whoami")
    for a, b in ((20, 22), (1, 2)):  # two sync runs, one connection on the library loop
        agent = Agent(tools=shared.tools(), provider=ScriptedProvider([
            [ToolCall("add", {"a": a, "b": b}), ToolCall("whoami", {})], "Added."]))
        # From a worker thread, as sync code beside this loop would call it; this loop
        # (and its connection) keeps running meanwhile.
        result = await asyncio.to_thread(agent.run, "Add.")
        assert result.content == "Added."
        added, there = tool_messages(agent)
        assert added == str(a + b)
        assert there != here  # another process: each loop has its own connection
        if a == 20:
            first_there = there
    assert there == first_there
    assert await shared.call_tool("whoami") == here


def test_sync_code_connects_with_a_plain_with() -> None:
    with toolbox_stdio() as server:
        agent = Agent(tools=server.tools(), provider=ScriptedProvider([
            ToolCall("add", {"a": 5, "b": 5}), "10."]))
        assert agent.run("Add.").content == "10."
        assert server.connected
    assert not server.connected
    assert tool_messages(agent) == ["10"]


async def test_a_server_that_cannot_start_is_a_clear_error() -> None:
    server = MCPServerStdio("/nonexistent/mcp-server", name="missing")
    with pytest.raises(MCPConnectionError, match="'missing' could not be started"):
        await server.connect()
    with pytest.raises(MCPConnectionError, match="not connected yet"):
        server.tools()


def test_bad_settings_are_refused_when_made() -> None:
    with pytest.raises(ValueError, match="command must be a non-empty str"):
        MCPServerStdio("")
    with pytest.raises(TypeError, match="args must be a list of str"):
        MCPServerStdio("python", "server.py")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        MCPServerStdio("python", timeout=0)
    with pytest.raises(ValueError, match="mode must be one of"):
        MCPServerStdio("python", mode="2024")


async def test_a_frozen_server_times_out_and_is_replaced_on_next_use() -> None:
    import os
    import signal

    server = toolbox_stdio()
    async with server:
        frozen = int(await server.call_tool("whoami"))
        server.timeout = 1  # from here on (the connection took its time: a busy host)
        os.kill(frozen, signal.SIGSTOP)  # the whole process stops answering
        try:
            agent = Agent(tools=server.tools(), provider=ScriptedProvider([
                ToolCall("add", {"a": 1, "b": 1}), ToolCall("whoami", {}), "Back."]))
            result = await agent.arun("Go.")
        finally:
            os.kill(frozen, signal.SIGKILL)  # a stopped process still takes SIGKILL
    assert result.content == "Back."
    timed_out, replacement = tool_messages(agent)
    assert timed_out == "Error: tool 'add' timed out after 1 s"
    # The next call found the server not answering a tools/list and started a new one.
    assert int(replacement) != frozen
