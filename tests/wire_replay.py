"""Replaying recorded wire bytes through a framing decoder and a protocol's stream decoder,
without a network: shared by the protocol tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from selectools.providers._framing import NdjsonDecoder, SseDecoder
from selectools.providers._http_provider import HttpProvider


def frames(raw: bytes, cuts: Iterable[int] = (), *, ndjson: bool = False) -> list[Any]:
    """`raw` fed to the SSE (or NDJSON) decoder in the network chunks that `cuts` marks."""
    decoder: SseDecoder | NdjsonDecoder = NdjsonDecoder() if ndjson else SseDecoder()
    found: list[Any] = []
    start = 0
    for cut in sorted(set(cuts)):
        found += decoder.feed(raw[start:cut])
        start = cut
    return found + decoder.feed(raw[start:]) + decoder.close()


async def aiter_of(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def decoded(decode_stream: Callable[[AsyncIterator[Any], str], AsyncIterator[Any]],
            items: Iterable[Any], model: str) -> list[Any]:
    """Everything `decode_stream` yields for the framed `items`."""
    async def collect() -> list[Any]:
        return [item async for item in decode_stream(aiter_of(items), model)]
    return asyncio.run(collect())


# -- the four wire protocols, side by side (for the tests of one policy on every protocol) --

WIRE = Path(__file__).parent / "fixtures" / "wire"


@dataclass(frozen=True)
class Wire:
    """One protocol as the cross-protocol tests use it: how to make its provider against a
    loopback server, an authentic whole answer with a tool call, an authentic stream."""

    name: str
    make: Callable[..., HttpProvider]
    whole_file: str
    stream_file: str
    module: Any
    ndjson: bool = False  # Ollama frames its streams as NDJSON, the others as SSE

    def whole(self) -> Any:
        """The whole answer's JSON (recordings wrapped with their source are unwrapped)."""
        data = json.loads((WIRE / self.whole_file).read_text())
        return data["body"] if "source" in data else data

    def stream_bytes(self) -> bytes:
        return (WIRE / self.stream_file).read_bytes()

    def decode(self, raw: bytes, model: str = "m") -> list[Any]:
        """`raw` framed and decoded as this protocol's stream."""
        return decoded(self.module.decode_stream, frames(raw, ndjson=self.ndjson), model)

    def provider(self, url: str, key: str | None = "k", **options: Any) -> HttpProvider:
        return self.make(url, key, **options)


def _wires() -> dict[str, Wire]:
    from selectools.providers import anthropic, gemini, ollama, openai

    return {wire.name: wire for wire in (
        Wire("openai", lambda url, key, **o: openai.OpenAIProvider(
            api_key=key, base_url=url + "/v1", model="m", max_retries=0, **o),
             "openai_chat_tool_call_single.json",
             "openai_chat_stream_tool_call_role_in_first_chunk.sse", openai),
        Wire("anthropic", lambda url, key, **o: anthropic.AnthropicProvider(
            api_key=key, base_url=url, model="m", max_retries=0, **o),
             "anthropic_messages_tool_use.json", "anthropic_messages_stream_tool_use.sse",
             anthropic),
        Wire("gemini", lambda url, key, **o: gemini.GeminiProvider(
            api_key=key, base_url=url, model="m", max_retries=0, **o),
             "gemini_generate_content_function_call.json",
             "gemini_stream_function_call_single_chunk.sse", gemini),
        Wire("ollama", lambda url, key, **o: ollama.OllamaProvider(
            api_key=key, host=url, model="m", max_retries=0, **o),
             "ollama_chat_tools.json", "ollama_chat_stream_tools.ndjson", ollama, ndjson=True),
    )}


WIRES = _wires()


def whole_with_call(protocol: str, name: Any, arguments: Any, call_id: Any = "c1") -> Any:
    """A whole answer of `protocol` holding one tool call, made as that protocol spells it."""
    if protocol == "openai":
        call: dict[str, Any] = {"type": "function", "function": {"name": name,
                                                                 "arguments": arguments}}
        if call_id is not None:
            call["id"] = call_id
        return {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [call]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    if protocol == "anthropic":
        block: dict[str, Any] = {"type": "tool_use", "name": name, "input": arguments}
        if call_id is not None:
            block["id"] = call_id
        return {"type": "message", "role": "assistant", "content": [block],
                "stop_reason": "tool_use", "usage": {"input_tokens": 3, "output_tokens": 2}}
    if protocol == "gemini":
        function_call: dict[str, Any] = {"name": name, "args": arguments}
        if call_id is not None:
            function_call["id"] = call_id
        return {"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": function_call}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2}}
    wire: dict[str, Any] = {"function": {"name": name, "arguments": arguments}}
    if call_id is not None:
        wire["id"] = call_id
    return {"message": {"role": "assistant", "content": "", "tool_calls": [wire]},
            "done": True, "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 2}
