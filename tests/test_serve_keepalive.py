"""EventStream's keep-alive and its writes, on the ASGI interface it is called through.

The keep-alive looks at what pump awaits (no count per write): a stream whose model is
silent is pinged; one whose write is slow (a client reading slowly) gets no ping beside that
write; a write that fails ends the response as the client's going, not as a run failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, MutableMapping
from typing import Any

from selectools import AgentResult, Message, Role, StreamChunk
from selectools.serve.conversations import Conversations
from selectools.serve.event_stream import EventStream, ServedRun
from selectools.serve.ui_stream import DONE, HEADERS, UIMessageStream

PING = b": ping\n\n"


async def words(pauses: list[float], closed: list[bool]) -> AsyncGenerator[
        StreamChunk | AgentResult, None]:
    """A run: a word after each pause, then its result; `closed` says it was closed."""
    try:
        for number, pause in enumerate(pauses):
            await asyncio.sleep(pause)
            yield StreamChunk(content=f"w{number} ")
        yield AgentResult(message=Message(role=Role.ASSISTANT, content="done"))
    finally:
        closed.append(True)


class Client:
    """The server's side of an ASGI connection: records the body's writes, in order; a
    write can be made slow (`slow`: seconds for the write of that body index) or fail."""

    def __init__(self, slow: dict[int, float] | None = None, fail_at: int | None = None) -> None:
        self.bodies: list[bytes] = []
        self.slow = slow or {}
        self.fail_at = fail_at
        self.writing = False
        self.pings_beside_a_write = 0
        self.gone = asyncio.Event()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if message["type"] != "http.response.body":
            return
        body = message["body"]
        if body == PING:
            self.pings_beside_a_write += self.writing
            self.bodies.append(body)
            return
        index = len([b for b in self.bodies if b != PING])
        if index == self.fail_at:
            raise OSError("the client is gone")
        self.writing = True
        try:
            await asyncio.sleep(self.slow.get(index, 0.0))
        finally:
            self.writing = False
        self.bodies.append(body)

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}


def stream(items: AsyncGenerator[StreamChunk | AgentResult, None],
           every: float = 0.08) -> EventStream:
    return EventStream(ServedRun(items), UIMessageStream("msg_1"), DONE, HEADERS, Conversations(),
                       keepalive_seconds=every)


async def test_a_silent_model_is_pinged_and_the_stream_goes_on() -> None:
    closed: list[bool] = []
    client = Client()
    await stream(words([0.0, 0.4, 0.0], closed))({"type": "http"}, client.receive,
                                                  client.send)
    texts = [b for b in client.bodies if b != PING]
    pings = len(client.bodies) - len(texts)
    assert 2 <= pings <= 5  # about one in each 0.08 s of the 0.4 s silence
    assert b"w1 " in b"".join(texts) and texts[-1].endswith(DONE) and closed
    first_ping = client.bodies.index(PING)
    assert b"w0 " in b"".join(client.bodies[:first_ping])  # the ping came in the silence


async def test_a_slow_write_gets_no_ping_beside_it() -> None:
    closed: list[bool] = []
    # The second body (the first word) takes 0.4 s to write: five keep-alive periods.
    client = Client(slow={1: 0.4})
    await stream(words([0.0, 0.0], closed))({"type": "http"}, client.receive, client.send)
    assert client.pings_beside_a_write == 0
    assert PING not in client.bodies  # the model was never silent
    assert client.bodies[-1].endswith(DONE) and closed


async def test_no_ping_follows_the_last_body() -> None:
    closed: list[bool] = []
    client = Client(slow={3: 0.4})  # the last body (after start, two words) is slow
    await stream(words([0.0, 0.0], closed))({"type": "http"}, client.receive, client.send)
    assert client.bodies[-1].endswith(DONE) and PING not in client.bodies


async def test_a_failed_write_ends_the_response_without_an_error_frame() -> None:
    closed: list[bool] = []
    client = Client(fail_at=2)  # the second word's write fails
    await stream(words([0.0, 0.0, 0.0, 0.0], closed))({"type": "http"}, client.receive,
                                                       client.send)
    body = b"".join(client.bodies)
    assert b"w0 " in body and b"w1 " not in body
    assert b'"error"' not in body and not body.endswith(DONE)  # nothing more was written
    assert closed  # the run was closed


async def test_a_failing_run_ends_with_an_error_frame() -> None:
    async def failing() -> AsyncGenerator[StreamChunk | AgentResult, None]:
        yield StreamChunk(content="half ")
        raise RuntimeError("boom")

    client = Client()
    await stream(failing())({"type": "http"}, client.receive, client.send)
    body = b"".join(client.bodies)
    assert b'"type":"error"' in body and b"RuntimeError" in body and body.endswith(DONE)


async def test_a_client_gone_while_the_model_is_silent_closes_the_run() -> None:
    closed: list[bool] = []
    client = Client()
    asyncio.get_running_loop().call_later(0.1, client.gone.set)
    await asyncio.wait_for(stream(words([0.0, 30.0], closed))(
        {"type": "http"}, client.receive, client.send), 5)
    assert closed and not client.bodies[-1].endswith(DONE)
