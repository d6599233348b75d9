"""Review of session 10's served short paths (EventStream's pump without per-write
bookkeeping; the keep-alive infers a silent model from what pump awaits), on a real uvicorn
process on 127.0.0.1.

- A run whose items give the client no bytes (a provider's empty tool-call fragments: the
  UI stream maps them to no frame) for longer than `keepalive_seconds` must still get
  `: ping`s: the documented contract is "after keepalive_seconds without a write".
- A client reading slowly (the server's writes blocked on its socket) gets whole frames,
  pings only between frames, nothing after the last body.
- A client that stops reading and leaves while a write is blocked ends the run and its
  stream to the model.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_server import openai_text
from test_serve_support import (
    CountingModelServer,
    ModelAnswer,
    serving_app,
    user_message,
)

from selectools import Agent, tool
from selectools.types import ToolCall, ToolCallDelta

pytest.importorskip("uvicorn")
aiohttp = pytest.importorskip("aiohttp")

KEY = "sk-review-s10-serve"
PING = b": ping"


@tool
def noop() -> str:
    """Does nothing."""
    return "nothing"


class TwoTurns:
    """A duck-typed streaming provider whose odd turns call a tool and even turns answer
    "done": what the engine reads of a provider (its subclasses write `astream`)."""

    name = "two-turns"
    supports_streaming = True
    supports_async = True
    supports_native_tools = True
    default_model = "two-turns"

    def __init__(self) -> None:
        self.turn = 0


class EmptyFragments(TwoTurns):
    """A tool call whose arguments arrive as empty fragments, one every 0.05 s for
    `FRAGMENT_SECONDS` (env), then the call; then an answer. The engine passes each
    fragment on as a "tool_call_delta" item."""

    async def astream(self, tool_deltas: bool = False, **kwargs: Any
                      ) -> AsyncIterator[str | ToolCall | ToolCallDelta]:
        self.turn += 1
        if self.turn % 2 == 1:
            seconds = float(os.environ.get("FRAGMENT_SECONDS", "1.6"))
            yield ToolCallDelta(0, "call_1", "noop", "{")
            for _ in range(int(seconds / 0.05)):
                await asyncio.sleep(0.05)
                yield ToolCallDelta(0, "call_1", "noop", "")
            yield ToolCallDelta(0, "call_1", "noop", "}")
            yield ToolCall(tool_name="noop", parameters={}, id="call_1")
        else:
            yield "done"


def fragments_agent() -> Agent:
    return Agent(tools=[noop], provider=EmptyFragments())


@tool
async def wait_a_while() -> str:
    """Takes TOOL_SECONDS (env) to answer."""
    await asyncio.sleep(float(os.environ.get("TOOL_SECONDS", "1.2")))
    return "waited"


class CallsTheSlowTool(TwoTurns):
    """Calls wait_a_while, then answers "done"."""

    async def astream(self, **kwargs: Any) -> AsyncIterator[str | ToolCall]:
        self.turn += 1
        if self.turn % 2 == 1:
            yield ToolCall(tool_name="wait_a_while", parameters={}, id="call_w")
        else:
            yield "done"


def slow_tool_agent() -> Agent:
    return Agent(tools=[wait_a_while], provider=CallsTheSlowTool())


async def timed_lines(url: str, body: dict[str, Any]) -> list[tuple[float, bytes]]:
    """POST and read the whole SSE body: each line with when it came (s from the POST)."""
    started = time.monotonic()
    lines: list[tuple[float, bytes]] = []
    async with aiohttp.ClientSession() as session:
        response = await session.post(url, json=body)
        assert response.status == 200
        async for line in response.content:
            lines.append((time.monotonic() - started, line))
    return lines


@pytest.mark.parametrize(("path", "body", "markers"), [
    ("/api/chat", {"messages": [user_message("call it")]},
     (b'"tool-input-available"', b'"text-delta"')),
    ("/agui", {"threadId": "t", "runId": "r", "messages": [
        {"id": "1", "role": "user", "content": "call it"}]},
     (b'"TOOL_CALL_END"', b'"TEXT_MESSAGE_CONTENT"')),
], ids=["api-chat", "agui"])
async def test_items_that_write_nothing_for_longer_than_the_keepalive_get_pings(
        tmp_path: Path, path: str, body: dict[str, Any], markers: tuple[bytes, bytes]) -> None:
    with serving_app("test_review_s10_serve:fragments_agent", tmp_path,
                         {"FRAGMENT_SECONDS": "1.6"}, keepalive_seconds=0.2) as app:
        lines = await timed_lines(app.url + path, body)
    whole = b"".join(line for _, line in lines)
    assert all(marker in whole for marker in markers), whole[-300:]
    # 1.6 s without a byte to write, pinged every 0.2 s: about 7 pings (3 on a loaded box).
    assert sum(line.startswith(PING) for _, line in lines) >= 3


@pytest.fixture
def model() -> Iterator[CountingModelServer]:
    with CountingModelServer() as server:
        yield server


def frames(body: bytes) -> list[bytes]:
    """An SSE body's blocks (each frame or comment, without its blank line)."""
    assert body.endswith(b"\n\n"), body[-80:]
    return body[:-2].split(b"\n\n")


async def test_a_slow_reader_gets_whole_frames_pings_only_between_them_and_none_after_the_end(
        model: CountingModelServer, tmp_path: Path) -> None:
    """Tokens of 200 kB each, 0.4 s apart (pinged in each pause at 0.05 s), read 16 kB at a
    time with a pause: the server's writes wait on the socket."""
    big = [f"{n}" + "x" * 200_000 + " " for n in range(6)]
    model.answers.append(ModelAnswer(openai_text(big), pause=0.4))
    env = {"SERVE_MODEL_URL": model.url, "SERVE_MODEL_KEY": KEY}
    with serving_app("wire_agent", tmp_path, env, keepalive_seconds=0.05) as app:
        body = b""
        async with aiohttp.ClientSession(read_bufsize=16_384) as session:
            response = await session.post(app.url + "/api/chat",
                                          json={"messages": [user_message("big")]})
            while chunk := await response.content.read(16_384):
                body += chunk
                await asyncio.sleep(0.002)
    blocks = frames(body)
    pings = [block for block in blocks if block.startswith(b":")]
    data = [block for block in blocks if not block.startswith(b":")]
    assert pings and all(block == PING for block in pings)
    assert blocks[-1] == b"data: [DONE]"  # nothing after the last body
    for block in data[:-1]:
        assert block.startswith(b"data: ") and b"\n" not in block
        json.loads(block[len(b"data: "):])  # each frame whole: no ping inside one
    text = "".join(json.loads(block[6:]).get("delta", "") for block in data[:-1]
                   if b'"text-delta"' in block)
    assert text == "".join(big)


async def test_a_client_that_stops_reading_and_leaves_mid_write_ends_the_models_stream(
        model: CountingModelServer, tmp_path: Path) -> None:
    """The client reads the first delta, then reads nothing (the server's writes of
    200 kB tokens block on its socket), then leaves: the run and its model stream end."""
    big = [f"{n}" + "y" * 200_000 + " " for n in range(200)]
    model.answers.append(ModelAnswer(openai_text(big), pause=0.02))
    env = {"SERVE_MODEL_URL": model.url, "SERVE_MODEL_KEY": KEY}
    with serving_app("wire_agent", tmp_path, env, keepalive_seconds=0.05) as app:
        async with aiohttp.ClientSession(read_bufsize=16_384) as session:
            response = await session.post(app.url + "/api/chat",
                                          json={"messages": [user_message("big")]})
            await response.content.read(16_384)  # the stream has begun
            await asyncio.sleep(1.0)  # not reading: the server's write waits
            assert model.open_requests == 1  # the model still streams (held back)
            response.close()
        assert model.wait_for(lambda m: m.requests >= 1 and m.open_requests == 0, 10.0), \
            "the run went on streaming from the model for a client that left"
        # ...and the server serves the next client.
        model.answers.append(ModelAnswer(openai_text(["again"])))
        async with aiohttp.ClientSession() as session:
            response = await session.post(app.url + "/api/chat",
                                          json={"messages": [user_message("hi")]})
            assert b'"delta":"again"' in await response.read()


async def test_a_long_tool_run_is_pinged_between_its_input_and_its_output(
        tmp_path: Path) -> None:
    """The run's generator is running (awaiting the tool), pump awaits the same item:
    pings, only between the tool's input and its output, none after the end."""
    with serving_app("test_review_s10_serve:slow_tool_agent", tmp_path,
                         {"TOOL_SECONDS": "1.2"}, keepalive_seconds=0.2) as app:
        lines = await timed_lines(app.url + "/api/chat",
                                  {"messages": [user_message("wait")]})
    kinds = [b"ping" if line.startswith(PING) else line for _, line in lines
             if line.strip()]
    start = next(n for n, line in enumerate(kinds) if b'"tool-input-available"' in line)
    end = next(n for n, line in enumerate(kinds) if b'"tool-output-available"' in line)
    assert kinds[start + 1:end].count(b"ping") >= 3 and set(kinds[start + 1:end]) == {b"ping"}
    assert kinds[-1] == b"data: [DONE]\n"
