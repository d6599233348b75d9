"""Tools from Model Context Protocol servers, and agents served as MCP servers.

    from selectools.mcp import MCPServerStdio

    async with MCPServerStdio("uvx", args=["mcp-server-time"]) as time_server:
        agent = Agent(tools=await time_server.list_tools(), provider=...)

Needs the `mcp` extra (`pip install 'selectools[mcp]'`, the official SDK); importing this
package does not import it, so servers can be described before it is installed. See
docs/mcp.md.
"""

from .errors import (
    MCPConnectionError,
    MCPError,
    MCPNotInstalledError,
    MCPToolError,
    MCPToolNameClash,
)
from .results import MCPToolOutput
from .server import MCPServer, MCPServerHTTP, MCPServerSSE, MCPServerStdio
from .toolset import MCPToolset

__all__ = [
    "MCPConnectionError",
    "MCPError",
    "MCPNotInstalledError",
    "MCPServer",
    "MCPServerHTTP",
    "MCPServerSSE",
    "MCPServerStdio",
    "MCPToolError",
    "MCPToolNameClash",
    "MCPToolOutput",
    "MCPToolset",
]
