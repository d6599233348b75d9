"""One live connection to an MCP server, held open by a task of its own.

The `mcp` SDK is built on anyio: a client's task group must be entered and left by the
same task. So a connection is one task that enters the SDK's `Client`, says it is ready,
and waits to be told to stop; requests from any task of its event loop are sent through
that client. Cancelling a request cancels it, and the SDK tells the server with
`notifications/cancelled`. (A connection serves one loop: MCPServer keeps one per loop.)
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
#: child process, delete the HTTP session) before it is left to finish on its own.
CLOSE_GRACE_SECONDS = 5.0


class Connection:
    def __init__(self, label: str, transport: Callable[[], AbstractAsyncContextManager[Any]],
                 mode: str, on_tools_changed: Callable[[Connection], None]) -> None:
        self.label = label
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
        self._in_flight = 0

    async def open(self, timeout: float | None) -> None:
        """Start the connection and wait for its handshake; raise MCPConnectionError naming
        the server when it cannot start, fails its handshake or says nothing in time."""
        ready: asyncio.Future[Any] = self.loop.create_future()
        self._task = self.loop.create_task(self._hold(ready), name=f"mcp {self.label}")
        try:
            done, _ = await asyncio.wait({ready}, timeout=timeout)
        except asyncio.CancelledError:
            self._task.cancel()
            raise
        if not done:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=CLOSE_GRACE_SECONDS)
            raise MCPConnectionError(f"MCP server {self.label} did not finish its handshake "
                                     f"within {timeout:g} s")
        error = ready.exception()
        if error is not None:
            raise MCPConnectionError(
                f"MCP server {self.label} could not be started or reached: {_describe(error)}"
            ) from error
        self.client = ready.result()
        self.usable = True

    async def _hold(self, ready: asyncio.Future[Any]) -> None:
        from mcp import Client

        listener: asyncio.Task[None] | None = None
        try:
            async with Client(self._transport(), mode=self._mode,
                              message_handler=self._on_message, cache=None) as client:
                if _listens(client):
                    listener = asyncio.get_running_loop().create_task(self._listen(client))
                ready.set_result(client)
                await self._stop.wait()
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
                    _wait_for(task, CLOSE_GRACE_SECONDS), self.loop))
            return
        self._stop.set()
        await _wait_for(task, CLOSE_GRACE_SECONDS)

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


async def _wait_for(task: asyncio.Task[None], timeout: float) -> None:
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        await asyncio.wait({task}, timeout=timeout)


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
