"""What the engine makes of a provider's reasoning, tool-call fragments and call options.

Providers here are duck-typed classes of the kind a user writes (the protocols' own decoders
are tested on recordings in their test files): the engine must show reasoning and argument
fragments as events only with `events=True`, keep reasoning off `content` and on the
assistant message (so it goes back on the next turn), and pass the options a provider did
not name (`output`, `reasoning`, `tool_deltas`) to no provider.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel

from selectools import Agent, AgentConfig, AgentResult, Message, Role, StreamChunk, ToolCall, tool
from selectools.providers.errors import ServerError
from selectools.providers.fallback import FallbackProvider
from selectools.types import (
    OutputFormat,
    ReasoningDelta,
    ReasoningPart,
    ToolCallDelta,
    TurnEnd,
)
from selectools.usage import AgentUsage, UsageStats


@tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class Answer(BaseModel):
    total: int


class Recording:
    """Streams scripted turns (lists of stream items) and records each call's keywords."""

    name = "recording"
    supports_streaming = True

    def __init__(self, *turns: list[Any], options: frozenset[str] | None = None) -> None:
        self._turns = list(turns)
        self.calls: list[dict[str, Any]] = []
        if options is not None:
            self.call_options = options

    async def astream(self, **kwargs: Any) -> AsyncIterator[Any]:
        self.calls.append(kwargs)
        for item in self._turns.pop(0):
            if isinstance(item, BaseException):
                raise item
            yield item


THOUGHT = ReasoningPart("Add them. Then answer.", signature="sig-1", protocol="duck")
REASONING_TURN = [ReasoningDelta("Add them. "), ReasoningDelta("Then answer."), THOUGHT,
                  "The sum is 3.", TurnEnd("completed")]


async def chunks_of(agent: Agent, prompt: str, **kwargs: Any) -> tuple[list[StreamChunk],
                                                                         AgentResult]:
    items = [item async for item in agent.astream(prompt, **kwargs)]
    result = items[-1]
    assert isinstance(result, AgentResult)
    return [item for item in items if isinstance(item, StreamChunk)], result


async def test_reasoning_streams_as_events_and_never_into_the_answer() -> None:
    agent = Agent(tools=[add], provider=Recording(REASONING_TURN))
    chunks, result = await chunks_of(agent, "1+2?", events=True)
    reasoning = [c.content for c in chunks if c.event == "reasoning"]
    assert reasoning == ["Add them. ", "Then answer."]
    assert "".join(c.content for c in chunks if c.event is None) == "The sum is 3."
    assert result.content == "The sum is 3."
    assert result.message.reasoning == [THOUGHT]


async def test_without_events_a_stream_shows_no_reasoning() -> None:
    # The seed's loops print every chunk's content: reasoning must not reach them.
    agent = Agent(tools=[add], provider=Recording(REASONING_TURN))
    chunks, result = await chunks_of(agent, "1+2?")
    assert [c.event for c in chunks] == [None]
    assert [c.content for c in chunks] == ["The sum is 3."]
    assert result.message.reasoning == [THOUGHT]


async def test_reasoning_goes_back_with_its_turn_on_the_next_call() -> None:
    thought = ReasoningPart("I need the add tool.", signature="sig-2", protocol="duck")
    provider = Recording([thought, ToolCall("add", {"a": 1, "b": 2}, id="c1"),
                          TurnEnd("tool_calls")],
                         ["3", TurnEnd("completed")])
    result = await Agent(tools=[add], provider=provider).arun("1+2?")
    assert result.content == "3"
    sent = provider.calls[1]["messages"]
    assistant = next(m for m in sent if m.role == Role.ASSISTANT)
    assert assistant.tool_calls[0].id == "c1"
    assert assistant.reasoning == [thought]
    assert assistant.reasoning[0].signature == "sig-2"


async def test_whole_answers_keep_their_reasoning_streamed_or_not() -> None:
    thought = ReasoningPart("short thought", protocol="duck")

    class Whole:
        name = "whole"

        async def acomplete(self, **kwargs: Any) -> tuple[Message, UsageStats]:
            return Message(role=Role.ASSISTANT, content="done", reasoning=[thought],
                           stop_reason="completed"), UsageStats(1, 2, reasoning_tokens=1)

    result = await Agent(tools=[add], provider=Whole()).arun("go")
    assert result.message.reasoning == [thought] and result.content == "done"
    assert result.usage is not None and result.usage.reasoning_tokens == 1
    chunks, streamed = await chunks_of(Agent(tools=[add], provider=Whole()), "go", events=True)
    assert [c.content for c in chunks if c.event == "reasoning"] == ["short thought"]
    assert streamed.message.reasoning == [thought]


async def test_argument_fragments_are_events_only_when_asked_for() -> None:
    fragments = ['{"a": ', '1, "b"', ': 2}']
    turn = [*(ToolCallDelta(0, "c1", "add", f) for f in fragments),
            ToolCall("add", {"a": 1, "b": 2}, id="c1"), TurnEnd("tool_calls")]
    provider = Recording(turn, ["3", TurnEnd("completed")], options=frozenset({"tool_deltas"}))
    chunks, result = await chunks_of(Agent(tools=[add], provider=provider), "1+2?", events=True)
    deltas = [c.data for c in chunks if c.event == "tool_call_delta"]
    assert [d["arguments_delta"] for d in deltas] == fragments  # none made up beside them
    assert {(d["index"], d["call_id"], d["tool_name"]) for d in deltas} == {(0, "c1", "add")}
    events = [c.event for c in chunks if c.event]
    # Every fragment before the tool starts, so a UI can draw the call as it is written.
    assert events.index("tool_start") > max(i for i, e in enumerate(events)
                                            if e == "tool_call_delta")
    assert provider.calls[0]["tool_deltas"] is True
    assert result.content == "3"

    quiet = Recording(turn, ["3", TurnEnd("completed")], options=frozenset({"tool_deltas"}))
    chunks, _ = await chunks_of(Agent(tools=[add], provider=quiet), "1+2?")
    assert not [c for c in chunks if c.event]
    assert "tool_deltas" not in quiet.calls[0]


async def test_calls_that_came_whole_get_one_delta_each_in_order() -> None:
    turn = [ToolCall("add", {"a": 1, "b": 2}, id="c1"), ToolCall("add", {"a": 3, "b": 4},
                                                                 id="c2"), TurnEnd("tool_calls")]
    provider = Recording(turn, ["done", TurnEnd("completed")])
    chunks, _ = await chunks_of(Agent(tools=[add], provider=provider), "sums", events=True)
    deltas = [c.data for c in chunks if c.event == "tool_call_delta"]
    assert deltas == [
        {"index": 0, "call_id": "c1", "tool_name": "add", "arguments_delta": '{"a": 1, "b": 2}'},
        {"index": 1, "call_id": "c2", "tool_name": "add", "arguments_delta": '{"a": 3, "b": 4}'},
    ]


async def test_a_provider_that_names_no_options_is_passed_none(
        caplog: pytest.LogCaptureFixture) -> None:
    provider = Recording(['{"total": 3}', TurnEnd("completed")])
    with caplog.at_level(logging.WARNING, logger="selectools"):
        agent = Agent(tools=[add], provider=provider, config=AgentConfig(reasoning="high"))
    assert "reasoning='high' is not sent" in caplog.text
    result = await agent.arun("1+2?", response_format=Answer)
    assert result.parsed == Answer(total=3)
    call = provider.calls[0]
    assert not {"output", "reasoning", "tool_deltas"} & call.keys()
    # The typed answer is asked for in words instead.
    assert '"total"' in call["system_prompt"] and "JSON" in call["system_prompt"]


async def test_a_provider_that_takes_the_options_gets_them_and_no_instructions() -> None:
    provider = Recording(['{"total": 3}', TurnEnd("completed")],
                         options=frozenset({"output", "reasoning"}))
    agent = Agent(tools=[add], provider=provider, config=AgentConfig(reasoning=2048))
    result = await agent.arun("1+2?", response_format=Answer)
    assert result.parsed == Answer(total=3)
    call = provider.calls[0]
    assert call["reasoning"] == 2048
    output = call["output"]
    assert isinstance(output, OutputFormat) and output.name == "Answer"
    assert output.schema["properties"]["total"]["type"] == "integer"
    assert output.strict_schema is not None
    assert output.strict_schema["additionalProperties"] is False
    assert '"total"' not in call["system_prompt"]


async def test_a_fallback_gives_each_provider_what_it_takes() -> None:
    plain = Recording([ServerError("down", provider="plain")])
    native = Recording(['{"total": 3}', TurnEnd("completed")], options=frozenset({"output"}))
    chain = FallbackProvider([plain, native])
    result = await Agent(tools=[add], provider=chain).arun("1+2?", response_format=Answer)
    assert result.parsed == Answer(total=3)
    assert "output" not in plain.calls[0] and '"total"' in plain.calls[0]["system_prompt"]
    assert isinstance(native.calls[0]["output"], OutputFormat)
    assert '"total"' not in native.calls[0]["system_prompt"]


async def test_a_restarted_answer_drops_the_reasoning_of_the_failed_one() -> None:
    lost = ReasoningPart("half a thought", protocol="duck")
    kept = ReasoningPart("a whole thought", protocol="duck")
    first = Recording([ReasoningDelta("half a thought"), lost, "par",
                       ServerError("cut", provider="first")])
    second = Recording([ReasoningDelta("a whole thought"), kept, "whole", TurnEnd("completed")])
    chunks, result = await chunks_of(Agent(tools=[add], provider=FallbackProvider(
        [first, second])), "go", events=True)
    assert [c.event for c in chunks if c.event == "fallback"] == ["fallback"]
    assert result.content == "whole" and result.message.reasoning == [kept]


def test_reasoning_survives_to_dict_and_from_dict() -> None:
    message = Message(role=Role.ASSISTANT, content="hi", reasoning=[
        ReasoningPart("why", signature="s"), ReasoningPart(redacted="opaque", protocol="x")])
    again = Message.from_dict(message.to_dict())
    assert again.reasoning == message.reasoning
    assert Message.from_dict(Message(role=Role.USER, content="q").to_dict()).reasoning is None
    with pytest.raises(ValueError, match="'signature' must be a str"):
        ReasoningPart.from_dict({"text": "t", "signature": 5})


def test_reasoning_tokens_add_up_and_travel() -> None:
    usage = AgentUsage()
    usage.add(UsageStats(10, 20, reasoning_tokens=15))
    usage.add(UsageStats(1, 2, reasoning_tokens=1))
    assert usage.reasoning_tokens == 16 and usage.completion_tokens == 22
    assert AgentUsage.from_dict(usage.to_dict()).reasoning_tokens == 16
    one = UsageStats(1, 2, reasoning_tokens=2)
    assert UsageStats.from_dict(one.to_dict()).reasoning_tokens == 2


@pytest.mark.parametrize("bad, error", [
    ("max", ValueError), (100, ValueError), (True, ValueError), (2.5, ValueError),
])
def test_a_wrong_reasoning_setting_is_refused_by_name(bad: object, error: type) -> None:
    with pytest.raises(error, match="reasoning"):
        AgentConfig(reasoning=bad)  # type: ignore[arg-type]


def test_every_reasoning_setting_that_makes_sense_is_taken() -> None:
    for good in ("low", "medium", "high", 1024, 32000, None):
        assert AgentConfig(reasoning=good).reasoning == good  # type: ignore[arg-type]


async def test_a_whole_call_with_unreadable_arguments_shows_what_the_model_wrote() -> None:
    from selectools.types import RAW_ARGUMENTS_KEY

    turn = [ToolCall("add", {RAW_ARGUMENTS_KEY: '{"a": 1, "b"'}, id="c1"),
            TurnEnd("tool_calls")]
    provider = Recording(turn, ["sorry", TurnEnd("completed")])
    chunks, _ = await chunks_of(Agent(tools=[add], provider=provider), "1+2?", events=True)
    [delta] = [c.data for c in chunks if c.event == "tool_call_delta"]
    assert delta["arguments_delta"] == '{"a": 1, "b"'
