"""Several MCP servers as one source of tools, for an Agent.

Tool names must be unique across the servers (and the agent's own tools): a clash is a
clear error at start-up naming both owners, unless a server is given a `tool_prefix`.
`current_tools()` connects what is not connected and returns the tools a run starts with;
`version` changes whenever any server's list changed, so a caller rebuilds only then.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .errors import MCPToolNameClash
from .server import MCPServer

if TYPE_CHECKING:
    from ..tools import Tool


class MCPToolset:
    def __init__(self, servers: Iterable[MCPServer]) -> None:
        self.servers: tuple[MCPServer, ...] = tuple(servers)
        for server in self.servers:
            if not isinstance(server, MCPServer):
                raise TypeError("mcp_servers must be MCPServerStdio, MCPServerHTTP or "
                                f"MCPServerSSE objects, got {server!r}")
        self._seen: tuple[int, ...] | None = None
        names = [server.name for server in self.servers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two MCP servers are named {name!r}; give one another "
                                 "name=...")

    @property
    def version(self) -> tuple[int, ...]:
        """Changes whenever any server's tool list changed (compare it, do not order it)."""
        return tuple(server.version for server in self.servers)

    async def current_tools(self, own: Sequence[Tool] = ()) -> list[Tool]:
        """Every server's tools (connecting those not connected), checked for clashes with
        each other and with `own`, the agent's own tools."""
        import asyncio

        listed = await asyncio.gather(*(server.current_tools() for server in self.servers))
        return combined(own, zip(self.servers, listed, strict=True))

    async def changed_tools(self, own: Sequence[Tool] = ()) -> list[Tool] | None:
        """For an Agent at the start of each run: `current_tools(own)` when any server's
        list changed since the last call (the first call included), else None, so the
        agent rebuilds its setup only then."""
        tools = await self.current_tools(own)
        version = self.version
        if version == self._seen:
            return None
        self._seen = version
        return tools

    async def aclose(self) -> None:
        for server in self.servers:
            await server.aclose()


def combined(own: Sequence[Tool], listed: Iterable[tuple[MCPServer, list[Tool]]]) -> list[Tool]:
    owners = {tool.name: "the agent's own tools" for tool in own}
    tools = list(own)
    for server, server_tools in listed:
        for tool in server_tools:
            owner = owners.get(tool.name)
            if owner is not None:
                raise MCPToolNameClash(
                    f"tool name {tool.name!r} is offered by {owner} and by MCP server "
                    f"{server.name!r}; give the server a tool_prefix=... to tell them apart")
            owners[tool.name] = f"MCP server {server.name!r}"
            tools.append(tool)
    return tools
