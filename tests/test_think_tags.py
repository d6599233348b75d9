"""Reasoning written into the content as `<think>...</think>` (servers without a reasoning
parser) is the model's reasoning, not its answer: the splitter on any split of the text,
and the providers through HTTP on recordings of real servers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_server import WireServer

from selectools import Agent
from selectools.memory import ConversationMemory
from selectools.providers._think import THINK_TAGS, ThinkSplitter, split_think
from selectools.providers.ollama import OllamaProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import AgentResult, Message, ReasoningDelta, ReasoningPart, Role, StreamChunk

WIRE = Path(__file__).parent / "fixtures" / "wire"
OLLAMA_R1_STREAM = WIRE / "ollama_generate_stream_think_tags_deepseek_r1.ndjson"


def _recorded_text(path: Path) -> str:
    return "".join(json.loads(line)["response"] for line in path.read_text().splitlines())


def _stream(text: str, cuts: list[int]) -> tuple[list[Any], list[str]]:
    splitter, pieces, deltas = ThinkSplitter(), [], []
    start = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        delta = text[start:cut]
        start = cut
        deltas.append(delta)
        pieces += splitter.feed(delta)
    return pieces + splitter.close(), deltas


def _parts(pieces: list[Any]) -> tuple[str, list[ReasoningPart], str]:
    text = "".join(p for p in pieces if isinstance(p, str))
    parts = [p for p in pieces if isinstance(p, ReasoningPart)]
    streamed = "".join(p.text for p in pieces if isinstance(p, ReasoningDelta))
    return text, parts, streamed


fragments = st.sampled_from(["<think>", "</think>", "<", "</", "</thi", "<thin", " ", "\n",
                             "a", "Okay, so", "é", "<think", "think>", "2 < 3"])
contents = st.lists(fragments, max_size=12).map("".join)


@settings(max_examples=500)
@given(contents, st.lists(st.integers(0, 60), max_size=8))
def test_any_split_of_the_stream_reads_as_the_whole_answer_does(
        content: str, cuts: list[int]) -> None:
    pieces, _ = _stream(content, [c for c in cuts if c <= len(content)])
    text, parts, streamed = _parts(pieces)
    part, answer = split_think(content)
    assert text == answer
    assert parts == ([] if part is None else [part])
    if part is not None:
        assert streamed.strip() == part.text  # the deltas are the reasoning, as it came


@pytest.mark.parametrize("content, thought, answer", [
    ("<think>\nI add them.\n</think>\n\n4", "I add them.", "4"),
    ("  <think></think>The answer.", "", "The answer."),
    ("The answer is <think> in HTML.", None, "The answer is <think> in HTML."),
    ("<think>cut off by the token limit", "cut off by the token limit", ""),
    ("<thinking>is not the tag</thinking>", None, "<thinking>is not the tag</thinking>"),
    ("<thi", None, "<thi"),
])
def test_only_a_block_opening_the_answer_is_reasoning(content: str, thought: str | None,
                                                      answer: str) -> None:
    part, text = split_think(content)
    assert text == answer
    assert (part.text if part else None) == thought
    assert part is None or part.protocol == THINK_TAGS


def test_the_recorded_stream_of_a_real_model_splits_in_any_cut() -> None:
    content = _recorded_text(OLLAMA_R1_STREAM)
    part, answer = split_think(content)
    assert part is not None and part.text.startswith("Okay, so I need to describe a rabbit")
    assert answer.startswith("Rabbits are small mammals") and "think>" not in answer
    pieces, _ = _stream(content, list(range(3, len(content), 7)))
    assert _parts(pieces)[:2] == (answer, [part])


def _whole_answer(content: str) -> dict[str, Any]:
    # The recorded stream's text as one /api/chat answer (the shape of ollama_chat_tools.json).
    return {"model": "deepseek-r1:14b", "created_at": "2025-08-01T15:58:02Z",
            "message": {"role": "assistant", "content": content}, "done": True,
            "done_reason": "stop", "prompt_eval_count": 11, "eval_count": 260}


@pytest.fixture
async def provider(wire_server: WireServer) -> AsyncIterator[OllamaProvider]:
    made = OllamaProvider(host=wire_server.url, model="deepseek-r1:14b")
    yield made
    await made.aclose()


async def test_a_streamed_answer_shows_its_reasoning_as_reasoning_and_never_sends_it_back(
        wire_server: WireServer, provider: OllamaProvider) -> None:
    content = _recorded_text(OLLAMA_R1_STREAM)
    thought, answer = split_think(content)
    assert thought is not None
    wire_server.reply_file(OLLAMA_R1_STREAM, chunk_size=64)
    wire_server.reply(body=_whole_answer(content))
    agent = Agent(provider=provider, memory=ConversationMemory())
    items = [item async for item in agent.astream("Describe a rabbit in 2 short sentences",
                                                  events=True)]
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content == answer
    shown = "".join(c.content for c in items if isinstance(c, StreamChunk) and not c.event)
    assert shown == answer
    reasoning = "".join(c.content for c in items
                        if isinstance(c, StreamChunk) and c.event == "reasoning")
    assert reasoning.strip() == thought.text
    assert result.message.content == answer and result.message.reasoning == [thought]

    # The next turn carries the answer, not the reasoning (the model's template drops it).
    again = await agent.arun("And in one word?")
    assert again.content == answer
    second = wire_server.requests[1].json
    sent = [m for m in second["messages"] if m["role"] == "assistant"]
    assert [m["content"] for m in sent] == [answer]
    assert "Okay, so I need" not in json.dumps(second)


async def test_a_whole_answer_keeps_its_reasoning_apart(
        wire_server: WireServer, provider: OllamaProvider) -> None:
    content = _recorded_text(OLLAMA_R1_STREAM)
    wire_server.reply(body=_whole_answer(content))
    message, _ = await provider.acomplete(
        model="", system_prompt="", messages=[Message(Role.USER, "Describe a rabbit")])
    part, answer = split_think(content)
    assert message.content == answer and message.reasoning == [part]


# -- OpenAI-compatible servers (Groq's deepseek-r1 distill with reasoning_format "raw") ------

GROQ_STREAM = WIRE / "openai_compat_stream_think_tags_groq.sse"
GROQ_WHOLE = WIRE / "openai_compat_think_tags_groq.json"


def _sse_text(path: Path) -> str:
    text = []
    for block in path.read_text().split("\n\n"):
        if block.startswith("data: {"):
            for choice in json.loads(block[6:])["choices"]:
                text.append(choice["delta"].get("content") or "")
    return "".join(text)


@pytest.fixture
async def groq(wire_server: WireServer) -> AsyncIterator[OpenAIProvider]:
    made = OpenAIProvider(api_key="gsk-test", base_url=wire_server.url + "/openai/v1",
                          model="deepseek-r1-distill-llama-70b")
    yield made
    await made.aclose()


async def test_an_openai_compatible_stream_keeps_the_reasoning_out_of_the_answer(
        wire_server: WireServer, groq: OpenAIProvider) -> None:
    thought, answer = split_think(_sse_text(GROQ_STREAM))
    assert thought is not None and thought.text.startswith("Okay, so I want to make")
    assert answer.startswith("To make Uruguayan alfajores")
    wire_server.reply_file(GROQ_STREAM, chunk_size=97)
    wire_server.reply(body=json.loads(GROQ_WHOLE.read_text()))
    agent = Agent(provider=groq, memory=ConversationMemory())
    items = [item async for item in agent.astream("I want a recipe to cook Uruguayan alfajores.",
                                                  events=True)]
    result = items[-1]
    assert isinstance(result, AgentResult)
    assert result.content == answer
    assert "".join(c.content for c in items if isinstance(c, StreamChunk)
                   and not c.event) == answer
    assert "".join(c.content for c in items if isinstance(c, StreamChunk)
                   and c.event == "reasoning").strip() == thought.text
    assert result.message.reasoning == [thought]

    # A whole answer whose block is empty: the answer alone, an empty reasoning part.
    again = await agent.arun("How do I cross the street?")
    assert again.content.startswith("To cross the street safely, follow these steps:")
    assert again.message.reasoning == [ReasoningPart("", protocol=THINK_TAGS)]
    second = wire_server.requests[1].json
    (sent,) = [m for m in second["messages"] if m["role"] == "assistant"]
    assert sent["content"] == answer  # no reasoning back: not in a field, not in the text
    assert set(sent) == {"role", "content"}
