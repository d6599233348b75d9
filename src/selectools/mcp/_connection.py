"""One live connection to an MCP server, held open by a task of its own.

The `mcp` SDK is built on anyio: a client's task group must be entered and left by the
same task. So a connection is one task that enters the SDK's `Client`, says it is ready,
and waits to be told to stop; requests from any task of its event loop are sent through
that client. Cancelling a request cancels it, and the SDK tells the server with
`notifications/cancelled`. (A connection serves one loop: MCPServer keeps one per loop.)

The connection's task holds the SDK's client inside an anyio cancel scope of its own, and is
stopped through that scope, never by `Task.cancel()`: the SDK shuts its transport down in a
shielded scope (stdio: close stdin, wait, SIGTERM the process group, SIGKILL), which anyio's
cancellation respects and a native cancellation would cut short, leaving the process alive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from .errors import MCPConnectionError

log = logging.getLogger("selectools")

T = TypeVar("T")

#: How long a connection that is told to stop is given to close its transport (end the
#: child process, delete the HTTP session) before its task is cancelled.
CLOSE_GRACE_SECONDS = 5.0
#: How long a connection stopped after its handshake (its first listing failed) is given to
#: close as `close()` does before it is cut: over HTTP, the DELETE that tells the server the
#: session may go. A server that answered the handshake usually answers that; one hung for
#: good costs a connect this much more.
END_SESSION_GRACE_SECONDS = 2.0
#: How long a cancelled connection's task is given to end. The SDK's stdio shutdown is
#: bounded at about 6.5 s (0.5 s flush, 2 s for the process to exit once its stdin closes,
#: 2 s after SIGTERM, 2 s after SIGKILL); a server that exits on EOF takes milliseconds.
ABORT_GRACE_SECONDS = 10.0


class Connection:
    def __init__(self, label: str, transport: Callable[[], AbstractAsyncContextManager[Any]],
                 mode: str, on_tools_changed: Callable[[Connection], None],
                 target: str = "") -> None:
        self.label = label
        #: Where the server is, for error messages (`command: ...`, `url: ...`), free of
        #: credentials.
        self.target = target
        self.loop = asyncio.get_running_loop()
        self.client: Any = None
        #: False once the transport failed or the connection was told to stop: the next
        #: use opens a new connection.
        self.usable = False
        #: True after a request timed out or was cancelled: the server may be hung.
        self.suspect = False
        self._transport = transport
        self._mode = mode
        self._on_tools_changed = on_tools_changed
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: The anyio scope the task holds the client in (None until the task starts).
        self._scope: Any = None
        self._in_flight = 0

    async def open(self, timeout: float | None) -> None:
        """Start the connection and wait for its handshake; raise MCPConnectionError naming
        the server when it cannot start, fails its handshake or says nothing in time. On
        any failure, and on cancellation, the transport is shut (the process stopped)
        before this returns."""
        ready: asyncio.Future[Any] = self.loop.create_future()
        self._task = self.loop.create_task(self._hold(ready), name=f"mcp {self.label}")
        try:
            done, _ = await asyncio.wait({ready}, timeout=timeout)
        except asyncio.CancelledError:
            await self.abort_quietly()
            _settle(ready)
            raise
        if not done:
            await self.abort_quietly()
            _settle(ready)
            raise MCPConnectionError(
                f"MCP server {self.label} did not finish its handshake (no answer to "
                f"initialize) within connect_timeout={timeout or 0:g} s{self._where()}")
        if ready.cancelled():  # the task was cancelled from outside (the loop closing)
            await self.abort_quietly()
            raise MCPConnectionError(f"MCP server {self.label}: the connection was cancelled "
                                     f"during its handshake{self._where()}")
        error = ready.exception()
        if error is not None:
            await self.abort_quietly()  # the transport is closing already: wait for it
            raise MCPConnectionError(
                f"MCP server {self.label} could not be started or reached: "
                f"{_describe(error)}{self._where()}") from error
        self.client = ready.result()
        self.usable = True

    def _where(self) -> str:
        return f" ({self.target})" if self.target else ""

    async def _hold(self, ready: asyncio.Future[Any]) -> None:
        import anyio
        from mcp import Client

        listener: asyncio.Task[None] | None = None
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                async with Client(self._transport(), mode=self._mode,
                                  message_handler=self._on_message, cache=None) as client:
                    if _listens(client):
                        listener = asyncio.get_running_loop().create_task(
                            self._listen(client))
                    ready.set_result(client)
                    await self._stop.wait()
            if not ready.done():  # stopped (by `abort`) before the handshake ended
                ready.cancel()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except BaseException as exc:  # noqa: BLE001 - anyio wraps failures in groups
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.debug("MCP server %s: connection ended: %s", self.label, _describe(exc))
        finally:
            self.usable = False
            if listener is not None:
                listener.cancel()

    async def _on_message(self, message: Any) -> None:
        """Handshake-era servers announce a changed tool list with a notification."""
        if isinstance(message, Exception):
            log.debug("MCP server %s: transport error: %s", self.label, _describe(message))
            return
        notification = getattr(message, "root", message)
        if getattr(notification, "method", None) == "notifications/tools/list_changed":
            self._on_tools_changed(self)

    async def _listen(self, client: Any) -> None:
        """2026-era servers announce it on a `subscriptions/listen` stream instead."""
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    self._on_tools_changed(self)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the tool list is then read only at (re)connection
            log.debug("MCP server %s: no tool-change subscription: %s", self.label,
                      _describe(exc))

    async def request(self, send: Callable[[Any], Awaitable[T]], timeout: float | None) -> T:
        """`send(client)` (on the connection's loop), within `timeout` (TimeoutError)."""
        self._in_flight += 1
        try:
            if timeout is None:
                return await send(self.client)
            async with asyncio.timeout(timeout):
                return await send(self.client)
        finally:
            self._in_flight -= 1
            if not self.usable and self._in_flight == 0:
                self._stop.set()

    def retire(self) -> None:
        """No new requests; close once the ones in flight have ended."""
        self.usable = False
        if self._in_flight == 0:
            self._call_soon(self._stop.set)

    async def close(self) -> None:
        """Close now and wait (a bounded time) for the transport to shut."""
        self.usable = False
        task = self._task
        if task is None or task.done():
            return
        if asyncio.get_running_loop() is not self.loop:
            self._call_soon(self._stop.set)
            if self.loop.is_running():
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(
                    self._shut(task, CLOSE_GRACE_SECONDS), self.loop))
            return
        self._stop.set()
        await self._shut(task, CLOSE_GRACE_SECONDS)

    async def abort(self) -> None:
        """Stop whatever the connection is doing (its handshake, a listing), and wait (a
        bounded time) for the transport to shut: a connection that failed to open must
        leave no process and no session behind. Cut at once during the handshake; after
        it, first given END_SESSION_GRACE_SECONDS to close as `close()` does (cutting the
        SDK's HTTP transport skips its DELETE). Called on the connection's loop."""
        self.usable = False
        task = self._task
        if task is None or task.done():
            return
        self._stop.set()
        await self._shut(task, END_SESSION_GRACE_SECONDS if self.client is not None else 0.0)

    async def abort_quietly(self) -> None:
        """`abort`, for a caller that is already raising (a failure, a cancellation): a
        second cancellation while it waits ends the wait, not the shutdown, which the
        connection's task goes on with alone."""
        try:
            await self.abort()
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the caller's error is the one to report
            log.debug("MCP server %s: closing after a failed connect: %s", self.label,
                      _describe(exc))

    async def _shut(self, task: asyncio.Task[None], grace: float) -> None:
        """Wait `grace` for `task` to end by itself (told to stop), then cancel its scope
        (the SDK's shielded shutdown runs to its end) and wait for that; cancel the task
        itself only if even that did not end it."""
        if grace > 0:
            await asyncio.wait({task}, timeout=grace)
        if task.done():
            return
        scope = self._scope
        if scope is None:  # not started yet: nothing to shut, so nothing to cut short
            task.cancel()
        else:
            scope.cancel()
        await asyncio.wait({task}, timeout=ABORT_GRACE_SECONDS)
        if not task.done():
            log.warning("MCP server %s: the connection did not close within %g s; cancelling "
                        "its task", self.label, ABORT_GRACE_SECONDS)
            task.cancel()
            await asyncio.wait({task}, timeout=CLOSE_GRACE_SECONDS)

    def _call_soon(self, callback: Callable[[], None]) -> None:
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            callback()
        else:
            self.loop.call_soon_threadsafe(callback)


def _listens(client: Any) -> bool:
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS

    tools = client.server_capabilities.tools
    return bool(tools is not None and tools.list_changed
                and client.protocol_version in MODERN_PROTOCOL_VERSIONS)


def _describe(error: BaseException) -> str:
    """The innermost useful message of an error anyio may have wrapped in groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _settle(ready: asyncio.Future[Any]) -> None:
    """Retrieve what an abandoned handshake ended with, so that asyncio does not log it as
    an exception never retrieved: the caller reports its own error."""
    if not ready.done():
        ready.cancel()
    elif not ready.cancelled():
        ready.exception()
