"""MCP servers as sources of tools: MCPServerStdio, MCPServerHTTP, MCPServerSSE.

    async with MCPServerStdio("uvx", args=["mcp-server-time"]) as time_server:
        agent = Agent(tools=await time_server.list_tools(), provider=...)

A server is connected by `async with` (or `with`, from sync code; or `connect()` and
`aclose()`), and lazily on first use otherwise. Its tools are listed on connect and again
after the server says its list changed (`notifications/tools/list_changed`): `tools()` is
the current list and `version` counts its changes.

A call that fails because the server died, or that times out (`timeout`, or the agent's
tool timeout), is an error the model reads, and the run goes on. A cancelled call is
cancelled at the server (`notifications/cancelled`). The next use after a failure
reconnects: at once when the connection broke; after a timeout or a cancellation, when the
server does not answer a tools/list within `PROBE_SECONDS`. Each event loop that uses a
server has a connection of its own (for stdio, a process of its own), as each has its own
HTTP session with a provider.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from ..tools import ToolTimeoutError
from ._connection import Connection
from .adapt import adapt_tools
from .errors import MCPConnectionError, MCPNotInstalledError, MCPToolError
from .results import MCPToolOutput, tool_output

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ..tools import Tool

log = logging.getLogger("selectools")

#: JSON-RPC's code for a connection that closed under a request (the SDK's CONNECTION_CLOSED).
_CONNECTION_CLOSED = -32000
_MODES = ("auto", "legacy")
_MAX_PAGES = 100
#: How long a server whose call timed out or was cancelled has to answer a tools/list
#: before its connection is dropped and a new one opened.
PROBE_SECONDS = 5.0


class MCPServer:
    """What every transport shares. Subclasses say how to reach the server (`_transport`)."""

    def __init__(self, *, name: str, tool_prefix: str | None = None,
                 timeout: float | None = 60.0, connect_timeout: float | None = 30.0,
                 mode: str = "auto") -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"an MCP server needs a name, got {name!r}")
        if tool_prefix is not None and (not isinstance(tool_prefix, str) or not tool_prefix):
            raise ValueError(f"tool_prefix must be a non-empty str or None, got {tool_prefix!r}")
        for label, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float)) or not value > 0):
                raise ValueError(f"{label} must be a positive number of seconds or None, "
                                 f"got {value!r}")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        self.name = name
        self.tool_prefix = tool_prefix
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.mode = mode
        #: How many times the tool list has been read with a change in it (0: never read).
        self.version = 0
        self._tools: list[Tool] | None = None
        self._listing: list[Any] | None = None
        self._stale = False
        # One connection per event loop, as a provider keeps one HTTP session per loop: the
        # SDK's anyio task groups belong to the task that entered them, and a loop blocked
        # in a sync call (`agent.run` inside a notebook cell) could not serve another's.
        self._connections: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Connection] = (
            weakref.WeakKeyDictionary())
        self._connecting: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())
        self._refreshing: set[asyncio.Task[list[Tool]]] = set()

    # -- how to reach it ------------------------------------------------------------------

    def _transport(self) -> AbstractAsyncContextManager[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _label(self) -> str:
        return repr(self.name)

    def _target(self) -> str:
        """Where the server is, for connection errors, free of credentials."""
        return ""

    # -- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect (start the process, open the session) and list the tools. Raises
        MCPConnectionError when the server cannot be started or reached."""
        await self._live_connection()

    async def aclose(self) -> None:
        """Close every connection (the ones of other event loops too)."""
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            await connection.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    def __enter__(self) -> Self:
        """From sync code: connected on the library's event loop, where sync `Agent.run`
        runs its tools."""
        from .._sync import run_sync

        run_sync(self.connect())
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """`aclose()` from sync code (on the library's event loop, where `with server:` and
        sync `Agent.run` connect); it never connects, as `with server:` would."""
        from .._sync import run_sync

        run_sync(self.aclose())

    @property
    def connected(self) -> bool:
        """Whether a connection is open (on any event loop)."""
        return any(connection.usable for connection in list(self._connections.values()))

    async def _live_connection(self) -> Connection:
        """This event loop's connection, opened (or reopened) if need be."""
        loop = asyncio.get_running_loop()
        connection = self._connections.get(loop)
        if connection is not None and connection.usable:
            if not connection.suspect or await self._answers(connection):
                return connection
            connection.retire()
        lock = self._connecting.get(loop)
        if lock is None:  # an asyncio lock serves one loop
            lock = self._connecting[loop] = asyncio.Lock()
        async with lock:  # two calls at once open one connection
            connection = self._connections.get(loop)
            if connection is None or not connection.usable:
                connection = await self._open(loop)
        return connection

    async def _answers(self, connection: Connection) -> bool:
        """After a call timed out or was cancelled: is the server still answering? (A
        tools/list, the one request every server takes; ping is gone from 2026 on.)"""
        try:
            await connection.request(_list_all_tools, min(self.timeout or PROBE_SECONDS,
                                                          PROBE_SECONDS))
        except asyncio.CancelledError:
            raise
        except Exception:
            return False
        connection.suspect = False
        return True

    async def _open(self, loop: asyncio.AbstractEventLoop) -> Connection:
        _require_sdk()
        old = self._connections.pop(loop, None)
        if old is not None:
            old.retire()
        connection = Connection(self._label(), self._transport, self.mode, self._tools_changed,
                                target=self._target())
        await connection.open(self.connect_timeout)  # shuts what it opened when it fails
        try:
            # The first listing is part of connecting: bounded like it, not like a call.
            await self._first_listing(connection)
        except BaseException:
            # A failed or cancelled connect leaves nothing running: the process is stopped
            # (or the HTTP session closed) before the error reaches the caller, who holds
            # no server to close (`async with` has no __aexit__ after a failed __aenter__).
            await connection.abort_quietly()
            raise
        self._connections[loop] = connection
        return connection

    async def _first_listing(self, connection: Connection) -> None:
        setting, timeout = ("connect_timeout", self.connect_timeout)
        if timeout is None:  # what _read_tools falls back to
            setting, timeout = ("timeout", self.timeout)
        try:
            await self._read_tools(connection, timeout)
        except TimeoutError:  # (never without a timeout)
            raise MCPConnectionError(
                f"MCP server {self._label()} finished its handshake but did not answer "
                f"tools/list within {setting}={timeout or 0:g} s{connection._where()}"
            ) from None
        except MCPConnectionError:
            raise
        except Exception as exc:  # a JSON-RPC error, a listing that cannot be adapted
            raise MCPConnectionError(
                f"MCP server {self._label()} finished its handshake but its tools/list "
                f"failed: {exc}{connection._where()}") from exc

    # -- tools ----------------------------------------------------------------------------

    async def list_tools(self) -> list[Tool]:
        """The server's tools as selectools Tools, read from the server now (connecting if
        need be)."""
        connection = await self._live_connection()
        return list(await self._read_tools(connection))

    def tools(self) -> list[Tool]:
        """The tools as last listed (on connect, or after the server said they changed)."""
        if self._tools is None:
            raise MCPConnectionError(f"MCP server {self._label()} is not connected yet: use "
                                     "`async with server:` or `await server.connect()` first")
        return list(self._tools)

    async def current_tools(self) -> list[Tool]:
        """The tools, connecting first if need be, and read again if the server said they
        changed since: what a run should start with."""
        connection = await self._live_connection()
        if self._stale:
            await self._read_tools(connection)
        return self.tools()

    async def _read_tools(self, connection: Connection, timeout: float | None = None
                          ) -> list[Tool]:
        self._stale = False
        listing = await connection.request(_list_all_tools, timeout or self.timeout)
        if listing != self._listing:
            self._listing = listing
            self._tools = adapt_tools(self, listing)
            self.version += 1
        assert self._tools is not None
        return self._tools

    def _tools_changed(self, connection: Connection) -> None:
        """Called on a connection's loop when the server says its tool list changed: it is
        read again at once, in the background (and by the next run, if that is sooner)."""
        self._stale = True
        if not connection.usable or self._refreshing:
            # One refresh at a time: a server may say so thousands of times. A change it
            # announces during a refresh leaves the list stale (the refresh cleared the
            # flag when it started), so the next run reads it again.
            return
        refresh = connection.loop.create_task(self._read_tools(connection))
        self._refreshing.add(refresh)  # held until done: the loop keeps weak references
        refresh.add_done_callback(self._refreshed)

    def _refreshed(self, task: asyncio.Task[list[Tool]]) -> None:
        self._refreshing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("MCP server %s: the tool list could not be read again: %s",
                        self._label(), task.exception())

    # -- calls ----------------------------------------------------------------------------

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None
                        ) -> MCPToolOutput:
        """Call a tool by the server's name for it. Raises MCPToolError when the server
        reports a failure, ToolTimeoutError after `timeout`, MCPConnectionError when the
        connection fails (the next call reconnects)."""
        connection = await self._live_connection()
        sent = dict(arguments or {})
        try:
            result = await connection.request(
                lambda client: client.call_tool(name, sent), self.timeout)
        except TimeoutError:
            # A server that hangs may never answer again: the next use checks that it
            # does, and starts afresh if not.
            connection.suspect = True
            raise ToolTimeoutError(name, self.timeout or 0) from None
        except asyncio.CancelledError:  # the run's cancellation, or the agent's tool timeout
            connection.suspect = True
            raise
        except Exception as exc:
            raise self._call_error(connection, name, exc) from exc
        return tool_output(result, name)

    def _call_error(self, connection: Connection, name: str, exc: Exception) -> Exception:
        from mcp import MCPError as SDKError

        if isinstance(exc, SDKError) and exc.code != _CONNECTION_CLOSED:
            # The server answered the call with a JSON-RPC error (an unknown tool, bad
            # arguments): the model reads it like a failed tool.
            return MCPToolError(exc.message)
        connection.retire()
        if isinstance(exc, MCPConnectionError):
            return exc
        return MCPConnectionError(f"MCP server {self._label()} failed during the call to "
                                  f"{name!r} ({exc}); it is reconnected on the next call")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class MCPServerStdio(MCPServer):
    """A server started as a child process, spoken to over its stdin and stdout.

    `env` is added to the few variables the SDK passes on by default (PATH, HOME, ...):
    a key in your environment reaches the server only when you give it here.
    """

    def __init__(self, command: str, args: Sequence[str] = (), *,
                 env: Mapping[str, str] | None = None, cwd: str | None = None,
                 name: str | None = None, tool_prefix: str | None = None,
                 timeout: float | None = 60.0, connect_timeout: float | None = 30.0,
                 mode: str = "auto") -> None:
        if not isinstance(command, str) or not command:
            raise ValueError(f"command must be a non-empty str, got {command!r}")
        if isinstance(args, str) or not all(isinstance(arg, str) for arg in args):
            raise TypeError(f"args must be a list of str, got {args!r}")
        super().__init__(name=name or _name_of_command(command, args), tool_prefix=tool_prefix,
                         timeout=timeout, connect_timeout=connect_timeout, mode=mode)
        self.command = command
        self.args = list(args)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd

    def _target(self) -> str:
        return f"command: {_command_line(self.command, self.args)}"

    def _transport(self) -> AbstractAsyncContextManager[Any]:
        from mcp import StdioServerParameters, stdio_client

        return stdio_client(StdioServerParameters(command=self.command, args=self.args,
                                                  env=self.env, cwd=self.cwd))


class MCPServerHTTP(MCPServer):
    """A server at a URL, over streamable HTTP (the current transport).

    A URL's `user:password@` is sent as an `Authorization: Basic` header and kept out of
    `url`: the SDK's HTTP client logs every request's URL at INFO, and error messages name
    the URL. (Give either that or an Authorization header, not both.)
    """

    def __init__(self, url: str, *, headers: Mapping[str, str] | None = None,
                 name: str | None = None, tool_prefix: str | None = None,
                 timeout: float | None = 60.0, connect_timeout: float | None = 30.0,
                 mode: str = "auto") -> None:
        _check_url(url)
        super().__init__(name=name or _name_of_url(url), tool_prefix=tool_prefix,
                         timeout=timeout, connect_timeout=connect_timeout, mode=mode)
        self._headers = dict(headers or {})
        basic = _basic_authorization(url)
        if basic is not None:
            if any(key.lower() == "authorization" for key in self._headers):
                raise ValueError("the url holds user:password and headers hold an "
                                 "Authorization too: give one of them")
            self._headers["Authorization"] = basic
        self.url = _without_userinfo(url)

    def _target(self) -> str:
        return f"url: {_bare_url(self.url)}"

    def _transport(self) -> AbstractAsyncContextManager[Any]:
        return _streamable_http(self.url, self._headers)

    def __repr__(self) -> str:  # never the headers: credentials
        return f"{type(self).__name__}(url={self.url!r}, name={self.name!r})"


class MCPServerSSE(MCPServerHTTP):
    """A server at a URL over the older HTTP+SSE transport (protocol 2024-11-05)."""

    def _transport(self) -> AbstractAsyncContextManager[Any]:
        from mcp.client.sse import sse_client

        return sse_client(self.url, headers=self._headers)


@asynccontextmanager
async def _streamable_http(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with create_mcp_http_client(headers=headers) as http_client, \
            streamable_http_client(url, http_client=http_client) as streams:
        yield streams


async def _list_all_tools(client: Any) -> list[Any]:
    listed: list[Any] = []
    cursor = None
    for _page in range(_MAX_PAGES):  # a server whose pages never end cannot hang us
        page = await client.list_tools(cursor=cursor)
        listed.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return listed


def _require_sdk() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise MCPNotInstalledError(
            "MCP servers need the official MCP SDK: pip install 'selectools[mcp]'") from None


def _check_url(url: str) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be an http:// or https:// URL, got {url!r}")


def _name_of_command(command: str, args: Sequence[str]) -> str:
    import os.path

    for arg in args:  # `uvx mcp-server-time`, `python -m server`: the server's own name
        if not arg.startswith("-") and arg != "-m":
            return os.path.basename(arg)
    return os.path.basename(command)


def _without_userinfo(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _basic_authorization(url: str) -> str | None:
    """The `Authorization: Basic` value for a URL's `user:password@` (percent-decoded, as
    RFC 3986 writes them; UTF-8, as RFC 7617 allows), None for a URL without them."""
    import base64
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return None
    userinfo = parts.netloc.rpartition("@")[0]
    user, _, password = userinfo.partition(":")
    pair = f"{unquote(user)}:{unquote(password)}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _bare_url(url: str) -> str:
    """A URL for an error message: no userinfo, query nor fragment (a token may be in any)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(_without_userinfo(url))
    return urlunsplit(parts._replace(query="", fragment=""))


def _command_line(command: str, args: Sequence[str]) -> str:
    """The command for an error message: the program and its arguments up to the first
    positional one (the script, the package), short flags (`-m`, `-y`) kept; long options
    and every later argument, which may carry a token, are shown as `…`."""
    words = [command]
    for index, arg in enumerate(args):
        if arg.startswith("--"):
            words.append("…")
            continue
        words.append(arg)
        if not arg.startswith("-"):
            if index + 1 < len(args):
                words.append("…")
            break
    compact: list[str] = []
    for word in words:  # one `…` for a run of hidden arguments
        if not (word == "…" and compact and compact[-1] == "…"):
            compact.append(word)
    return " ".join(compact)


def _name_of_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)  # never the user:password of a URL that holds them
    host = parts.hostname or "server"
    return f"{host}:{parts.port}" if parts.port else host
