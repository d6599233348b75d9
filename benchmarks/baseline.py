"""Hand-written client loops: what the job costs without any framework.

Each loop does exactly what an agent run does in the benchmarks: call the model, assemble
the tool calls (from fragments when streaming), run the three tools at once, call the
model again with their results, and return the final text. They are deliberately minimal,
the loop a careful developer would write by hand; the agent is measured against them.

`AiohttpLoop` sits on the transport selectools uses and reads a stream line by line, as
aiohttp's documentation shows; `BulkLoop` is the same loop written for speed, as a careful
user who profiled it would: it reads whatever bytes have arrived (`readany()`) and splits
them into events in bulk, and reads a whole answer's bytes straight into `json.loads`. It is
the floor for a Python client on aiohttp, and the reference every budget is held against.
`HttpxLoop` (when httpx is installed) is there for context, since most frameworks sit on
httpx through the official SDKs.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any

from . import scenario

#: The system prompt selectools sends by default, so both clients send the same bytes.
SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."

Tools = dict[str, Callable[..., Any]]
_AUTH = {"Authorization": f"Bearer {scenario.API_KEY}"}


def _request(messages: list[dict[str, Any]], stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": scenario.MODEL, "messages": messages, "max_tokens": 1000,
                            "temperature": 0.0, "tools": scenario.tools_payload()}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


class _Assembly:
    """Text and tool calls gathered from `chat.completion.chunk` objects."""

    def __init__(self, on_text: Callable[[str], Any] | None) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.usage: dict[str, Any] | None = None
        self._on_text = on_text

    def take(self, chunk: dict[str, Any]) -> None:
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content = delta.get("content")
            if content:
                self.text.append(content)
                if self._on_text is not None:
                    self._on_text(content)
            for fragment in delta.get("tool_calls") or ():
                call = self.calls.get(fragment["index"])
                if call is None:
                    call = self.calls[fragment["index"]] = {"id": "", "name": "",
                                                            "arguments": ""}
                if fragment.get("id"):
                    call["id"] = fragment["id"]
                function = fragment.get("function") or {}
                if function.get("name"):
                    call["name"] = function["name"]
                call["arguments"] += function.get("arguments") or ""

    def result(self) -> tuple[str, list[dict[str, str]]]:
        return "".join(self.text), [self.calls[i] for i in sorted(self.calls)]


async def _run_tools(tools: Tools, calls: list[dict[str, str]]) -> list[str]:
    async def one(call: dict[str, str]) -> str:
        function = tools[call["name"]]
        arguments = json.loads(call["arguments"])
        if inspect.iscoroutinefunction(function):
            return str(await function(**arguments))
        return str(await asyncio.to_thread(function, **arguments))

    return list(await asyncio.gather(*(one(call) for call in calls)))


def _next_messages(messages: list[dict[str, Any]], text: str, calls: list[dict[str, str]],
                   results: list[str]) -> list[dict[str, Any]]:
    assistant = {"role": "assistant", "content": text or None, "tool_calls": [
        {"id": c["id"], "type": "function",
         "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls]}
    answers = [{"role": "tool", "tool_call_id": c["id"], "content": r}
               for c, r in zip(calls, results, strict=True)]
    return [*messages, assistant, *answers]


def _first_messages(prompt: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]


class AiohttpLoop:
    """The job by hand on one pooled aiohttp session."""

    name = "aiohttp loop"

    def __init__(self, base_url: str, tools: Tools | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.tools = tools or scenario.ASYNC_TOOLS
        self._session: Any = None

    def _client(self) -> Any:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(headers=_AUTH)
        return self._session

    async def _stream_call(self, messages: list[dict[str, Any]],
                           on_text: Callable[[str], Any] | None,
                           ) -> tuple[str, list[dict[str, str]]]:
        assembly = _Assembly(on_text)
        async with self._client().post(self.url, json=_request(messages, True)) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
            async for line in response.content:
                if not line.startswith(b"data: "):
                    continue
                data = line[6:].strip()
                if data != b"[DONE]":  # read on to the end, so the connection is reused
                    assembly.take(json.loads(data))
        return assembly.result()

    async def _whole_call(self, messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
        async with self._client().post(self.url, json=_request(messages, False)) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
            data = await response.json()
        message = data["choices"][0]["message"]
        calls = [{"id": c["id"], "name": c["function"]["name"],
                  "arguments": c["function"]["arguments"]} for c in message.get("tool_calls") or ()]
        return message.get("content") or "", calls

    async def run_stream(self, prompt: str = scenario.PROMPT,
                         on_text: Callable[[str], Any] | None = None) -> str:
        """One streamed run; returns the final answer's text."""
        messages = _first_messages(prompt)
        text, calls = await self._stream_call(messages, on_text)
        results = await _run_tools(self.tools, calls)
        answer, _ = await self._stream_call(_next_messages(messages, text, calls, results),
                                            on_text)
        return answer

    async def run_whole(self, prompt: str = scenario.PROMPT) -> str:
        """One run without streaming; returns the final answer's text."""
        messages = _first_messages(prompt)
        text, calls = await self._whole_call(messages)
        results = await _run_tools(self.tools, calls)
        answer, _ = await self._whole_call(_next_messages(messages, text, calls, results))
        return answer

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class BulkLoop(AiohttpLoop):
    """The job by hand on aiohttp, reading in bulk: the cheapest client we know how to write."""

    name = "aiohttp bulk loop"

    async def _stream_call(self, messages: list[dict[str, Any]],
                           on_text: Callable[[str], Any] | None,
                           ) -> tuple[str, list[dict[str, str]]]:
        assembly = _Assembly(on_text)
        async with self._client().post(self.url, json=_request(messages, True)) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
            rest = b""
            while chunk := await response.content.readany():  # to the end: connection reused
                *events, rest = (rest + chunk).split(b"\n\n")
                for event in events:
                    if event.startswith(b"data: ") and event != b"data: [DONE]":
                        assembly.take(json.loads(event[6:]))
        return assembly.result()

    async def _whole_call(self, messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
        async with self._client().post(self.url, json=_request(messages, False)) as response:
            if response.status != 200:
                raise RuntimeError(f"HTTP {response.status}: {await response.text()}")
            data = json.loads(await response.read())
        message = data["choices"][0]["message"]
        calls = [{"id": c["id"], "name": c["function"]["name"],
                  "arguments": c["function"]["arguments"]} for c in message.get("tool_calls") or ()]
        return message.get("content") or "", calls


class HttpxLoop(AiohttpLoop):
    """The same job by hand on one pooled httpx client (for context)."""

    name = "httpx loop"

    def _client(self) -> Any:
        if self._session is None:
            import httpx

            self._session = httpx.AsyncClient(timeout=60.0, headers=_AUTH)
        return self._session

    async def _stream_call(self, messages: list[dict[str, Any]],
                           on_text: Callable[[str], Any] | None,
                           ) -> tuple[str, list[dict[str, str]]]:
        assembly = _Assembly(on_text)
        async with self._client().stream("POST", self.url,
                                         json=_request(messages, True)) as response:
            if response.status_code != 200:
                await response.aread()
                raise RuntimeError(f"HTTP {response.status_code}: {response.text}")
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:].strip()
                if data != "[DONE]":  # read on to the end, so the connection is reused
                    assembly.take(json.loads(data))
        return assembly.result()

    async def _whole_call(self, messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, str]]]:
        response = await self._client().post(self.url, json=_request(messages, False))
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text}")
        message = response.json()["choices"][0]["message"]
        calls = [{"id": c["id"], "name": c["function"]["name"],
                  "arguments": c["function"]["arguments"]} for c in message.get("tool_calls") or ()]
        return message.get("content") or "", calls

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.aclose()
            self._session = None


def httpx_available() -> bool:
    try:
        import httpx  # noqa: F401
    except ImportError:
        return False
    return True
