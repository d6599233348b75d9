"""`selectools serve` as a real uvicorn process on 127.0.0.1, read by real clients: the Vercel
AI SDK (the npm package `ai`, in Node) for /api/chat, AG-UI's own event models for /agui, the
`websockets` client for /ws; auth, CORS, bad bodies and the default bind over real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_serve_support import (
    THINKING,
    TOOL_RUN,
    get_weather,
    post,
    read_with_sdk,
    recorded_agent,
    run_with_agui_client,
    serving,
    sse_data,
    user_message,
    uvicorn_in_process,
    validate_agui,
)

from selectools import Agent, AgentResult

pytest.importorskip("uvicorn")  # the serve extra (dev installs it)


def transcripts(paths: list[Path]) -> dict[str, str]:
    return {"SERVE_TRANSCRIPTS": os.pathsep.join(map(str, paths)),
            "SERVE_PROTOCOL": "anthropic"}


async def in_process(paths: list[Path], prompt: str) -> AgentResult:
    """The same agent's run through Agent.arun, for comparison with what was served."""
    os.environ.update(transcripts(paths))
    try:
        return await recorded_agent().arun(prompt)
    finally:
        for name in ("SERVE_TRANSCRIPTS", "SERVE_PROTOCOL"):
            os.environ.pop(name, None)


# -- /api/chat read by the Vercel AI SDK ----------------------------------------------------


async def test_use_chat_reads_a_tool_run_and_assembles_the_agents_answer(tmp_path: Path) -> None:
    question = "What is the weather in San Francisco?"
    expected = await in_process(TOOL_RUN, question)
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        read = read_with_sdk(served.url, "chat-1", [user_message(question)])
    assert read["errors"] == []
    message = read["message"]
    assert message["role"] == "assistant"
    assert message["metadata"] == {"iterations": expected.iterations, "stopReason": "completed"}
    kinds = [part["type"] for part in message["parts"]]
    assert kinds == ["step-start", "tool-get_weather", "step-start", "text"]
    call = expected.tool_calls[0]
    tool_part = message["parts"][1]
    assert tool_part["state"] == "output-available"
    assert tool_part["input"] == call.parameters
    assert tool_part["output"] == get_weather.function(**call.parameters)
    assert message["parts"][3]["text"] == expected.content
    streamed = [c for c in read["chunks"] if c["type"] == "tool-input-delta"]
    assert len(streamed) > 1  # the arguments reached the browser as they streamed


async def test_use_chat_reads_reasoning_as_a_reasoning_part(tmp_path: Path) -> None:
    question = "How do I cross the street safely?"
    expected = await in_process(THINKING, question)
    assert expected.message.reasoning
    with serving("recorded_agent", tmp_path, transcripts(THINKING)) as served:
        read = read_with_sdk(served.url, "chat-2", [user_message(question)])
    parts = read["message"]["parts"]
    assert [p["type"] for p in parts] == ["step-start", "reasoning", "text"]
    assert parts[1]["text"] == expected.message.reasoning[0].text
    assert parts[2]["text"] == expected.content


async def test_use_chat_drops_an_answer_a_fallback_restarted(tmp_path: Path) -> None:
    """The first provider fails mid-answer and the next answers from the start: useChat
    shows the new answer only (the SDK's reset-step dropped the void one)."""
    with serving("fallback_agent", tmp_path) as served:
        read = read_with_sdk(served.url, "c", [user_message("hi")])
    texts = [c["delta"] for c in read["chunks"] if c["type"] == "text-delta"]
    assert "".join(texts) == "Half an A whole answer."  # both were streamed...
    parts = read["message"]["parts"]
    assert [p["type"] for p in parts] == ["step-start", "text"]  # ...one is kept
    assert parts[1]["text"] == "A whole answer."


def test_use_chat_gets_the_typed_answer_as_a_data_part(tmp_path: Path) -> None:
    with serving("typed_agent", tmp_path,
                 args=["--response-format", "test_serve_support:Forecast"]) as served:
        read = read_with_sdk(served.url, "c", [user_message("plan a trip")])
    outputs = [c["data"] for c in read["chunks"] if c["type"] == "data-output"]
    assert outputs[0]["status"] == "partial"  # partial values streamed...
    (part,) = [p for p in read["message"]["parts"] if p["type"] == "data-output"]
    # ...into one part, updated in place to the validated value.
    assert part["id"] == "output"
    assert part["data"] == {"status": "ok", "value": {"city": "Paris", "days": 3}}


# -- /agui validated by ag-ui-protocol -------------------------------------------------------


def agui_events(body: bytes) -> list[dict[str, Any]]:
    events = [json.loads(data) for data in sse_data(body)]
    validate_agui(events)  # AG-UI's event models and its conformance validator
    return events


def run_input(text: str) -> dict[str, Any]:
    from ag_ui.core import RunAgentInput

    made = RunAgentInput.model_validate({
        "threadId": "thread-1", "runId": "run-1", "state": {}, "tools": [], "context": [],
        "forwardedProps": {}, "messages": [{"id": "1", "role": "user", "content": text}]})
    dumped: dict[str, Any] = made.model_dump(by_alias=True, mode="json")
    return dumped


async def test_agui_answers_a_tool_run_in_valid_events(tmp_path: Path) -> None:
    question = "What is the weather in San Francisco?"
    expected = await in_process(TOOL_RUN, question)
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        status, headers, body = post(served.url + "/agui", run_input(question))
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    events = agui_events(body)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"
    assert events[0]["threadId"] == "thread-1" and events[0]["runId"] == "run-1"
    arguments = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(arguments) == expected.tool_calls[0].parameters
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == expected.content


async def test_the_agui_client_runs_it_and_assembles_the_agents_messages(
        tmp_path: Path) -> None:
    """AG-UI's own client (HttpAgent) runs /agui: it verifies the events' order and builds
    its messages from them; they say what the agent's run did."""
    question = "What is the weather in San Francisco?"
    expected = await in_process(TOOL_RUN, question)
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        run = run_with_agui_client(served.url, [{"id": "1", "role": "user",
                                                 "content": question}])
    assert run["error"] is None
    user, calling, tool_message, answer = run["messages"]
    call = expected.tool_calls[0]
    (told,) = calling["toolCalls"]
    assert told["function"]["name"] == call.tool_name
    assert json.loads(told["function"]["arguments"]) == call.parameters
    assert tool_message == {"id": tool_message["id"], "role": "tool", "toolCallId": told["id"],
                            "content": get_weather.function(**call.parameters)}
    assert answer["role"] == "assistant" and answer["content"] == expected.content
    assert run["result"] == expected.content


async def test_the_agui_clients_messages_go_back_as_the_history_they_were(
        in_process_server: tuple[str, Agent]) -> None:
    address, agent = in_process_server
    provider: Any = agent.provider
    first = run_with_agui_client(f"http://{address}", [
        {"id": "1", "role": "user", "content": "get weather in Oslo"}])
    history = [*first["messages"], {"id": "9", "role": "user", "content": "thanks"}]
    again = run_with_agui_client(f"http://{address}", history, run_id="run-2")
    assert again["error"] is None
    sent = provider.requests[-1][1]
    assert [m.role.value for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    assert sent[1].tool_calls and sent[1].tool_calls[0].id == sent[2].tool_call_id
    assert sent[2].content == get_weather.function(location="in Oslo")


async def test_agui_streams_reasoning_events(tmp_path: Path) -> None:
    question = "How do I cross the street safely?"
    expected = await in_process(THINKING, question)
    with serving("recorded_agent", tmp_path, transcripts(THINKING + THINKING)) as served:
        _, _, body = post(served.url + "/agui", run_input(question))
        run = run_with_agui_client(served.url, [{"id": "1", "role": "user",
                                                 "content": question}])
    assert expected.message.reasoning
    for events in (agui_events(body), run["events"]):
        reasoning = "".join(e["delta"] for e in events
                            if e["type"] == "REASONING_MESSAGE_CONTENT")
        assert reasoning == expected.message.reasoning[0].text
    assert run["error"] is None  # the client verified the reasoning events' order
    assert run["messages"][-1]["content"] == expected.content


# -- /ws -------------------------------------------------------------------------------------


async def socket_run(url: str, message: dict[str, Any],
                     subprotocols: list[str] | None = None) -> list[dict[str, Any]]:
    from websockets.asyncio.client import connect

    frames = []
    async with connect(url, subprotocols=subprotocols,  # type: ignore[arg-type]
                       open_timeout=10) as socket:
        await socket.send(json.dumps(message))
        while True:
            frame = json.loads(await asyncio.wait_for(socket.recv(), 20))
            frames.append(frame)
            if frame["type"] in ("done", "error"):
                return frames


async def test_websocket_speaks_the_seeds_shape_with_tool_events(tmp_path: Path) -> None:
    question = "What is the weather in San Francisco?"
    expected = await in_process(TOOL_RUN, question)
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        frames = await socket_run(served.url.replace("http", "ws") + "/ws",
                                  {"type": "message", "content": question,
                                   "conversation_id": "conv-1"})
    assert "".join(f["content"] for f in frames if f["type"] == "chunk") == expected.content
    assert frames[-1]["type"] == "done" and frames[-1]["iterations"] == expected.iterations
    assert frames[-1]["conversation_id"] == "conv-1"
    kinds = [f["type"] for f in frames]
    assert kinds.index("tool_call_delta") < kinds.index("tool_start") < kinds.index(
        "tool_result")


@pytest.fixture
def in_process_server() -> Iterator[tuple[str, Agent]]:
    """An app served in this process, so the test can see what its agent's provider was
    sent (the conversation history)."""
    from selectools.providers.stubs import LocalProvider
    from selectools.serve import create_app

    agent = Agent(tools=[get_weather], provider=LocalProvider())
    with uvicorn_in_process(create_app(agent)) as address:
        yield address, agent


async def test_websocket_keeps_the_conversation_by_id(
        in_process_server: tuple[str, Agent]) -> None:
    address, agent = in_process_server
    provider: Any = agent.provider
    url = f"ws://{address}/ws"
    first = await socket_run(url, {"content": "get weather in Oslo", "conversation_id": "c9"})
    assert first[-1]["type"] == "done"
    await socket_run(url, {"content": "thanks", "conversation_id": "c9"})
    sent = provider.requests[-1][1]  # (system prompt, messages, tools) of the last call
    contents = [m.content for m in sent]
    assert contents[0] == "get weather in Oslo" and contents[-1] == "thanks"
    assert any(m.tool_calls for m in sent)  # the tool call and its result came back too
    await socket_run(url, {"content": "fresh start", "conversation_id": "other"})
    assert [m.content for m in provider.requests[-1][1]] == ["fresh start"]


async def test_a_long_conversation_is_trimmed_to_its_last_whole_exchanges() -> None:
    """Kept in memory, a conversation keeps its last `max_conversation_messages` messages:
    whole exchanges go from the front, so the model is sent a history that starts with a
    question and holds no tool call without its result."""
    from selectools.providers.stubs import LocalProvider
    from selectools.serve import create_app

    agent = Agent(tools=[get_weather], provider=LocalProvider())
    provider: Any = agent.provider
    with uvicorn_in_process(create_app(agent, max_conversation_messages=6)) as address:
        url = f"ws://{address}/ws"
        for turn in range(5):  # each turn adds a question, a call, its result, an answer
            said = await socket_run(url, {"content": f"get weather in city {turn}",
                                          "conversation_id": "long"})
            assert said[-1]["type"] == "done"
    sent = provider.requests[-1][1]  # what the fifth turn's last call was sent
    # Kept: the fourth exchange whole (4 messages); then the fifth's question, call, result.
    assert [m.role.value for m in sent] == ["user", "assistant", "tool", "assistant",
                                            "user", "assistant", "tool"]
    assert sent[0].content == "get weather in city 3"
    assert sent[4].content == "get weather in city 4"
    assert sent[2].tool_call_id == sent[1].tool_calls[0].id  # type: ignore[index]


async def test_the_message_the_sdk_assembled_goes_back_as_the_history_it_was(
        in_process_server: tuple[str, Agent]) -> None:
    """useChat's next request carries the answer as the SDK assembled it: the model is sent
    the question, the call, its result, the answer, then the new question."""
    address, agent = in_process_server
    provider: Any = agent.provider
    url = f"http://{address}"
    first = read_with_sdk(url, "chat-3", [user_message("get weather in Oslo")])
    read_with_sdk(url, "chat-3", [user_message("get weather in Oslo"), first["message"],
                                  user_message("thanks", "u2")])
    sent = provider.requests[-1][1]
    assert [m.role.value for m in sent] == ["user", "assistant", "tool", "assistant", "user"]
    (call,) = sent[1].tool_calls
    assert (call.tool_name, call.parameters) == ("get_weather", {"location": "in Oslo"})
    assert sent[2].tool_call_id == call.id
    assert sent[2].content == get_weather.function(location="in Oslo")
    assert sent[3].content == first["message"]["parts"][-1]["text"]


async def test_api_chat_with_only_the_new_message_continues_the_kept_history(
        in_process_server: tuple[str, Agent]) -> None:
    address, agent = in_process_server
    provider: Any = agent.provider
    status, _, _ = post(f"http://{address}/api/chat", {
        "id": "chat-7", "messages": [user_message("hello there")]})
    assert status == 200
    status, _, body = post(f"http://{address}/api/chat", {
        "id": "chat-7", "message": user_message("again", "u2")})
    assert status == 200 and sse_data(body)[-1] == "[DONE]"
    assert [m.content for m in provider.requests[-1][1]] == [
        "hello there", "hello there", "again"]  # the echo answer sits between them


# -- the page, health, auth, CORS, bad bodies, the bind --------------------------------------


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def options(url: str, origin: str) -> dict[str, str]:
    request = urllib.request.Request(url, method="OPTIONS", headers={
        "origin": origin, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,authorization"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return {k.lower(): v for k, v in error.headers.items()}


def test_page_health_and_unknown_routes(tmp_path: Path) -> None:
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        status, headers, body = get(served.url + "/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert b"<html" in body.lower() or b"<!doctype html" in body.lower()
        assert get(served.url + "/healthz")[::2] == (200, b'{"status":"ok"}')
        status, headers, body = get(served.url + "/nowhere")
        assert status == 404 and json.loads(body) == {"error": "Not Found"}
        status, _, body = get(served.url + "/api/chat")
        assert status == 405 and "error" in json.loads(body)


def test_bad_bodies_get_a_json_error_naming_the_problem_and_others_are_served(
        tmp_path: Path) -> None:
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN),
                 args=["--max-body-bytes", "4000"]) as served:
        chat = served.url + "/api/chat"
        cases = [
            (b'{"messages": [', 400, "not valid JSON"),
            (b"", 400, "the body is empty"),
            (json.dumps({"messages": {"role": "user"}}).encode(), 400,
             "messages must be a JSON array"),
            (json.dumps({"messages": [user_message("x" * 5000)]}).encode(), 413,
             "over the 4000-byte limit"),
        ]
        for body, status, named in cases:
            got, headers, answer = post(chat, body)
            assert got == status and headers["content-type"] == "application/json"
            assert named in json.loads(answer)["error"]
            assert b"Traceback" not in answer
        status, _, answer = post(served.url + "/agui", {"threadId": "t", "messages": []})
        assert status == 400 and "runId must be a string" in json.loads(answer)["error"]
        # ...and the server still serves everyone else.
        read = read_with_sdk(served.url, "c", [user_message("weather in SF?")])
        assert read["message"]["parts"][-1]["type"] == "text"


async def test_bearer_token_from_the_option_or_the_environment(tmp_path: Path) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    for args, env in ((["--auth-token", "s3cret-token"], {}),
                      ([], {"SELECTOOLS_AUTH_TOKEN": "s3cret-token"})):
        with serving("recorded_agent", tmp_path, {**transcripts(TOOL_RUN), **env},
                     args=args) as served:
            chat = served.url + "/api/chat"
            body = {"messages": [user_message("hi")]}
            for headers in ({}, {"authorization": "Bearer wrong"},
                            {"authorization": "Basic s3cret-token"}):
                status, answer_headers, answer = post(chat, body, headers)
                assert status == 401 and "bearer token" in json.loads(answer)["error"]
                assert answer_headers["www-authenticate"] == "Bearer"
            assert get(served.url + "/healthz")[0] == 200  # open: probes carry no token
            assert get(served.url + "/")[0] == 200  # the page loads, then asks for it
            read = read_with_sdk(served.url, "c", [user_message("weather in SF?")],
                                 token="s3cret-token")
            assert read["message"]["parts"][-1]["type"] == "text"
            socket_url = served.url.replace("http", "ws") + "/ws"
            with pytest.raises(InvalidStatus):
                async with connect(socket_url, open_timeout=10):
                    pass
            async with connect(socket_url, subprotocols=["bearer", "s3cret-token"],  # type: ignore[list-item]
                               open_timeout=10) as socket:
                assert socket.subprotocol == "bearer"


def test_cors_is_off_unless_origins_are_given(tmp_path: Path) -> None:
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        headers = options(served.url + "/api/chat", "http://app.example")
        assert "access-control-allow-origin" not in headers
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN),
                 args=["--cors-origin", "http://app.example", "--auth-token", "t0ken"]
                 ) as served:
        headers = options(served.url + "/api/chat", "http://app.example")
        assert headers["access-control-allow-origin"] == "http://app.example"
        assert "authorization" in headers["access-control-allow-headers"].lower()
        assert "access-control-allow-origin" not in options(served.url + "/api/chat",
                                                            "http://evil.example")


def test_binds_the_loopback_address_by_default(tmp_path: Path) -> None:
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        port = int(served.url.rsplit(":", 1)[1])
        listening = _listening_addresses(port)
    assert listening == {"127.0.0.1"}


def _listening_addresses(port: int) -> set[str]:
    """The local addresses listening on `port`, from the kernel's socket table."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    if len(address) == 8:
                        found.add(".".join(str(int(address[i:i + 2], 16))
                                           for i in (6, 4, 2, 0)))
                    else:
                        found.add(address)
    return found


def test_mounted_under_a_prefix_the_public_routes_stay_public() -> None:
    """Mounted in a bigger app (FastAPI's `mount` is Starlette's Mount), the token guards the
    agent's routes and the page and health check stay open."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from selectools.providers.stubs import LocalProvider
    from selectools.serve import create_app

    agent = Agent(tools=[], provider=LocalProvider())
    outer = Starlette(routes=[Mount("/agent", app=create_app(agent, auth_token="tok"))])
    with uvicorn_in_process(outer) as address:
        base = f"http://{address}/agent"
        assert get(base + "/healthz")[0] == 200
        assert get(base + "/")[0] == 200
        body = {"messages": [user_message("hi")]}
        assert post(base + "/api/chat", body)[0] == 401
        status, _, answer = post(base + "/api/chat", body, {"authorization": "Bearer tok"})
        assert status == 200 and sse_data(answer)[-1] == "[DONE]"


async def test_bad_websocket_messages_get_an_error_and_the_socket_goes_on(
        in_process_server: tuple[str, Agent]) -> None:
    from websockets.asyncio.client import connect

    address, _ = in_process_server
    async with connect(f"ws://{address}/ws", open_timeout=10) as socket:
        for bad, named in ((b"\x00binary", "not binary"), ("{oops", "not valid JSON"),
                           (json.dumps({"type": "dance"}), "type must be"),
                           (json.dumps({"content": "x" * 1_000_001}), "byte limit")):
            await socket.send(bad)
            frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert frame["type"] == "error" and named in frame["message"], frame
        await socket.send(json.dumps({"type": "stop"}))  # nothing runs: nothing to say
        await socket.send(json.dumps({"content": "hello"}))
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] != "done":
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
    assert frames[-1]["content"] == "hello" and frames[-1]["conversation_id"]


@pytest.mark.parametrize(("spec", "named"), [
    ("no_such_module_here:agent", "cannot import module 'no_such_module_here'"),
    ("test_serve_support:nothing", "has no 'nothing'"),
    ("test_serve_support:TESTS", "expected an Agent"),
    ("test_serve_support:get_weather", "calling it to make the agent failed"),
])
def test_serve_names_what_is_wrong_with_the_agent_it_was_given(spec: str, named: str) -> None:
    import subprocess
    import sys

    from test_serve_support import REPO, TESTS

    done = subprocess.run([sys.executable, "-m", "selectools", "serve", spec, "--port", "1"],
                          capture_output=True, text=True, timeout=60, cwd=TESTS,
                          env={**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{REPO / 'src'}"})
    assert done.returncode == 2 and named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_create_app_refuses_settings_it_cannot_use() -> None:
    from selectools.providers.stubs import LocalProvider
    from selectools.serve import create_app

    agent = Agent(tools=[], provider=LocalProvider())
    for settings, error, named in (
            ({"auth_token": ""}, ValueError, "auth_token is empty"),
            ({"max_body_bytes": 0}, ValueError, "max_body_bytes must be at least 1"),
            ({"cors_origins": "http://a.example"}, TypeError, "not one string"),
            ({"max_conversations": 0}, ValueError, "at least 1"),
            ({"max_conversation_messages": 0}, ValueError,
             "max_conversation_messages must be at least 1"),
            ({"response_format": 42}, TypeError, "response_format must be a type")):
        with pytest.raises(error, match=named):
            create_app(agent, **settings)
    with pytest.raises(TypeError, match="serves an Agent, got str"):
        create_app("agent")  # type: ignore[arg-type]


async def test_concurrent_conversations_each_get_their_own_answer(
        in_process_server: tuple[str, Agent]) -> None:
    """One agent serves many browsers at once: every stream carries its own question's
    answer (the LocalProvider echoes it), none another's."""
    import aiohttp

    address, _ = in_process_server

    async def ask(number: int) -> str:
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://{address}/api/chat", json={
                    "id": f"chat-{number}",
                    "messages": [user_message(f"question number {number}")]}) as answer:
                body = await answer.read()
        return "".join(json.loads(data).get("delta", "") for data in sse_data(body)
                       if data != "[DONE]" and json.loads(data)["type"] == "text-delta")

    answers = await asyncio.gather(*(ask(number) for number in range(30)))
    assert answers == [f"question number {number}" for number in range(30)]


# -- sessions and tool approvals ---------------------------------------------------------------


def respond(message: dict[str, Any], approved: bool) -> dict[str, Any]:
    """What useChat's addToolApprovalResponse makes of the message: every approval asked
    answered."""
    parts = [{**part, "state": "approval-responded",
              "approval": {**part["approval"], "approved": approved}}
             if part.get("state") == "approval-requested" else part
             for part in message["parts"]]
    return {**message, "parts": parts}


async def test_use_chat_asks_for_approval_and_the_run_goes_on_once_approved(
        tmp_path: Path) -> None:
    from selectools.sessions import SQLiteSessionStore

    question = "What is the weather in San Francisco?"
    expected = await in_process(TOOL_RUN, question)
    sessions = tmp_path / "sessions.db"
    env = {**transcripts(TOOL_RUN), "SERVE_SESSIONS": str(sessions)}
    with serving("approval_agent", tmp_path, env) as served:
        first = read_with_sdk(served.url, "chat-ok", [user_message(question)])
        assert first["errors"] == []
        message = first["message"]
        call = expected.tool_calls[0]
        (asked,) = [p for p in message["parts"] if p["type"] == "tool-get_weather"]
        assert asked["state"] == "approval-requested" and asked["input"] == call.parameters
        assert asked["approval"]["id"] == asked["toolCallId"]
        assert message["metadata"]["stopReason"] == "approval_required"
        assert [c for c in first["chunks"] if c["type"] == "finish"][0][
            "finishReason"] == "tool-calls"
        # The session holds the conversation and the call waiting, under the chat's id.
        state = SQLiteSessionStore(str(sessions)).get("chat-ok")
        assert state is not None and state.pending is not None
        assert [c.id for c in state.pending.calls] == [asked["toolCallId"]]

        # Approved (useChat resubmits the answered message): the tool runs, the answer
        # follows, in the same message.
        answered = respond(message, True)
        second = read_with_sdk(served.url, "chat-ok", [user_message(question), answered],
                               continued=True)
    assert second["errors"] == []
    final = second["message"]
    assert final["id"] == message["id"]
    (done,) = [p for p in final["parts"] if p["type"] == "tool-get_weather"]
    assert done["state"] == "output-available"
    assert done["output"] == get_weather.function(**call.parameters)
    assert done["approval"]["approved"] is True
    assert final["parts"][-1] == {"type": "text", "text": expected.content, "state": "done"}
    assert final["metadata"]["stopReason"] == "completed"
    state = SQLiteSessionStore(str(sessions)).get("chat-ok")
    assert state is not None and state.pending is None
    assert state.messages[-1].content == expected.content


async def test_a_denied_call_is_shown_denied_and_the_run_goes_on(tmp_path: Path) -> None:
    env = {**transcripts(TOOL_RUN), "SERVE_SESSIONS": str(tmp_path / "s.db")}
    question = "What is the weather in San Francisco?"
    with serving("approval_agent", tmp_path, env) as served:
        first = read_with_sdk(served.url, "chat-no", [user_message(question)])
        denied = respond(first["message"], False)
        second = read_with_sdk(served.url, "chat-no", [user_message(question), denied],
                               continued=True)
        assert second["errors"] == []
        assert {"type": "tool-output-denied", "toolCallId": denied["parts"][1]["toolCallId"]} \
            in second["chunks"]
        (part,) = [p for p in second["message"]["parts"] if p["type"] == "tool-get_weather"]
        assert part["state"] == "output-denied"
        # Answering approvals of a chat that waits for none is a 400 naming it.
        status, _, body = post(served.url + "/api/chat", {
            "id": "chat-no", "messages": [user_message(question), denied]})
        assert status == 400
        assert json.loads(body)["error"] == ("session 'chat-no' has no tool calls waiting "
                                             "for approval: nothing to resume")


def test_approvals_without_a_session_store_are_refused_by_name(tmp_path: Path) -> None:
    with serving("recorded_agent", tmp_path, transcripts(TOOL_RUN)) as served:
        answered = {"id": "a1", "role": "assistant", "parts": [
            {"type": "tool-get_weather", "toolCallId": "toolu_1", "state": "approval-responded",
             "input": {"location": "SF"}, "approval": {"id": "toolu_1", "approved": True}}]}
        status, _, body = post(served.url + "/api/chat", {
            "id": "c", "messages": [user_message("hi"), answered]})
    assert status == 400 and "no session store" in json.loads(body)["error"]


async def test_agui_stops_with_an_interrupt_and_a_resume_entry_continues_the_run(
        tmp_path: Path) -> None:
    from ag_ui.core import RunAgentInput

    question = "What is the weather in San Francisco?"
    expected = await in_process(TOOL_RUN, question)
    env = {**transcripts(TOOL_RUN), "SERVE_SESSIONS": str(tmp_path / "s.db")}
    with serving("approval_agent", tmp_path, env) as served:
        status, _, body = post(served.url + "/agui", run_input(question))
        assert status == 200
        events = agui_events(body)
        finished = events[-1]
        assert finished["type"] == "RUN_FINISHED" and "result" not in finished
        (interrupt,) = finished["outcome"]["interrupts"]
        assert finished["outcome"]["type"] == "interrupt"
        assert interrupt["reason"] == "tool_approval"
        started = [e for e in events if e["type"] == "TOOL_CALL_START"]
        assert [e["toolCallId"] for e in started] == [interrupt["toolCallId"]]
        assert not [e for e in events if e["type"] == "TOOL_CALL_RESULT"]  # not run

        # The next run answers the interrupt (AG-UI's own RunAgentInput, with resume).
        resumed = RunAgentInput.model_validate({
            **run_input(question), "runId": "run-2",
            "resume": [{"interruptId": interrupt["id"], "status": "resolved",
                        "payload": {"approved": True}}]}).model_dump(by_alias=True, mode="json")
        status, _, body = post(served.url + "/agui", resumed)
        assert status == 200
        events = agui_events(body)
        (result,) = [e for e in events if e["type"] == "TOOL_CALL_RESULT"]
        call = expected.tool_calls[0]
        assert result["toolCallId"] == interrupt["toolCallId"]
        assert result["content"] == get_weather.function(**call.parameters)
        text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
        assert text == expected.content
        assert events[-1]["type"] == "RUN_FINISHED" and events[-1]["result"] == expected.content
        # A bad resume entry is a 400 naming it.
        bad = {**resumed, "resume": [{"interruptId": "x", "status": "maybe"}]}
        status, _, body = post(served.url + "/agui", bad)
        assert status == 400 and "resume[0].status" in json.loads(body)["error"]


async def test_with_a_session_store_the_conversation_is_the_session(tmp_path: Path) -> None:
    """useChat sends the whole history each time; the session holds it already, so the
    model gets it once, and the WebSocket continues the same session by id."""
    from selectools import AgentConfig
    from selectools.providers.stubs import LocalProvider
    from selectools.serve import create_app
    from selectools.sessions import SQLiteSessionStore

    store = SQLiteSessionStore(str(tmp_path / "s.db"))
    agent = Agent(tools=[get_weather], provider=LocalProvider(),
                  config=AgentConfig(session_store=store))
    provider: Any = agent.provider
    with uvicorn_in_process(create_app(agent)) as address:
        url = f"http://{address}"
        first = read_with_sdk(url, "chat-s", [user_message("hello there")])
        read_with_sdk(url, "chat-s", [user_message("hello there"), first["message"],
                                      user_message("again", "u2")])
        sent = [m.content for m in provider.requests[-1][1]]
        assert sent == ["hello there", "hello there", "again"]  # (the echo answer between)
        await socket_run(f"ws://{address}/ws", {"content": "third", "conversation_id": "chat-s"})
        assert [m.content for m in provider.requests[-1][1]][-2:] == ["again", "third"]
    state = store.get("chat-s")
    assert state is not None
    assert [m.content for m in state.messages if m.role.value == "user"] == [
        "hello there", "again", "third"]


async def test_websocket_asks_for_approval_and_an_approve_message_resumes(
        tmp_path: Path) -> None:
    question = "What is the weather in San Francisco?"
    expected = await in_process(TOOL_RUN, question)
    env = {**transcripts(TOOL_RUN), "SERVE_SESSIONS": str(tmp_path / "s.db")}
    with serving("approval_agent", tmp_path, env) as served:
        url = served.url.replace("http", "ws") + "/ws"
        frames = await socket_run(url, {"type": "message", "content": question,
                                        "conversation_id": "conv-a"})
        (asked,) = [f for f in frames if f["type"] == "approval_required"]
        assert asked["session_id"] == "conv-a"
        (call,) = asked["calls"]
        assert (call["tool_name"], call["arguments"]) == ("get_weather",
                                                          expected.tool_calls[0].parameters)
        assert frames[-1]["type"] == "done" and frames[-1]["stop_reason"] == "approval_required"
        assert not [f for f in frames if f["type"] == "tool_result"]
        frames = await socket_run(url, {"type": "approve", "conversation_id": "conv-a",
                                        "approvals": {call["call_id"]: True}})
        (result,) = [f for f in frames if f["type"] == "tool_result"]
        assert result["call_id"] == call["call_id"]
        assert "".join(f["content"] for f in frames if f["type"] == "chunk") == expected.content
        assert frames[-1]["type"] == "done" and frames[-1]["stop_reason"] == "completed"
        bad = await socket_run(url, {"type": "approve", "conversation_id": "conv-a",
                                     "approvals": {call["call_id"]: "yes"}})
        assert bad[-1]["type"] == "error" and "must be true or false" in bad[-1]["message"]
