"""A small MCP server for the tests, over stdio or HTTP:

    python -m tests.mcp_servers.toolbox stdio
    python -m tests.mcp_servers.toolbox http|sse   # prints "port N" when it listens

Tools: add (structured int), describe (text + structured dict), pixel (an image), readme
(an embedded text resource), fail (raises: isError), hang (never ends; writes "started" and
"cancelled" with its pid to $TOOLBOX_LOG), grow (adds a tool and says the list changed, in
both protocol eras), crash (the process exits), whoami (the process id, to see a
reconnection), header (an HTTP header it got), secret (an environment variable given to it).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sys

import mcp_types as types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image

# A 1x1 red PNG.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")

server = MCPServer("toolbox")
#: Where hang writes the label of a cancelled call (it outlives this process, which the
#: client may restart after a timeout).
_LOG = os.environ.get("TOOLBOX_LOG")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def describe(city: str) -> dict[str, object]:
    """Describe a city."""
    return {"city": city, "population": 3_500_000, "tags": ["port", "capital"]}


@server.tool(structured_output=False)
def pixel() -> list[object]:
    """A tiny picture, with a caption."""
    return ["a red pixel", Image(data=PIXEL_PNG, format="png")]


@server.tool(structured_output=False)
def readme() -> types.EmbeddedResource:
    """The project's readme, as an embedded resource."""
    return types.EmbeddedResource(type="resource", resource=types.TextResourceContents(
        uri="file:///readme.md", mime_type="text/markdown", text="# Toolbox\nSmall tools."))


@server.tool()
def fail(reason: str) -> str:
    """Always fails, with the reason given."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
async def hang(label: str = "hang") -> str:
    """Never answers (until cancelled)."""
    _note(f"started {label}")
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        _note(f"cancelled {label}")
        raise
    return "unreachable"


def _note(event: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{event} {os.getpid()}\n")


@server.tool()
async def grow(ctx: Context) -> str:
    """Add the tool `extra` and announce the change."""
    server.add_tool(lambda: "extra tool", name="extra", description="Added by grow.")
    await ctx.notify_tools_changed()  # 2026-era clients, on subscriptions/listen
    if ctx.protocol_version and ctx.protocol_version < "2026":
        await ctx.session.send_tool_list_changed()  # handshake-era clients
    return "grown"


@server.tool()
def crash() -> str:
    """The server process dies mid-call."""
    os._exit(3)


@server.tool()
def whoami() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def header(name: str, ctx: Context) -> str:
    """An HTTP request header the client sent (HTTP transports)."""
    return (ctx.headers or {}).get(name.lower(), "(none)")


@server.tool()
def secret() -> str:
    """The TOOLBOX_SECRET given to the server, if any."""
    return os.environ.get("TOOLBOX_SECRET", "(none)")


def _serve_http(kind: str) -> None:
    import uvicorn

    app = server.streamable_http_app() if kind == "http" else server.sse_app()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart takes the port
    sock.bind(("127.0.0.1", int(os.environ.get("TOOLBOX_PORT") or 0)))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts: no race
    print(f"port {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    transport = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if transport == "stdio":
        server.run()
    else:
        _serve_http(transport)
