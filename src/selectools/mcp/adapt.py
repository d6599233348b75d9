"""An MCP server's tools as selectools Tools: the server's JSON schema goes to the model as
it is, and calling the Tool calls the server."""

from __future__ import annotations

import copy
import logging
import re
from typing import TYPE_CHECKING, Any

from ..tools import Tool

if TYPE_CHECKING:
    from .server import MCPServer

log = logging.getLogger("selectools")

# What a tool name may hold for every provider (tools.base checks the same); anything else
# in an MCP name (a '/' or a space, say) becomes '_'. The server is called by its own name.
_NAME_LIMIT = 64
_OUTSIDE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def model_name(mcp_name: str, prefix: str | None) -> str:
    """The name the model sees: `<prefix>_<name>`, spelled as every provider accepts."""
    name = _OUTSIDE_NAME.sub("_", f"{prefix}_{mcp_name}" if prefix else mcp_name)
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "_" + name
    return name[:_NAME_LIMIT]


def adapt_tools(server: MCPServer, listed: list[Any]) -> list[Tool]:
    """One Tool per listed MCP tool. A tool whose schema no provider could take (not a JSON
    object schema), or whose name reads as an earlier tool's once spelled for the model
    ('read/file' after 'read_file', two names alike in their first 64 characters), is left
    out with a warning: one odd tool must not cost the others (a clash is refused for the
    whole toolset, so every run would fail at its start)."""
    tools: list[Tool] = []
    taken: dict[str, str] = {}  # model name -> the server's name for it
    for mcp_tool in listed:
        name = model_name(mcp_tool.name, server.tool_prefix)
        if name in taken:
            log.warning("MCP server %r: tool %r left out: the model would know it as %r, "
                        "the name of its tool %r", server.name, mcp_tool.name, name,
                        taken[name])
            continue
        try:
            tool = Tool(
                name, mcp_tool.description or getattr(mcp_tool, "title", None) or mcp_tool.name,
                function=_caller(server, mcp_tool.name),
                parameters_schema=mcp_tool.input_schema,
            )
        except (TypeError, ValueError) as exc:
            log.warning("MCP server %r: tool %r left out: %s", server.name, mcp_tool.name, exc)
            continue
        # Checked by Tool, which also fills in an empty "required" and "properties"; the
        # model gets the server's schema exactly as the server wrote it.
        tool.parameters_schema = copy.deepcopy(mcp_tool.input_schema)
        tools.append(tool)
        taken[name] = mcp_tool.name
    return tools


def _caller(server: MCPServer, mcp_name: str) -> Any:
    async def call_mcp_tool(**arguments: Any) -> str:
        return await server.call_tool(mcp_name, arguments)

    call_mcp_tool.__qualname__ = call_mcp_tool.__name__ = f"mcp_{server.name}_{mcp_name}"
    return call_mcp_tool
