"""The connection pool of a provider's aiohttp session, with reads sized for the heap.

asyncio's plain-socket transport asks each recv() for 256 KiB (its `max_size`): a new
buffer per read, over glibc's mmap threshold (128 KiB), so every read of a few hundred
bytes (a stream event, a whole small answer) also maps a fresh region, faults a page of
it in, shrinks it and unmaps it: three system calls and a page fault beside each recv.
Reads of at most `READ_SIZE` come from the heap. Measured on the benchmarks' loopback
server (plain HTTP, as a local model server is): a streamed run whose events come one per
read, as a model sends them, about a quarter less CPU (B1 paced); a whole run a few
percent. (Whether malloc maps such a buffer depends on the process's history: glibc
raises its threshold after freeing a large mapped block, so the cost came and went.)
Over TLS the SSL protocol reads into one buffer of its own, reused, and nothing changes;
nor on a transport without the setting (uvloop's).

The setting is made once per connection, as it is opened, by the protocol aiohttp's
connector makes for it (`_factory`, the one hook aiohttp has there); an aiohttp without
that attribute gets its plain connector.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aiohttp

#: The most a read of a pooled connection asks of its socket.
READ_SIZE = 64 * 1024


def pooled_connector(limit: int) -> aiohttp.TCPConnector:
    """A TCPConnector of `limit` connections whose plain sockets read `READ_SIZE` at most."""
    import aiohttp
    from aiohttp.client_proto import ResponseHandler

    connector = aiohttp.TCPConnector(limit=limit)
    factory = getattr(connector, "_factory", None)
    if isinstance(factory, functools.partial) and factory.func is ResponseHandler:
        fitted: Any = _fitted(ResponseHandler)
        setattr(connector, "_factory",  # noqa: B010 (a private attribute, said so above)
                functools.partial(fitted, *factory.args, **factory.keywords))
    return connector


_FITTED: dict[type[Any], type[Any]] = {}


def _fitted(handler: type[Any]) -> type[Any]:
    """`handler` (aiohttp's ResponseHandler), its socket's reads made `READ_SIZE` at most
    (the class made once)."""
    fitted = _FITTED.get(handler)
    if fitted is None:
        class FittedResponseHandler(handler):  # type: ignore[misc]
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if getattr(transport, "max_size", 0) > READ_SIZE:
                    transport.max_size = READ_SIZE  # type: ignore[attr-defined]
                super().connection_made(transport)

        fitted = _FITTED[handler] = FittedResponseHandler
    return fitted
