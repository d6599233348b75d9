"""The errors an MCP server's tools end in. A tool call's error reaches the model as the
usual `Error: ...` tool result (the run goes on); connection errors raise to the caller only
where the caller asked for the connection (`async with server:`, `server.connect()`)."""

from __future__ import annotations


class MCPError(Exception):
    """Base of this package's errors."""


class MCPNotInstalledError(MCPError, ImportError):
    """The official `mcp` SDK is missing: `pip install 'selectools[mcp]'`."""


class MCPConnectionError(MCPError, ConnectionError):
    """The server could not be started or reached, or it went away during a call."""


class MCPToolError(MCPError):
    """The server ran the tool and reported a failure (`isError: true`); the text it gave
    is the message, which the model reads."""


class MCPToolNameClash(MCPError, ValueError):
    """Two tools (from two servers, or a server and the agent's own) would share a name."""
