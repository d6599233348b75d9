"""A streaming server whose body ends only when the test says so, and which records the
TCP connection of every request: for checking that a stream read to its end marker gives
its connection back to the pool even when the end of the body arrives in a later read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HeldEndServer:
    url: str
    #: One entry per request: the client's (host, port), so equal entries share a connection.
    peers: list[Any] = field(default_factory=list)
    #: Set it to let the current answer's body end (the terminating chunk is sent then).
    end: asyncio.Event = field(default_factory=asyncio.Event)


@asynccontextmanager
async def held_end_server(body: bytes, content_type: str) -> AsyncIterator[HeldEndServer]:
    """Serve `body` to every POST, then wait for `server.end` before ending the body."""
    from aiohttp import web

    state = HeldEndServer(url="")

    async def answer(request: web.Request) -> web.StreamResponse:
        await request.read()
        transport = request.transport
        state.peers.append(transport.get_extra_info("peername") if transport else None)
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        await response.write(body)
        await state.end.wait()
        state.end.clear()
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()
