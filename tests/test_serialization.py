"""Messages, tool calls, results and memory survive a trip through JSON exactly: what a
persistent session stands on."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

from selectools import Agent, AgentConfig, ConversationMemory, Message, Role, tool
from selectools.providers.gemini import GeminiProvider
from selectools.types import AgentResult, ContentPart, ToolCall

WIRE = Path(__file__).parent / "fixtures" / "wire"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))


def through_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def sample_messages(tmp_path: Path) -> list[Message]:
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    signed = ToolCall("lookup", {"city": "Oslo", "days": [1, 2]}, id="c1",
                      provider_data={"thoughtSignature": "c2lnbmVk"})
    return [
        Message(role=Role.SYSTEM, content="Be brief."),
        Message(role=Role.USER, content="What is this?", image_path=str(image)),
        Message(role=Role.USER, content="and this", content_parts=[
            ContentPart(type="image_url", image_url="https://example.com/dog.jpg")]),
        Message(role=Role.ASSISTANT, content="", tool_calls=[signed],
                stop_reason="tool_calls"),
        Message(role=Role.TOOL, content="sunny", tool_name="lookup", tool_result="sunny",
                tool_call_id="c1"),
        Message(role=Role.ASSISTANT, content="Sunny in Oslo. \u00e6\u00f8\u00e5 \U0001f600",
                stop_reason="length"),
    ]


def test_messages_round_trip_exactly_through_json(tmp_path: Path) -> None:
    messages = sample_messages(tmp_path)
    image_file = tmp_path / "cat.png"
    saved = through_json([m.to_dict() for m in messages])
    image_file.unlink()  # restoring must not read the file again
    restored = [Message.from_dict(item) for item in saved]
    assert restored == messages
    for before, after in zip(messages, restored, strict=True):
        assert after.stop_reason == before.stop_reason
        assert after.image_path == before.image_path
        for call_before, call_after in zip(before.tool_calls or [], after.tool_calls or [],
                                           strict=True):
            assert call_after.provider_data == call_before.provider_data
    image = restored[1].content_parts[-1]  # type: ignore[index]
    assert (image.type, image.media_type) == ("image_base64", "image/png")


def test_from_dict_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="'role' is missing"):
        Message.from_dict({"content": "hi"})
    with pytest.raises(ValueError, match="Message.role must be one of"):
        Message.from_dict({"role": "robot"})
    with pytest.raises(ValueError, match="'tool_name' must be a non-empty str"):
        ToolCall.from_dict({"parameters": {}})
    with pytest.raises(ValueError, match="'parameters' must be an object"):
        ToolCall.from_dict({"tool_name": "f", "parameters": [1, 2]})
    with pytest.raises(TypeError, match="needs a dict"):
        Message.from_dict("user: hi")  # type: ignore[arg-type]


def test_selectools_1x_saved_tool_calls_are_read() -> None:
    call = ToolCall.from_dict({"name": "f", "parameters": {"x": 1}, "id": "a",
                               "thought_signature": "sig"})
    assert call == ToolCall("f", {"x": 1}, id="a")
    assert call.provider_data == {"thoughtSignature": "sig"}


@tool(description="Weather for a city")
def get_weather(city: str) -> str:
    return f"sunny in {city}"


async def test_a_gemini_signature_survives_a_saved_result_and_goes_back(
        wire_server: WireServer) -> None:
    """A real Gemini answer's thoughtSignature, saved with the result as JSON and restored,
    is sent back on the next turn as Gemini requires."""
    provider = GeminiProvider(api_key="key", base_url=wire_server.url, max_retries=0)
    recorded = json.loads((WIRE / "gemini_generate_content_function_call.json").read_text())
    signature = next(part["thoughtSignature"]
                     for part in recorded["candidates"][0]["content"]["parts"]
                     if "thoughtSignature" in part)
    wire_server.reply_file(WIRE / "gemini_generate_content_function_call.json")
    wire_server.reply(body={"candidates": [{"content": {"role": "model", "parts": [
        {"text": "It is sunny."}]}, "finishReason": "STOP"}]})
    agent = Agent(tools=[get_weather], provider=provider, config=AgentConfig(max_iterations=4))
    result = await agent.arun("Weather in Paris?")
    await provider.aclose()

    restored = AgentResult.from_dict(through_json(result.to_dict()))
    assert restored.message == result.message
    assert restored.tool_calls == result.tool_calls
    assert [c.provider_data for c in restored.tool_calls] == [
        c.provider_data for c in result.tool_calls]
    assert restored.usage == result.usage
    assert restored.trace == result.trace
    assert (restored.stop_reason, restored.iterations, restored.run_id) == (
        result.stop_reason, result.iterations, result.run_id)

    # The saved history, restored, carries the signature back to the server.
    history = [Message.from_dict(m) for m in through_json([m.to_dict() for m in agent.history])]
    provider = GeminiProvider(api_key="key", base_url=wire_server.url, max_retries=0)
    wire_server.reply(body={"candidates": [{"content": {"role": "model", "parts": [
        {"text": "Still sunny."}]}, "finishReason": "STOP"}]})
    await provider.acomplete(model="gemini-2.5-flash", system_prompt="", messages=[
        *history, Message(role=Role.USER, content="And tomorrow?")])
    await provider.aclose()
    sent = json.dumps(wire_server.requests[-1].json)
    assert signature in sent


def test_memory_round_trip_is_exact_and_limits_apply_to_new_adds(tmp_path: Path) -> None:
    memory = ConversationMemory(max_messages=3)
    memory.summary = "They talked about cats."
    messages = [m.to_dict() for m in sample_messages(tmp_path)]
    saved = {"max_messages": 3, "max_tokens": None, "message_count": len(messages),
             "messages": messages, "summary": memory.summary}
    restored = ConversationMemory.from_dict(through_json(saved))
    assert len(restored) == 6  # over the limit, restored as saved
    assert restored.to_dict() == through_json(saved)
    restored.add(Message(role=Role.USER, content="next question"))
    assert len(restored) <= 3
    assert restored.get_history()[0].role == Role.USER


def test_memory_api() -> None:
    memory = ConversationMemory(max_messages=10)
    assert memory and len(memory) == 0  # an empty memory is still truthy
    memory.add_many([Message(role=Role.USER, content=f"q{i}") for i in range(4)])
    assert [m.content for m in memory.get_recent(2)] == ["q2", "q3"]
    assert [m.content for m in memory.get_recent(99)] == ["q0", "q1", "q2", "q3"]
    for bad in (0, -1):
        with pytest.raises(ValueError, match="at least 1"):
            memory.get_recent(bad)
    assert repr(memory) == ("ConversationMemory(max_messages=10, max_tokens=None, "
                            "current_messages=4)")

    branch = memory.branch()
    branch.add(Message(role=Role.USER, content="only in the branch"))
    branch.get_history()[0].content = "changed"
    assert len(memory) == 4 and memory.get_history()[0].content == "q0"

    lone = ConversationMemory(max_tokens=5)
    lone.add(Message(role=Role.USER, content="a question far longer than five tokens " * 3))
    assert len(lone) == 1  # the newest question is kept even over the token budget

    copied = pickle.loads(pickle.dumps(memory))
    assert copied.get_history() == memory.get_history()
    memory.summary = "s"
    memory.clear()
    assert len(memory) == 0 and memory.summary is None


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_memory_refuses_bad_limits(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_messages"):
        ConversationMemory(max_messages=bad)
    with pytest.raises(ValueError, match="max_tokens"):
        ConversationMemory(max_tokens=bad)


@pytest.mark.parametrize("broken", [
    {"message": {"role": "assistant"}, "trace": "x"},
    {"message": {"role": "assistant"}, "trace": {"steps": [{"type": "llm_call", "zzz": 1}]}},
    {"message": {"role": "assistant"}, "trace": {"steps": "x"}},
    {"message": {"role": "assistant"}, "usage": [1]},
    {"message": {"role": "assistant"}, "usage": {"calls": "x"}},
    {"message": {"role": "assistant"}, "usage": {"calls": ["x"]}},
])
def test_a_broken_saved_result_is_refused_with_a_clear_error(broken: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)) as caught:
        AgentResult.from_dict(broken)
    assert type(caught.value) in (ValueError, TypeError)  # never AttributeError or KeyError
    assert "from_dict" in str(caught.value) or "trace step" in str(caught.value) \
        or "must be a list" in str(caught.value)


def test_trimming_a_large_restored_history_is_linear() -> None:
    import time

    def trim_cost(exchanges: int) -> float:
        messages = []
        for i in range(exchanges):
            messages += [Message(role=Role.USER, content=f"question {i}"),
                         Message(role=Role.ASSISTANT, content=f"answer {i}")]
        restored = ConversationMemory.from_dict({
            "max_messages": 10, "max_tokens": 50,
            "messages": [m.to_dict() for m in messages]})
        started = time.thread_time()
        restored.add(Message(role=Role.USER, content="next"))
        cost = time.thread_time() - started
        assert len(restored) <= 10
        return cost

    small, big = trim_cost(500), trim_cost(4000)
    # 8 times the messages: linear is about 8 times the time, quadratic 64 times.
    assert big <= 24 * small + 0.02, (small, big)
