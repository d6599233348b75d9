"""The three mappings from the engine's events=True stream to protocol frames, each on its
own: fed the items of real runs (recorded Anthropic streams through the real decoder, and
scripted turns), no HTTP. What the real clients make of the frames is test_serve_http's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_serve_support import THINKING, TOOL_RUN, fallback_agent, get_weather, validate_agui

from selectools import Agent, AgentResult, StreamChunk, ToolCall
from selectools.serve.agui import AgUiStream
from selectools.serve.conversations import Conversations, RunTranscript
from selectools.serve.ui_stream import DONE, UIMessageStream, sse
from selectools.serve.websocket import socket_frame
from selectools.testing import ScriptedProvider, TranscriptProvider
from selectools.types import Role


async def items_of(agent: Agent, prompt: str = "What is the weather in San Francisco?",
                   **options: Any) -> list[StreamChunk | AgentResult]:
    return [item async for item in agent.astream(prompt, events=True, **options)]


def recorded(paths: list[Path]) -> Agent:
    return Agent(tools=[get_weather], provider=TranscriptProvider(paths, "anthropic"))


def ui_chunks(items: list[StreamChunk | AgentResult]) -> list[dict[str, Any]]:
    stream = UIMessageStream("msg_1")
    chunks = stream.start()
    for item in items:
        chunks += stream.feed(item)
    return chunks


def assemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """What each part of the UI message says, read off the chunks by their ids."""
    texts: dict[str, str] = {}
    reasoning: dict[str, str] = {}
    tools: dict[str, dict[str, Any]] = {}
    for chunk in chunks:
        kind = chunk["type"]
        if kind == "text-delta":
            texts[chunk["id"]] = texts.get(chunk["id"], "") + chunk["delta"]
        elif kind == "reasoning-delta":
            reasoning[chunk["id"]] = reasoning.get(chunk["id"], "") + chunk["delta"]
        elif kind == "tool-input-start":
            tools[chunk["toolCallId"]] = {"name": chunk["toolName"], "streamed": ""}
        elif kind == "tool-input-delta":
            tools[chunk["toolCallId"]]["streamed"] += chunk["inputTextDelta"]
        elif kind == "tool-input-available":
            tools[chunk["toolCallId"]]["input"] = chunk["input"]
        elif kind == "tool-output-available":
            tools[chunk["toolCallId"]]["output"] = chunk["output"]
    return {"texts": list(texts.values()), "reasoning": list(reasoning.values()),
            "tools": list(tools.values())}


def assert_parts_open_and_close(chunks: list[dict[str, Any]]) -> None:
    """Each text/reasoning part is started once, written only while open, ended once; steps
    nest; the stream starts with start and ends with finish."""
    assert chunks[0]["type"] == "start" and chunks[-1]["type"] == "finish"
    open_parts: set[str] = set()
    in_step = False
    for chunk in chunks[1:-1]:
        kind = chunk["type"]
        if kind == "start-step":
            assert not in_step
            in_step = True
        elif kind == "finish-step":
            assert in_step and not open_parts
            in_step = False
        elif kind.endswith("-start") and kind != "tool-input-start":
            assert chunk["id"] not in open_parts
            open_parts.add(chunk["id"])
        elif kind.endswith("-delta") and kind != "tool-input-delta":
            assert chunk["id"] in open_parts
        elif kind.endswith("-end"):
            open_parts.remove(chunk["id"])
        else:
            assert in_step, chunk
    assert not in_step and not open_parts


# -- Vercel AI SDK UI message stream ------------------------------------------------------


async def test_ui_stream_of_a_recorded_tool_run() -> None:
    items = await items_of(recorded(TOOL_RUN))
    result = items[-1]
    assert isinstance(result, AgentResult)
    chunks = ui_chunks(items)
    assert_parts_open_and_close(chunks)
    kinds = [chunk["type"] for chunk in chunks]
    assert kinds.count("start-step") == kinds.count("finish-step") == result.iterations == 2
    assert kinds.count("tool-input-delta") > 1  # the recorded fragments, as they came
    told = assemble(chunks)
    call = result.tool_calls[0]
    (tool_part,) = told["tools"]
    assert tool_part["name"] == call.tool_name == "get_weather"
    assert json.loads(tool_part["streamed"]) == tool_part["input"] == call.parameters
    assert tool_part["output"] == get_weather.function(**call.parameters)
    assert "".join(told["texts"]) == result.content
    assert chunks[-1] == {"type": "finish", "finishReason": "stop",
                          "messageMetadata": {"iterations": 2, "stopReason": "completed"}}


async def test_ui_stream_of_recorded_thinking_has_the_reasoning_before_the_text() -> None:
    items = await items_of(recorded(THINKING), "How do I cross the street safely?")
    result = items[-1]
    assert isinstance(result, AgentResult) and result.message.reasoning
    chunks = ui_chunks(items)
    assert_parts_open_and_close(chunks)
    told = assemble(chunks)
    assert told["reasoning"] == [result.message.reasoning[0].text]
    assert "".join(told["texts"]) == result.content
    kinds = [chunk["type"] for chunk in chunks]
    assert kinds.index("reasoning-end") < kinds.index("text-start")


async def test_ui_stream_of_calls_that_came_whole_and_a_failed_tool() -> None:
    def explode(what: str) -> str:
        """Always fails."""
        raise RuntimeError("the tool broke")

    from selectools import tool

    agent = Agent(tools=[get_weather, tool(explode)], provider=ScriptedProvider([
        [ToolCall("get_weather", {"location": "Paris"}, id="c1"),
         ToolCall("explode", {"what": "x"}, id="c2")],
        "done"]))
    chunks = ui_chunks(await items_of(agent))
    assert_parts_open_and_close(chunks)
    errors = [c for c in chunks if c["type"] == "tool-output-error"]
    assert [e["toolCallId"] for e in errors] == ["c2"] and "the tool broke" in errors[0][
        "errorText"]
    available = [c for c in chunks if c["type"] == "tool-input-available"]
    assert [(c["toolCallId"], c["input"]) for c in available] == [
        ("c1", {"location": "Paris"}), ("c2", {"what": "x"})]


async def test_ui_stream_of_typed_output_shows_partial_and_final_values() -> None:
    agent = Agent(tools=[], provider=ScriptedProvider(['{"city": "Paris", "days": 3}']))
    chunks = ui_chunks(await items_of(agent, "plan", response_format={
        "type": "object", "properties": {"city": {"type": "string"},
                                         "days": {"type": "integer"}},
        "required": ["city", "days"]}))
    outputs = [c for c in chunks if c["type"] == "data-output"]
    assert all(c["id"] == "output" for c in outputs)
    assert outputs[-1]["data"] == {"status": "ok", "value": {"city": "Paris", "days": 3}}
    assert outputs[0]["data"]["status"] == "partial"


def test_ui_stream_error_closes_what_is_open_and_finishes() -> None:
    stream = UIMessageStream("m")
    stream.start()
    stream.feed(StreamChunk(event="iteration_start", data={"iteration": 1}))
    stream.feed(StreamChunk(content="Hel"))
    chunks = stream.error("ServerError: boom")
    assert [c["type"] for c in chunks] == ["text-end", "finish-step", "error", "finish"]
    assert chunks[2]["errorText"] == "ServerError: boom"
    assert chunks[3]["finishReason"] == "error"


def test_sse_encoding_is_one_line_per_chunk() -> None:
    assert sse({"type": "text-delta", "id": "t", "delta": "a\nb"}) == \
        b'data: {"type":"text-delta","id":"t","delta":"a\\nb"}\n\n'
    assert DONE == b"data: [DONE]\n\n"


def test_every_delta_is_encoded_as_its_chunk_is_whatever_it_holds() -> None:
    # Text, reasoning and tool-input deltas are written from a head made once per part: the
    # bytes must still be exactly the chunk's compact JSON (quotes, newlines, non-ASCII,
    # lone surrogates, a "}" or "data:" in the text).
    hostile = ['"}\n\ndata: {"type":"finish"}', "caf\u00e9 \u2603 \U0001f600", "\ud800",
               "\\", "\r\n\t\x00"]
    stream = UIMessageStream("msg_1")
    chunks = stream.feed(StreamChunk(content="", event="iteration_start"))
    for text in hostile:
        chunks += stream.feed(StreamChunk(content=text, event="reasoning"))
    for text in hostile:
        chunks += stream.feed(StreamChunk(content=text))
    for text in hostile:
        chunks += stream.feed(StreamChunk(content="", event="tool_call_delta", data={
            "index": 0, "call_id": "call_\"1", "tool_name": "get_weather",
            "arguments_delta": text}))
    deltas = [c for c in chunks if c["type"].endswith("-delta")]
    assert len(deltas) == 3 * len(hostile)
    for chunk in chunks:
        expected = json.dumps(dict(chunk), separators=(",", ":")).encode()
        assert sse(chunk) == b"data: " + expected + b"\n\n"
        assert json.loads(sse(chunk)[6:]) == chunk


# -- AG-UI -----------------------------------------------------------------------------------


def agui_events(items: list[StreamChunk | AgentResult]) -> list[dict[str, Any]]:
    stream = AgUiStream("thread-1", "run-1")
    events = stream.start()
    for item in items:
        events += stream.feed(item)
    return events


async def test_agui_events_of_a_recorded_tool_run() -> None:
    items = await items_of(recorded(TOOL_RUN))
    result = items[-1]
    assert isinstance(result, AgentResult)
    events = agui_events(items)
    validate_agui(events)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"
    call = result.tool_calls[0]
    starts = [e for e in events if e["type"] == "TOOL_CALL_START"]
    assert [e["toolCallName"] for e in starts] == ["get_weather"]
    call_id = starts[0]["toolCallId"]
    arguments = "".join(e["delta"] for e in events if e["type"] == "TOOL_CALL_ARGS")
    assert json.loads(arguments) == call.parameters
    assert kinds.index("TOOL_CALL_END") < kinds.index("TOOL_CALL_RESULT")
    (tool_result,) = [e for e in events if e["type"] == "TOOL_CALL_RESULT"]
    assert tool_result["toolCallId"] == call_id
    assert tool_result["content"] == get_weather.function(**call.parameters)
    text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == result.content == events[-1]["result"]
    assert kinds.count("STEP_STARTED") == kinds.count("STEP_FINISHED") == 2


async def test_agui_events_of_recorded_thinking() -> None:
    items = await items_of(recorded(THINKING), "How do I cross the street safely?")
    result = items[-1]
    assert isinstance(result, AgentResult) and result.message.reasoning
    events = agui_events(items)
    validate_agui(events)
    kinds = [e["type"] for e in events]
    reasoning = "".join(e["delta"] for e in events if e["type"] == "REASONING_MESSAGE_CONTENT")
    assert reasoning == result.message.reasoning[0].text
    assert kinds.index("REASONING_START") < kinds.index("REASONING_MESSAGE_START") \
        < kinds.index("REASONING_MESSAGE_END") < kinds.index("REASONING_END") \
        < kinds.index("TEXT_MESSAGE_START")


def test_agui_error_is_run_error() -> None:
    stream = AgUiStream("t", "r")
    opened = stream.start()
    opened += stream.feed(StreamChunk(event="iteration_start", data={"iteration": 1}))
    opened += stream.feed(StreamChunk(content="Hel"))
    events = stream.error("ServerError: boom")
    validate_agui(opened + events)
    assert [e["type"] for e in events] == ["TEXT_MESSAGE_END", "STEP_FINISHED", "RUN_ERROR"]


# -- WebSocket -------------------------------------------------------------------------------


async def test_socket_frames_keep_the_seed_shape_and_add_tool_events() -> None:
    items = await items_of(recorded(TOOL_RUN))
    result = items[-1]
    assert isinstance(result, AgentResult)
    frames = [f for f in (socket_frame(item, "conv-1") for item in items) if f is not None]
    text = "".join(f["content"] for f in frames if f["type"] == "chunk")
    assert text == result.content
    assert frames[-1] == {"type": "done", "iterations": 2, "content": result.content,
                          "stop_reason": "completed", "conversation_id": "conv-1"}
    (started,) = [f for f in frames if f["type"] == "tool_start"]
    (ended,) = [f for f in frames if f["type"] == "tool_result"]
    assert started["tool_args"] == result.tool_calls[0].parameters
    assert ended["call_id"] == started["call_id"] and ended["error"] is False
    json.dumps(frames)  # every frame is JSON


# -- conversations ---------------------------------------------------------------------------


async def test_run_transcript_is_what_the_run_added_to_the_conversation() -> None:
    items = await items_of(recorded(TOOL_RUN))
    transcript = RunTranscript()
    for item in items:
        transcript.feed(item)
    added = transcript.messages()
    assert [m.role for m in added] == [Role.ASSISTANT, Role.TOOL, Role.ASSISTANT]
    assert added[0].tool_calls and added[0].tool_calls[0].id == added[1].tool_call_id
    assert added[2].content == transcript.result.content  # type: ignore[union-attr]


def test_conversations_forget_the_least_recently_used_beyond_the_limit() -> None:
    kept = Conversations(limit=2)
    kept.put("a", [])
    kept.put("b", [])
    kept.get("a")
    kept.put("c", [])
    assert "a" in kept and "c" in kept and "b" not in kept and len(kept) == 2
    with pytest.raises(ValueError, match="at least 1"):
        Conversations(limit=0)


# -- an answer restarted by a FallbackProvider -----------------------------------------------


async def test_a_restarted_answer_resets_the_step_for_use_chat() -> None:
    chunks = ui_chunks(await items_of(fallback_agent(), "hi"))
    kinds = [c["type"] for c in chunks]
    reset = kinds.index("reset-step")
    before = [c["delta"] for c in chunks[:reset] if c["type"] == "text-delta"]
    after = [c["delta"] for c in chunks[reset:] if c["type"] == "text-delta"]
    assert "".join(before) == "Half an " and "".join(after) == "A whole answer."
    # After the reset a new text part opens (the old one is gone with the step's parts).
    assert kinds[reset + 1:].count("text-start") == 1 and kinds.count("text-end") == 1


async def test_a_restarted_answer_in_agui_and_on_the_socket() -> None:
    items = await items_of(fallback_agent(), "hi")
    events = agui_events(items)
    validate_agui(events)
    (fallback,) = [e for e in events
                   if e["type"] == "CUSTOM" and e["name"] == "selectools.fallback"]
    assert fallback["value"]["failed_provider"] == "flaky"
    kinds = [e["type"] for e in events]
    assert kinds.count("TEXT_MESSAGE_START") == kinds.count("TEXT_MESSAGE_END") == 2
    frames = [socket_frame(item, "c") for item in items]
    assert any(f is not None and f["type"] == "fallback" for f in frames)
    transcript = RunTranscript()
    for item in items:
        transcript.feed(item)
    assert [m.content for m in transcript.messages()] == ["A whole answer."]


def test_what_a_client_reads_of_a_failed_run() -> None:
    pytest.importorskip("starlette")
    from selectools.agent.deadline import RunTimeoutError
    from selectools.providers.errors import ServerError
    from selectools.serve.event_stream import public_error

    assert public_error(ServerError("upstream said 502", provider="openai", status=502)) \
        .startswith("ServerError: ")
    assert "run_timeout" in public_error(RunTimeoutError("the run exceeded run_timeout=2s"))
    # Anything else may carry what the client must not see (paths, data, secrets).
    hidden = public_error(RuntimeError("password=hunter2 in /srv/app/config.py"))
    assert hidden == "the run failed (RuntimeError); the server's log has the details"


async def test_a_routing_answer_shows_its_call_whole_and_never_run() -> None:
    from selectools import AgentConfig

    agent = Agent(tools=[get_weather], config=AgentConfig(routing_only=True),
                  provider=ScriptedProvider([ToolCall("get_weather", {"location": "Rome"},
                                                      id="r1")]))
    chunks = ui_chunks(await items_of(agent, "route this"))
    assert_parts_open_and_close(chunks)
    available = [c for c in chunks if c["type"] == "tool-input-available"]
    assert [(c["toolCallId"], c["input"]) for c in available] == [("r1", {"location": "Rome"})]
    assert not [c for c in chunks if c["type"].startswith("tool-output")]
    assert chunks[-1]["finishReason"] == "tool-calls"
    events = agui_events(await items_of(Agent(
        tools=[get_weather], config=AgentConfig(routing_only=True),
        provider=ScriptedProvider([ToolCall("get_weather", {"location": "Rome"}, id="r1")])),
        "route this"))
    validate_agui(events)
    assert [e["type"] for e in events].count("TOOL_CALL_END") == 1


# -- tool approvals ------------------------------------------------------------------------


def _approving_agent(store: Any = None) -> Agent:
    from selectools import AgentConfig

    return Agent(tools=[get_weather], provider=ScriptedProvider([
        ToolCall("get_weather", {"location": "Oslo"}, id="call_w"), "Cold in Oslo."]),
        config=AgentConfig(session_store=store,
                           approval_policy=lambda call: call.tool_name == "get_weather"))


async def test_ui_stream_asks_for_approval_then_continues_with_the_outcome(
        tmp_path: Path) -> None:
    from selectools.sessions import SQLiteSessionStore

    agent = _approving_agent(SQLiteSessionStore(str(tmp_path / "s.db")))
    items = [i async for i in agent.astream("Oslo?", events=True, session_id="s1")]
    chunks = ui_chunks(items)
    # (the engine ends the iteration before it says the run waits: the requests follow
    # finish-step, still in the step's parts for the SDK, which looks up to its start-step)
    assert_parts_open_and_close([c for c in chunks if c["type"] != "tool-approval-request"])
    kinds = [c["type"] for c in chunks]
    assert kinds.index("tool-input-available") < kinds.index("finish-step") \
        < kinds.index("tool-approval-request") < kinds.index("finish")
    asked = [c for c in chunks if c["type"] == "tool-approval-request"]
    assert asked == [{"type": "tool-approval-request", "approvalId": "call_w",
                      "toolCallId": "call_w"}]
    assert chunks[-1]["finishReason"] == "tool-calls"
    assert "tool-output-available" not in kinds

    resumed = [i async for i in agent.astream_resume("s1", {"call_w": True}, events=True)]
    stream = UIMessageStream("msg_1", resumed={"call_w": (True, "call_w")})
    after = stream.start()
    for item in resumed:
        after += stream.feed(item)
    kinds = [c["type"] for c in after]
    assert "tool-input-start" not in kinds and "tool-input-available" not in kinds
    (output,) = [c for c in after if c["type"] == "tool-output-available"]
    assert output["toolCallId"] == "call_w" and output["output"] == get_weather.function(
        location="Oslo")
    assert after[-1]["finishReason"] == "stop"
    # A denied call: its part is told at the start (the engine runs nothing for it).
    denied = UIMessageStream("msg_1", resumed={"call_w": (False, "call_w")}).start()
    assert denied[1] == {"type": "tool-output-denied", "toolCallId": "call_w"}


async def test_without_a_session_store_an_approval_stop_is_an_error_frame() -> None:
    chunks = ui_chunks(await items_of(_approving_agent(), "Oslo?"))
    errors = [c for c in chunks if c["type"] == "error"]
    assert len(errors) == 1 and "no session store" in errors[0]["errorText"]
    assert "tool-approval-request" not in [c["type"] for c in chunks]
    events = agui_events(await items_of(_approving_agent(), "Oslo?"))
    assert events[-1]["type"] == "RUN_ERROR" and "no session store" in events[-1]["message"]
    validate_agui(events)
