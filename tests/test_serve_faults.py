"""Faults at the boundary: `selectools serve` (a real uvicorn process) in front of an
OpenAIProvider talking to a loopback model server that counts its open requests.

- A client that leaves mid-answer (or a WebSocket "stop") cancels the run and its HTTP stream
  to the model: the model server's open requests drop to zero long before its answer would
  have ended, also while the model is silent (thinking), and the server serves on.
- A provider failing mid-stream ends each protocol's stream with its error frame, and no
  response carries the API key or a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_server import openai_text
from test_serve_support import (
    CountingModelServer,
    ModelAnswer,
    Served,
    post,
    read_with_sdk,
    run_with_agui_client,
    serving,
    serving_app,
    sse_data,
    user_message,
    validate_agui,
)

pytest.importorskip("uvicorn")

KEY = "sk-serve-test-4f9c2a7d1e8b6035"
#: 400 tokens, 50 ms apart: 20 s of answer, far longer than any test waits.
LONG = openai_text([f"word{n} " for n in range(400)])


@pytest.fixture
def model() -> Iterator[CountingModelServer]:
    with CountingModelServer() as server:
        yield server


@pytest.fixture
def served(model: CountingModelServer, tmp_path: Path) -> Iterator[Served]:
    with serving("wire_agent", tmp_path, {"SERVE_MODEL_URL": model.url,
                                         "SERVE_MODEL_KEY": KEY}) as server:
        yield server


async def read_then_leave(url: str, body: dict[str, Any], marker: bytes, count: int = 3,
                          before_leaving: Callable[[], None] | None = None) -> int:
    """POST, read the SSE body until `marker` was seen `count` times, then (after calling
    `before_leaving`) drop the connection; returns how many times it was seen."""
    import aiohttp

    seen = 0
    async with aiohttp.ClientSession() as session:
        response = await session.post(url, json=body)
        assert response.status == 200
        async for line in response.content:
            seen += line.count(marker)
            if seen >= count:
                break
        if before_leaving is not None:
            before_leaving()
        response.close()  # not read to its end: the connection is closed, not reused
    return seen


def all_done(model: CountingModelServer, requests: int = 1) -> bool:
    # 10 s: far less than the 20 s the long answer lasts, and patient with a loaded box.
    return model.wait_for(lambda m: m.requests >= requests and m.open_requests == 0, 10.0)


def agui_body(text: str) -> dict[str, Any]:
    return {"threadId": "t", "runId": "r", "messages": [
        {"id": "1", "role": "user", "content": text}]}


# -- a client that leaves -------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "marker"), [
    ("/api/chat", {"id": "c", "messages": [user_message("talk")]}, b'"text-delta"'),
    ("/agui", agui_body("talk"), b'"TEXT_MESSAGE_CONTENT"'),
])
async def test_a_client_leaving_mid_answer_ends_the_models_stream(
        model: CountingModelServer, served: Served, path: str, body: dict[str, Any],
        marker: bytes) -> None:
    model.answers.append(ModelAnswer(LONG, pause=0.05))
    assert await read_then_leave(served.url + path, body, marker) >= 3
    assert all_done(model), "the run went on streaming from the model for nobody"
    # ...and the server serves the next client.
    model.answers.append(ModelAnswer(openai_text(["Hello ", "again"])))
    read = read_with_sdk(served.url, "c2", [user_message("hi")])
    assert read["message"]["parts"][-1]["text"] == "Hello again"


async def test_a_client_leaving_while_the_model_is_silent_ends_its_stream(
        model: CountingModelServer, served: Served) -> None:
    """The model has sent two tokens and thinks: nothing is written to the client, so only
    watching for the disconnect can notice it."""
    model.answers.append(ModelAnswer(LONG, hold=3))

    def still_thinking() -> None:  # two tokens came and the model holds its stream open
        assert model.open_requests == 1

    await read_then_leave(served.url + "/api/chat", {"messages": [user_message("x")]},
                          b'"text-delta"', count=2, before_leaving=still_thinking)
    assert all_done(model)


async def test_a_silent_stream_is_pinged_and_the_sdk_reads_through_the_pings(
        model: CountingModelServer, tmp_path: Path) -> None:
    """While the model is silent, `: ping` comments keep the connection from looking idle
    to a proxy; the Vercel AI SDK's reader skips them."""
    env = {"SERVE_MODEL_URL": model.url, "SERVE_MODEL_KEY": KEY}
    with serving_app("wire_agent", tmp_path, env, keepalive_seconds=0.1) as app:
        # Two tokens, then silence until the client leaves: pings, and only pings, follow.
        model.answers.append(ModelAnswer(LONG, hold=3))
        import aiohttp

        async with aiohttp.ClientSession() as session:
            response = await session.post(app.url + "/api/chat",
                                          json={"messages": [user_message("x")]})
            deltas, pings_since = 0, 0  # (a ping may come before the first token too)
            async for line in response.content:
                if b'"text-delta"' in line:
                    deltas, pings_since = deltas + 1, 0
                elif line == b": ping\n":
                    pings_since += 1
                else:
                    assert line == b"\n" or not line.startswith(b":"), line
                if deltas == 2 and pings_since == 3:
                    break
            response.close()
        assert model.open_requests in (0, 1)
        assert all_done(model)  # leaving a pinged stream still ends the model's stream
        # Words 0.35 s apart, pinged every 0.1 s between them: the SDK's reader gets the
        # whole answer, every chunk valid, the comments skipped.
        model.answers.append(ModelAnswer(openai_text(["Slow ", "but ", "sure"]), pause=0.35))
        read = read_with_sdk(app.url, "c-ping", [user_message("hi")])
        assert not read["errors"]
        assert read["message"]["parts"][-1]["text"] == "Slow but sure"


async def test_websocket_stop_and_disconnect_end_the_models_stream(
        model: CountingModelServer, served: Served) -> None:
    from websockets.asyncio.client import connect

    url = served.url.replace("http", "ws") + "/ws"
    model.answers.append(ModelAnswer(LONG, pause=0.05))
    async with connect(url, open_timeout=10) as socket:
        await socket.send(json.dumps({"content": "talk", "conversation_id": "w"}))
        chunks = 0
        while chunks < 3:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            chunks += frame["type"] == "chunk"
        await socket.send(json.dumps({"type": "stop"}))
        while (frame := json.loads(await asyncio.wait_for(socket.recv(), 10)))["type"] \
                != "stopped":
            assert frame["type"] in ("chunk", "iteration_start")
        assert all_done(model)
        # The socket goes on: the next message is answered.
        model.answers.append(ModelAnswer(openai_text(["Fine."])))
        await socket.send(json.dumps({"content": "again", "conversation_id": "w"}))
        while (frame := json.loads(await asyncio.wait_for(socket.recv(), 10)))["type"] \
                != "done":
            pass
        assert frame["content"] == "Fine."
        # A run in progress when the socket closes is cancelled too.
        model.answers.append(ModelAnswer(LONG, pause=0.05))
        await socket.send(json.dumps({"content": "talk more", "conversation_id": "w"}))
        while json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] != "chunk":
            pass
    assert all_done(model, requests=3)


# -- a provider that fails mid-stream -------------------------------------------------------


async def test_a_provider_failing_mid_stream_ends_with_each_protocols_error_frame(
        model: CountingModelServer, served: Served) -> None:
    from websockets.asyncio.client import connect

    broken = openai_text(["Half ", "an ", "answer ", "and"])
    # /api/chat, read by the SDK: the error reaches useChat's onError, the stream is whole.
    model.answers.append(ModelAnswer(broken, cut=3))
    read = read_with_sdk(served.url, "c", [user_message("go")])
    kinds = [c["type"] for c in read["chunks"]]
    assert kinds[-2:] == ["error", "finish"] and read["chunks"][-1]["finishReason"] == "error"
    assert len(read["errors"]) == 1 and "Error" in read["errors"][0]
    # /api/chat, raw: the SSE body ends with the error, finish, [DONE].
    model.answers.append(ModelAnswer(broken, cut=3))
    status, _, body = post(served.url + "/api/chat", {"messages": [user_message("go")]})
    data = sse_data(body)
    assert status == 200 and data[-1] == "[DONE]"
    assert [json.loads(d)["type"] for d in data[-3:-1]] == ["error", "finish"]
    # /agui: RUN_ERROR last, which AG-UI's own client reports as the run's failure.
    model.answers.append(ModelAnswer(broken, cut=3))
    _, _, agui = post(served.url + "/agui", agui_body("go"))
    last = json.loads(sse_data(agui)[-1])
    assert last["type"] == "RUN_ERROR" and last["message"]
    validate_agui([json.loads(data) for data in sse_data(agui)])  # a conforming failed run
    model.answers.append(ModelAnswer(broken, cut=3))
    run = run_with_agui_client(served.url, agui_body("go")["messages"])
    assert run["events"][-1]["type"] == "RUN_ERROR" and run["error"]
    # /ws: an error frame, and the socket stays open.
    model.answers.append(ModelAnswer(broken, cut=3))
    async with connect(served.url.replace("http", "ws") + "/ws", open_timeout=10) as socket:
        await socket.send(json.dumps({"content": "go"}))
        while (frame := json.loads(await asyncio.wait_for(socket.recv(), 10)))["type"] \
                != "error":
            assert frame["type"] != "done"
        await socket.send("not json")
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "error"
    for text in (json.dumps(read), body.decode(), agui.decode(), json.dumps(run),
                 json.dumps(frame)):
        assert KEY not in text and "Traceback" not in text


async def test_a_provider_echoing_the_key_in_its_error_never_shows_it(
        model: CountingModelServer, served: Served) -> None:
    """A server that repeats the key in its 401 body: the error frame names the failure,
    the key is redacted where it left the provider."""
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}",
                                 "type": "invalid_request_error",
                                 "code": "invalid_api_key"}}).encode()
    model.answers.append(ModelAnswer([], status=401, body=echo))
    status, _, body = post(served.url + "/api/chat", {"messages": [user_message("go")]})
    error = [json.loads(d) for d in sse_data(body)[:-1] if json.loads(d)["type"] == "error"]
    assert status == 200 and len(error) == 1
    assert "AuthenticationError" in error[0]["errorText"]
    assert KEY not in body.decode() and KEY[-8:] not in body.decode()
    assert KEY not in served.output()  # nor in the server's log


async def test_ctrl_c_ends_the_open_streams_and_their_runs(
        model: CountingModelServer, served: Served) -> None:
    """Stopping the server while a browser is mid-answer ends that answer within the grace
    period, and its run with it, instead of waiting for the answer to finish."""
    import signal
    import time

    import aiohttp

    model.answers.append(ModelAnswer(LONG, pause=0.05))
    async with aiohttp.ClientSession() as session:
        response = await session.post(served.url + "/api/chat",
                                      json={"messages": [user_message("talk")]})
        await response.content.readline()
        assert model.wait_for(lambda m: m.open_requests == 1, 10.0)
        started = time.monotonic()
        served.process.send_signal(signal.SIGINT)
        returncode = await asyncio.to_thread(served.process.wait, 15)
        stopped_after = time.monotonic() - started
        response.close()
    assert returncode == 0 and stopped_after < 12  # the 5 s grace, then the answers end
    assert all_done(model)
