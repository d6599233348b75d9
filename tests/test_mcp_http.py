"""MCP tools over HTTP: our toolbox server (the SDK's MCPServer under uvicorn) as a child
process on 127.0.0.1, over streamable HTTP and over the older HTTP+SSE transport."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from mcp_servers.running import line_in, toolbox_http  # noqa: E402

from selectools import Agent, AgentConfig  # noqa: E402
from selectools.mcp import MCPConnectionError, MCPServerHTTP, MCPServerSSE  # noqa: E402
from selectools.testing import ScriptedProvider  # noqa: E402
from selectools.types import Role, ToolCall  # noqa: E402

TOKEN = "Bearer sk-test-0123456789"


def tool_messages(agent: Agent) -> list[str]:
    return [m.content for m in agent.history if m.role is Role.TOOL]


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toolbox-http") / "toolbox.log"


@pytest.fixture(scope="module")
def http_url(log: Path) -> Iterator[str]:
    with toolbox_http("http", log) as url:
        yield url


async def test_streamable_http_lists_calls_and_sends_our_headers(http_url: str) -> None:
    server = MCPServerHTTP(http_url, headers={"Authorization": TOKEN}, name="toolbox")
    async with server:
        assert {"add", "pixel", "header"} <= {tool.name for tool in server.tools()}
        agent = Agent(tools=server.tools(), provider=ScriptedProvider([
            [ToolCall("add", {"a": 1, "b": 2}), ToolCall("header", {"name": "Authorization"}),
             ToolCall("pixel", {}), ToolCall("fail", {"reason": "over HTTP"})],
            "Done."]))
        result = await agent.arun("Go.")
    assert result.content == "Done."
    added, header, picture, failed = tool_messages(agent)
    assert (added, header) == ("3", TOKEN)
    assert picture == "a red pixel\n[image 1: image/png]"
    assert failed.endswith("failed on purpose: over HTTP")
    # The credentials never show in what the server object says of itself.
    assert TOKEN not in repr(server) and "sk-test" not in repr(server)


async def test_a_hang_over_http_times_out_and_is_cancelled_at_the_server(
        http_url: str, log: Path) -> None:
    async with MCPServerHTTP(http_url) as server:
        agent = Agent(tools=server.tools(), config=AgentConfig(tool_timeout_seconds=2),
                      provider=ScriptedProvider([
                          ToolCall("hang", {"label": "http"}), ToolCall("add", {"a": 2, "b": 2}),
                          "Four."]))
        result = await agent.arun("Go.")
        await line_in(log, "cancelled http")
    assert result.content == "Four."
    assert tool_messages(agent) == ["Error: tool 'hang' timed out after 2 s", "4"]


async def test_a_changed_tool_list_over_http_is_read_again() -> None:
    with toolbox_http("http") as url:  # a server of its own: grow changes its tools
        async with MCPServerHTTP(url) as server:
            assert "extra" not in {tool.name for tool in server.tools()}
            await server.call_tool("grow")
            for _ in range(1000):
                if server.version == 2:
                    break
                await asyncio.sleep(0.01)
            assert "extra" in {tool.name for tool in await server.current_tools()}


async def test_the_older_sse_transport() -> None:
    with toolbox_http("sse") as url:
        async with MCPServerSSE(url, headers={"X-Client": "selectools-tests"}) as server:
            assert await server.call_tool("add", {"a": 4, "b": 5}) == "9"
            assert await server.call_tool("header", {"name": "x-client"}) == "selectools-tests"
            picture = await server.call_tool("pixel")
            assert len(picture.content_parts) == 1


async def test_a_server_that_is_not_there_is_a_clear_error_without_the_headers() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = MCPServerHTTP(f"http://127.0.0.1:{port}/mcp", headers={"Authorization": TOKEN},
                           connect_timeout=20)
    with pytest.raises(MCPConnectionError) as caught:
        await server.connect()
    assert f"'127.0.0.1:{port}' could not be started or reached" in str(caught.value)
    assert "sk-test" not in str(caught.value)


def test_urls_are_checked_and_a_name_never_holds_credentials() -> None:
    with pytest.raises(ValueError, match="http:// or https:// URL"):
        MCPServerHTTP("localhost:8000/mcp")
    server = MCPServerHTTP("https://user:secret@mcp.example.com:8443/mcp")
    assert server.name == "mcp.example.com:8443"
    assert repr(server) == ("MCPServerHTTP(url='https://mcp.example.com:8443/mcp', "
                            "name='mcp.example.com:8443')")


async def test_a_server_that_dies_over_http_is_reconnected_when_it_is_back() -> None:
    from urllib.parse import urlsplit

    with toolbox_http("http") as url:
        server = MCPServerHTTP(url)
        await server.connect()
        agent = Agent(tools=server.tools(), provider=ScriptedProvider([
            ToolCall("crash", {}), "It died."]))
        assert (await agent.arun("Go.")).content == "It died."
    (crashed,) = tool_messages(agent)
    assert crashed.startswith("Error: tool 'crash' raised MCPConnectionError: MCP server ")
    port = urlsplit(url).port or 0
    with toolbox_http("http", port=port):  # the same address, a new process
        try:
            assert await server.call_tool("add", {"a": 2, "b": 2}) == "4"
        finally:  # before the server stops: it waits for open streams to end
            await server.aclose()
