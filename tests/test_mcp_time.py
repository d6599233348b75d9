"""A third-party MCP server from PyPI, `mcp-server-time` (offline), started as its users
start it (its console script), driven through an Agent whose model is scripted."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("mcp_server_time")

from selectools import Agent  # noqa: E402
from selectools.mcp import MCPServerStdio, MCPToolError  # noqa: E402
from selectools.testing import ScriptedProvider  # noqa: E402
from selectools.types import Role, ToolCall  # noqa: E402


def time_server() -> MCPServerStdio:
    # `uvx mcp-server-time` installs and runs this same script.
    script = Path(sys.executable).parent / "mcp-server-time"
    command = str(script) if script.exists() else shutil.which("mcp-server-time")
    if command is None:
        pytest.skip("the mcp-server-time command is not installed")
    return MCPServerStdio(command, args=["--local-timezone", "UTC"], name="time",
                          tool_prefix="time")


async def test_an_agent_asks_the_time_server() -> None:
    async with time_server() as server:
        tools = {tool.name: tool for tool in server.tools()}
        assert set(tools) == {"time_get_current_time", "time_convert_time"}
        # The server's own schema, as it wrote it (its descriptions name the local zone).
        convert = tools["time_convert_time"].parameters_schema
        assert convert["required"] == ["source_timezone", "time", "target_timezone"]
        assert "'UTC' as local timezone" in convert["properties"]["source_timezone"][
            "description"]
        agent = Agent(tools=server.tools(), provider=ScriptedProvider([
            [ToolCall("time_get_current_time", {"timezone": "UTC"}),
             ToolCall("time_convert_time", {"source_timezone": "UTC", "time": "12:00",
                                            "target_timezone": "Asia/Tokyo"})],
            ToolCall("time_get_current_time", {"timezone": "Mars/Olympus_Mons"}),
            "Noon in UTC is 21:00 in Tokyo.",
        ]))
        result = await agent.arun("What time is it, and what is noon UTC in Tokyo?")
        # A name the server does not know: its JSON-RPC error, and the connection stays.
        with pytest.raises(MCPToolError, match="Unknown tool: get_time"):
            await server.call_tool("get_time", {})
        assert server.connected
    assert result.content == "Noon in UTC is 21:00 in Tokyo."
    now, converted, unknown_zone = (m.content for m in agent.history if m.role is Role.TOOL)
    current = json.loads(now)
    assert current["timezone"] == "UTC"
    assert datetime.fromisoformat(current["datetime"]).utcoffset() == timedelta(0)
    conversion = json.loads(converted)
    assert conversion["time_difference"] == "+9.0h"
    assert conversion["target"]["datetime"].endswith("T21:00:00+09:00")
    assert unknown_zone.startswith("Error: tool 'time_get_current_time' raised MCPToolError: ")
    assert "Invalid timezone" in unknown_zone


def test_the_time_server_from_sync_code() -> None:
    with time_server() as server:
        agent = Agent(tools=server.tools(), provider=ScriptedProvider([
            ToolCall("time_convert_time", {"source_timezone": "Asia/Kolkata", "time": "09:30",
                                           "target_timezone": "UTC"}),
            "04:00 UTC."]))
        assert agent.run("09:30 in Kolkata is what in UTC?").content == "04:00 UTC."
    (converted,) = (m.content for m in agent.history if m.role is Role.TOOL)
    assert json.loads(converted)["target"]["datetime"].endswith("T04:00:00+00:00")
