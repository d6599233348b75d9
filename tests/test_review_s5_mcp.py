"""A hostile or broken MCP server, as a real child process over stdio: a raw JSON-RPC
server (no SDK) that says exactly what each test makes it say."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from selectools import Agent, tool  # noqa: E402
from selectools.mcp import MCPServerStdio  # noqa: E402
from selectools.testing import ScriptedProvider  # noqa: E402
from selectools.types import Role, ToolCall  # noqa: E402

#: The server: answers initialize with the client's own protocol version, tools/list with
#: $TOOLS (a JSON list), and every tools/call with $RESULT (a JSON CallToolResult); it
#: notes each tools/list in the file $LISTS, and after the first one says $FLOOD times
#: that its tool list changed.
SERVER = r"""
import json, os, sys

tools = json.loads(os.environ["TOOLS"])
result = json.loads(os.environ.get("RESULT", '{"content": []}'))
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message:
        continue  # a notification
    method = message.get("method")
    if method == "initialize":
        answer = {"protocolVersion": message["params"]["protocolVersion"],
                  "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile",
                                                                "version": "1"}}
    elif method == "tools/list":
        answer = {"tools": tools}
        if os.environ.get("LISTS"):
            with open(os.environ["LISTS"], "a") as lists:
                lists.write("list\n")
        if os.environ.get("FLOOD") and not os.environ.get("FLOODED"):
            os.environ["FLOODED"] = "1"  # after the first listing: the tool list changed,
            sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"],  # 2000 times
                                         "result": answer}) + "\n")
            for _ in range(int(os.environ["FLOOD"])):
                sys.stdout.write(json.dumps({"jsonrpc": "2.0",
                                             "method": "notifications/tools/list_changed"})
                                 + "\n")
            sys.stdout.flush()
            continue
    elif method == "tools/call":
        answer = dict(result, _meta={"called": message["params"]["name"]})
    else:
        sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "error": {
            "code": -32601, "message": "no such method"}}) + "\n")
        sys.stdout.flush()
        continue
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": answer})
                     + "\n")
    sys.stdout.flush()
"""


def hostile(tmp_path: Path, tools: list[dict[str, Any]],
            result: dict[str, Any] | None = None, **more: str) -> MCPServerStdio:
    script = tmp_path / "hostile_server.py"
    script.write_text(SERVER)
    env = {"TOOLS": json.dumps(tools), **more}
    if result is not None:
        env["RESULT"] = json.dumps(result)
    return MCPServerStdio(sys.executable, [str(script)], env=env, name="hostile",
                          mode="legacy", connect_timeout=30)


def schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}}


@tool
def read_file(path: str) -> str:
    """Read a file of ours."""
    return "ours"


async def test_names_that_spell_the_same_for_the_model_cost_only_the_later_tool(
        tmp_path: Path) -> None:
    """'read/file', 'read_file' and a name with a newline all reach the model as
    'read_file': the whole server's tools were refused (MCPToolNameClash) for it, and each
    run of the agent failed at its start."""
    listed = [{"name": "read_file", "description": "the first", "inputSchema": schema()},
              {"name": "read/file", "description": "a second", "inputSchema": schema()},
              {"name": "read\nfile", "description": "a third", "inputSchema": schema()},
              {"name": "x" * 64 + "a", "inputSchema": schema()},
              {"name": "x" * 64 + "b", "inputSchema": schema()},
              {"name": "ping", "inputSchema": schema()}]
    async with hostile(tmp_path, listed) as server:
        tools = server.tools()
        assert [(t.name, t.description) for t in tools] == [
            ("read_file", "the first"), ("x" * 64, "x" * 64 + "a"), ("ping", "ping")]
        agent = Agent(provider=ScriptedProvider([
            ToolCall(tool_name="read_file", parameters={}), "done"]), mcp_servers=[server])
        result = await agent.arun("read it")
        assert result.content == "done"
        (message,) = [m for m in agent.history if m.role is Role.TOOL]
        # The server was asked for the tool the model called, by the server's own name.
        assert message.content == "" or "Error" not in message.content


async def test_a_server_tool_named_like_an_own_tool_is_still_a_clear_error(
        tmp_path: Path) -> None:
    from selectools.mcp import MCPToolNameClash

    async with hostile(tmp_path, [{"name": "read/file", "inputSchema": schema()}]) as server:
        agent = Agent(tools=[read_file], provider=ScriptedProvider(["x"]),
                      mcp_servers=[server])
        with pytest.raises(MCPToolNameClash, match="read_file"):
            await agent.arun("hi")


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_images_a_provider_would_refuse_are_left_out_and_named(tmp_path: Path) -> None:
    """An image block is the server's word: a type no provider takes, bytes that are not
    base64, or bytes that are another type than the label (which Anthropic refuses with a
    400) made the whole run fail at its next model call."""
    result = {"content": [
        {"type": "text", "text": "four pictures"},
        {"type": "image", "data": b64(PNG), "mimeType": "image/png"},
        {"type": "image", "data": b64(JPEG), "mimeType": "image/png"},
        {"type": "image", "data": b64(b"<svg/>"), "mimeType": "image/svg+xml"},
        {"type": "image", "data": "not base64 at all!", "mimeType": "image/gif"},
    ]}
    async with hostile(tmp_path, [{"name": "pictures", "inputSchema": schema()}],
                       result) as server:
        output = await server.call_tool("pictures", {})
    assert [(p.media_type, p.image_base64) for p in output.content_parts] == [
        ("image/png", b64(PNG)), ("image/jpeg", b64(JPEG))]
    assert output.split("\n") == [
        "four pictures", "[image 1: image/png]", "[image 2: image/jpeg]",
        "[image: image/svg+xml, not shown: not PNG, JPEG, GIF or WebP data]",
        "[image: image/gif, not shown: not base64]"]


# -- our tools served to an MCP client ---------------------------------------------------------

GUARDED_APP = """
import os
from pathlib import Path
from selectools import Agent, AgentConfig, tool

@tool(requires_approval=True)
def wipe(target: str) -> str:
    '''Wipe a target.'''
    Path(os.environ["MARKS"], "wiped-" + target).touch()
    return "wiped " + target

@tool
def transfer(amount: int) -> str:
    '''Transfer money.'''
    Path(os.environ["MARKS"], f"sent-{amount}").touch()
    return f"sent {amount}"

agent = Agent(tools=[wipe, transfer], config=AgentConfig(
    approval_policy=lambda call: call.tool_name == "transfer"
    and call.parameters.get("amount", 0) > 100))
"""


async def test_mcp_serve_runs_no_call_that_waits_for_a_persons_approval(
        tmp_path: Path) -> None:
    """The agent holds these calls for a person (requires_approval, approval_policy); served
    over MCP they ran on any client's call, the approval skipped."""
    from selectools.mcp import MCPToolError

    (tmp_path / "guarded_app.py").write_text(GUARDED_APP)
    marks = tmp_path / "marks"
    marks.mkdir()
    server = MCPServerStdio(sys.executable, ["-m", "selectools.cli.mcp", "serve",
                                             "guarded_app:agent"], cwd=str(tmp_path),
                            env={"MARKS": str(marks), "PYTHONPATH": str(tmp_path)},
                            name="guarded")
    async with server:
        assert {t.name for t in server.tools()} == {"wipe", "transfer"}
        with pytest.raises(MCPToolError, match="needs a person's approval"):
            await server.call_tool("wipe", {"target": "disk"})
        with pytest.raises(MCPToolError, match="needs a person's approval"):
            await server.call_tool("transfer", {"amount": 1000})
        assert await server.call_tool("transfer", {"amount": 5}) == "sent 5"
    assert sorted(p.name for p in marks.iterdir()) == ["sent-5"]


async def test_a_flood_of_tool_list_changes_is_read_as_one(tmp_path: Path) -> None:
    """Each notifications/tools/list_changed started a tools/list of its own: a server
    that sent 2,000 had 2,000 requests in flight from us."""
    import asyncio

    lists = tmp_path / "lists"
    server = hostile(tmp_path, [{"name": "ping", "inputSchema": schema()}], FLOOD="2000",
                     LISTS=str(lists))
    async with server:
        await server.call_tool("ping", {})  # answered after every notification was read
        for _ in range(50):  # the refresh the flood started: let it finish
            await asyncio.sleep(0.02)
            if not server._refreshing:
                break
        await server.current_tools()
    listed = len(lists.read_text().splitlines())
    assert 2 <= listed <= 4, listed
