"""The other direction: an Agent's tools (or the Agent itself, as one tool) served as an MCP
server, for desktop MCP clients (`selectools mcp serve module:agent`).

Each tool is listed with its own JSON schema and run as the agent would run it (validated,
within the agent's tool timeout; a call the agent would hold for a person's approval is
refused); a failure is an `isError` result in the words the model
would have read; images a result carries (`content_parts`) go as image blocks beside its
text. As one tool, the agent takes `{"prompt": str}` and answers with its final text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..tools import Tool, UnknownToolError, format_tool_error
from ..tools.approval import approval_check
from ..types import ToolCall

if TYPE_CHECKING:
    from ..agent.core import Agent

#: The schema of the agent offered as one tool.
AGENT_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"prompt": {"type": "string", "description": "What to ask the agent."}},
    "required": ["prompt"],
    "additionalProperties": False,
}


def served_tools(agent: Agent, *, as_tool: str | None = None) -> list[Tool]:
    """The tools a client sees: the agent's own, or the agent as one tool named `as_tool`."""
    if as_tool is None:
        return agent.tools

    async def ask(prompt: str) -> str:
        result = await agent.arun(prompt)
        return result.content

    description = (agent.config.system_prompt or "").strip() or "Ask an agent that uses tools."
    return [Tool(as_tool, description, function=ask, parameters_schema=AGENT_TOOL_SCHEMA)]


def mcp_server(agent: Agent, *, name: str = "selectools", as_tool: str | None = None) -> Any:
    """An `mcp` SDK low-level Server answering tools/list and tools/call for `agent`."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    tools = {tool.name: tool for tool in served_tools(agent, as_tool=as_tool)}
    listing = types.ListToolsResult(tools=[
        types.Tool(name=tool.name, description=tool.description,
                   input_schema=tool.parameters_schema)
        for tool in tools.values()
    ])
    timeout = agent.config.tool_timeout_seconds
    # A call the agent would hold for a person (a tool's requires_approval, the agent's
    # approval_policy) is refused: no one here can approve it, and an MCP client's own
    # confirmation is not the person the agent's rule asks for. (The agent as one tool
    # runs its calls through its run, which holds them.)
    needs_approval = approval_check(tools, agent.config.approval_policy) \
        if as_tool is None else None

    async def on_list_tools(_context: Any, _params: Any) -> types.ListToolsResult:
        return listing

    async def on_call_tool(_context: Any, params: types.CallToolRequestParams
                           ) -> types.CallToolResult:
        tool = tools.get(params.name)
        try:
            if tool is None:
                raise UnknownToolError(params.name, tools)
            arguments = params.arguments or {}
            if needs_approval is not None and needs_approval(
                    ToolCall(tool_name=tool.name, parameters=dict(arguments))):
                return types.CallToolResult(content=[types.TextContent(text=(
                    f"Error: tool {tool.name!r} needs a person's approval for this call "
                    "(its requires_approval, or the agent's approval_policy), which an MCP "
                    "client cannot give: it did not run"))], is_error=True)
            text = await tool.aexecute(arguments, timeout=timeout)
        except Exception as exc:  # the client's model reads it, as ours would
            return types.CallToolResult(
                content=[types.TextContent(text=format_tool_error(params.name, exc))],
                is_error=True)
        return types.CallToolResult(content=[types.TextContent(text=text), *_images(text)])

    return Server(name, on_list_tools=on_list_tools, on_call_tool=on_call_tool)


def _images(text: str) -> list[Any]:
    """The images a result carries beside its text (an MCPToolOutput's, say: an agent that
    passes on another server's tool passes its pictures on too)."""
    import mcp_types as types

    return [types.ImageContent(data=part.image_base64, mime_type=part.media_type or "image/png")
            for part in getattr(text, "content_parts", ())
            if part.type == "image_base64" and part.image_base64]


async def serve_stdio(agent: Agent, *, name: str = "selectools",
                      as_tool: str | None = None) -> None:
    """Serve `agent` over this process's stdin and stdout until the client leaves."""
    from mcp.server.stdio import stdio_server

    server = mcp_server(agent, name=name, as_tool=as_tool)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
