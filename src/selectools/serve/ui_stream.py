"""The engine's `astream(events=True)` items as Vercel AI SDK UI message stream chunks.

`UIMessageStream` is pure: feed it each item (a StreamChunk, then the AgentResult) and it
returns the chunks (dicts) to send, in order; `error()` gives the chunks that end a failed
run. The HTTP layer only encodes them as SSE (`sse()`), ending with `data: [DONE]`.
Encode each batch before feeding the next item: a partial typed value is the engine's live
object, which the next item may grow in place.

What the front end gets (each chunk type is the SDK's own, see its `uiMessageChunkSchema`):
- `start` (with `messageId`), then per iteration `start-step` ... `finish-step`;
- text as `text-start`/`text-delta`/`text-end`, reasoning as `reasoning-start`/`-delta`/`-end`;
- each tool call as `tool-input-start`, `tool-input-delta` (its arguments as they stream),
  `tool-input-available` (when the engine runs it: `input` is the parsed arguments), then
  `tool-output-available` (`output`: the tool's result text) or `tool-output-error`;
  the parts are static tool parts (`tool-<name>` in the assembled message);
- with `response_format`, a `data-output` part (id "output") that useChat updates in place:
  `{"value": <partial value>, "status": "partial"}` while it streams, then the validated
  value with `"status"` from `AgentResult.structured_status` (and `"error"`);
- `finish` with `finishReason` and `messageMetadata` {"iterations", "stopReason"};
- a failed run: `error` (with `errorText`), then `finish` with finishReason "error";
- an answer a FallbackProvider restarted on the next provider: `reset-step`, which drops
  what the step had shown (the new answer follows in the same step);
- calls that wait for a person (a run that stops with "approval_required"): each call's
  `tool-approval-request` (`approvalId`: the engine's call id), then `finish` with
  finishReason "tool-calls". The resumed run (`resumed`: the decisions) continues the
  same message: the decided calls' `tool-output-available`, or `tool-output-denied`.
"""

from __future__ import annotations

import json
from _json import make_encoder
from json.encoder import encode_basestring_ascii as _quote  # (C: a str as an ASCII JSON string)
from typing import Any

from ..types import AgentResult, StreamChunk
from ._calls import StepCalls, jsonable, new_id, parsed_arguments

Chunk = dict[str, Any]

#: AgentResult.stop_reason in the SDK's finishReason vocabulary.
FINISH_REASONS = {
    "completed": "stop", "length": "length", "content_filter": "content-filter",
    "error": "error", "routing": "tool-calls", "max_iterations": "other",
    "approval_required": "tool-calls",
}

#: The response headers the SDK's own `createUIMessageStreamResponse` sends.
HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}

DONE = b"data: [DONE]\n\n"


#: One encoder for every chunk, json's own C encoder made once (`JSONEncoder.encode` builds
#: it anew on every call, through two Python-level calls): `json.dumps(chunk, separators=(",",
#: ":"))`'s output. ASCII output takes the C fast path (about half the cost of
#: ensure_ascii=False). No cycle bookkeeping: a chunk is made of the engine's values, decoded
#: JSON and our own dicts, and one that held itself would still fail (a RecursionError).
_ENCODE = make_encoder(None, json.JSONEncoder().default, _quote, None, ":", ",", False, False,
                       True)


class Delta(dict[str, Any]):
    """A `*-delta` chunk (text, reasoning, tool input): the dict the SDK reads, carrying the
    head of its SSE bytes, made once per part (`data: {"type":"text-delta","id":"...",
    "delta":`); `sse` adds only the escaped delta. Most chunks of a run are these, and the
    whole encoder costs about five times what the escaping alone does."""

    __slots__ = ("head",)

    def __init__(self, head: bytes, chunk: Chunk) -> None:
        super().__init__(chunk)
        self.head = head


def delta_head(kind: str, id_key: str, part_id: str, delta_key: str) -> bytes:
    """The bytes of a delta chunk up to its delta's value: the same as `sse` writes."""
    return (b'data: {"type":' + _quote(kind).encode() + b"," + _quote(id_key).encode() + b":"
            + _quote(part_id).encode() + b"," + _quote(delta_key).encode() + b":")


#: What follows a delta's escaped text in its frame (`delta_frame`).
DELTA_TAIL = b"}\n\n"
#: A str as an ASCII JSON string (json's C function): a delta's text in its frame.
quote = _quote


def delta_frame(head: bytes, delta: str) -> bytes:
    """A delta chunk's SSE bytes from its head (`delta_head`) and its text, escaped. (The
    server's pump writes this expression inline, a call a token less; a test holds the two
    together.)"""
    return head + _quote(delta).encode() + DELTA_TAIL


def sse(chunk: Chunk) -> bytes:
    """One chunk as an SSE event (compact JSON; a chunk is one line, JSON escapes newlines)."""
    if type(chunk) is Delta:  # the common case: the head is made, the delta is escaped
        return delta_frame(chunk.head, chunk[_DELTA_KEY[chunk["type"]]])
    return b"data: " + "".join(_ENCODE(chunk, 0)).encode() + b"\n\n"


#: The field of each delta chunk that carries its text.
_DELTA_KEY = {"text-delta": "delta", "reasoning-delta": "delta",
              "tool-input-delta": "inputTextDelta"}


class UIMessageStream:
    """Maps one run's items to UI message stream chunks (one instance per run)."""

    def __init__(self, message_id: str | None = None,
                 resumed: dict[str, tuple[bool, str]] | None = None) -> None:
        self.message_id = message_id or new_id("msg")
        #: A resumed run's decided calls (call id -> (approved, the part's toolCallId)): the
        #: message shows them already; only their outcome is sent (denied: output-denied).
        self._resumed = resumed or {}
        self._text: str | None = None  # the open text part's id
        self._text_head = b""  # the open text part's delta head (see Delta)
        self._reasoning: str | None = None  # the open reasoning part's id
        self._reasoning_head = b""
        self._in_step = False
        self._calls = StepCalls()

    def start(self) -> list[Chunk]:
        out: list[Chunk] = [{"type": "start", "messageId": self.message_id}]
        # A resumed run answers its denied calls without running them: no event says so.
        out.extend({"type": "tool-output-denied", "toolCallId": part_id}
                   for approved, part_id in self._resumed.values() if not approved)
        return out

    def feed(self, item: StreamChunk | AgentResult) -> list[Chunk]:
        if isinstance(item, AgentResult):
            return self._finish(item)
        event = item.event
        if event is None:
            if item.content:  # the common case first: a text delta
                if self._text is not None:
                    return [Delta(self._text_head, {"type": "text-delta", "id": self._text,
                                                    "delta": item.content})]
                out = self._open_text()
                out.append(Delta(self._text_head, {"type": "text-delta", "id": self._text,
                                                   "delta": item.content}))
                return out
            return []  # tool_calls chunks: the calls come with tool_call_delta / tool_start
        if event == "reasoning":
            out = self._open_reasoning() if self._reasoning is None else []
            out.append(Delta(self._reasoning_head, {"type": "reasoning-delta",
                                                    "id": self._reasoning,
                                                    "delta": item.content}))
            return out
        if event == "tool_call_delta":
            return self._delta(item.data)
        if event == "tool_start":
            return self._tool_start(item.data)
        if event == "tool_result":
            return self._tool_result(item.data)
        if event == "iteration_start":
            return self._start_step()
        if event == "iteration_end":
            return self._finish_step()
        if event == "output_partial":
            return [{"type": "data-output", "id": "output",
                     "data": {"value": item.data, "status": "partial"}}]
        if event == "fallback":
            return self._restart_step()
        if event == "approval_required":
            return self._approval_requests(item.data)
        return []  # future events: nothing the UI stream can say

    def text(self, content: str) -> bytes:
        """The SSE bytes of a text delta (a StreamChunk with `content` and no event): what
        `b"".join(map(sse, self.feed(chunk)))` writes, without making the chunks. Most of a
        run's items are these (the server's common case; a test holds the two to the same
        bytes)."""
        if self._text is None:  # the part's first delta: the part opens first
            return b"".join(map(sse, self._open_text())) + self.text(content)
        return delta_frame(self._text_head, content)

    def text_head(self) -> bytes | None:
        """The open text part's delta head (None when none is open): its next text deltas
        are `delta_frame(head, content)`, what `text` writes, until `feed` is next called."""
        return self._text_head if self._text is not None else None

    def error(self, text: str) -> list[Chunk]:
        """The chunks that end a run that failed: open parts closed, an error, a finish."""
        out = self._close_parts()
        if self._in_step:
            self._in_step = False
            out.append({"type": "finish-step"})
        out.append({"type": "error", "errorText": text})
        out.append({"type": "finish", "finishReason": "error"})
        return out

    # -- parts -------------------------------------------------------------------------

    def _open_text(self) -> list[Chunk]:
        out = self._close_reasoning()
        self._text = new_id("text")
        self._text_head = delta_head("text-delta", "id", self._text, "delta")
        out.append({"type": "text-start", "id": self._text})
        return out

    def _open_reasoning(self) -> list[Chunk]:
        out = self._close_text()
        self._reasoning = new_id("reasoning")
        self._reasoning_head = delta_head("reasoning-delta", "id", self._reasoning, "delta")
        out.append({"type": "reasoning-start", "id": self._reasoning})
        return out

    def _close_text(self) -> list[Chunk]:
        if self._text is None:
            return []
        chunk = {"type": "text-end", "id": self._text}
        self._text = None
        return [chunk]

    def _close_reasoning(self) -> list[Chunk]:
        if self._reasoning is None:
            return []
        chunk = {"type": "reasoning-end", "id": self._reasoning}
        self._reasoning = None
        return [chunk]

    def _close_parts(self) -> list[Chunk]:
        return self._close_reasoning() + self._close_text()

    # -- steps and tools ---------------------------------------------------------------

    def _start_step(self) -> list[Chunk]:
        out = self._finish_step() if self._in_step else []
        self._in_step = True
        self._calls = StepCalls()
        out.append({"type": "start-step"})
        return out

    def _restart_step(self) -> list[Chunk]:
        """A FallbackProvider restarted the answer on another provider: what this step
        showed is void, and `reset-step` makes useChat drop the step's parts."""
        self._text = self._reasoning = None
        self._calls = StepCalls()
        return [{"type": "reset-step"}]

    def _finish_step(self) -> list[Chunk]:
        out = self._close_parts()
        # A routing answer's calls are never started: their input is whole all the same.
        for call in self._calls.incomplete():
            call.complete = True
            out.append({"type": "tool-input-available", "toolCallId": call.ui_id,
                        "toolName": call.tool_name, "input": parsed_arguments(call)})
        if self._in_step:
            self._in_step = False
            out.append({"type": "finish-step"})
        return out

    def _delta(self, data: dict[str, Any]) -> list[Chunk]:
        call, new = self._calls.fragment(data["index"], data.get("call_id"), data["tool_name"])
        out: list[Chunk] = []
        if new:
            out = self._close_parts()
            out.append({"type": "tool-input-start", "toolCallId": call.ui_id,
                        "toolName": call.tool_name})
        delta = data["arguments_delta"]
        if delta:
            if not call.delta_head:  # its first delta
                call.delta_head = delta_head("tool-input-delta", "toolCallId", call.ui_id,
                                             "inputTextDelta")
            call.arguments.append(delta)
            out.append(Delta(call.delta_head, {"type": "tool-input-delta",
                                               "toolCallId": call.ui_id,
                                               "inputTextDelta": delta}))
        return out

    def _tool_start(self, data: dict[str, Any]) -> list[Chunk]:
        if data.get("call_id") in self._resumed:  # shown already, with its approval
            return []
        call, new = self._calls.start(data.get("call_id"), data["tool_name"])
        out = self._close_parts()
        if new:
            out.append({"type": "tool-input-start", "toolCallId": call.ui_id,
                        "toolName": call.tool_name})
        call.complete = True
        out.append({"type": "tool-input-available", "toolCallId": call.ui_id,
                    "toolName": call.tool_name, "input": data.get("tool_args", {})})
        return out

    def _tool_result(self, data: dict[str, Any]) -> list[Chunk]:
        call_id = data.get("call_id")
        if call_id in self._resumed:  # the call's part is the one the message holds
            part_id = self._resumed[call_id][1]
            if data.get("error"):
                return [{"type": "tool-output-error", "toolCallId": part_id,
                         "errorText": str(data.get("result", ""))}]
            return [{"type": "tool-output-available", "toolCallId": part_id,
                     "output": data.get("result", "")}]
        call = self._calls.result(call_id)
        if call is None:  # a result for a call never announced: nothing to attach it to
            return []
        if data.get("error"):
            return [{"type": "tool-output-error", "toolCallId": call.ui_id,
                     "errorText": str(data.get("result", ""))}]
        return [{"type": "tool-output-available", "toolCallId": call.ui_id,
                 "output": data.get("result", "")}]

    def _approval_requests(self, data: dict[str, Any]) -> list[Chunk]:
        """Calls that wait for a person: each call's part asks for approval. The approval's
        id is the engine's call id, which the answer (`approval-responded`) gives back."""
        if not data.get("session_id"):  # no store to wait in: nothing could resume it
            return [{"type": "error", "errorText": (
                "a tool call needs approval, but the agent has no session store to wait in: "
                "serve an agent with AgentConfig(session_store=...)")}]
        out: list[Chunk] = []
        for held in data["calls"]:
            call_id = held["call_id"]
            call = self._calls.by_call_id.get(call_id)
            if call is None:  # a call the stream never showed: shown now, whole
                call, _ = self._calls.start(call_id, held["tool_name"])
                out.append({"type": "tool-input-start", "toolCallId": call.ui_id,
                            "toolName": call.tool_name})
            if not call.complete:
                call.complete = True
                out.append({"type": "tool-input-available", "toolCallId": call.ui_id,
                            "toolName": call.tool_name, "input": held["arguments"]})
            out.append({"type": "tool-approval-request", "approvalId": call_id,
                        "toolCallId": call.ui_id})
        return out

    def _finish(self, result: AgentResult) -> list[Chunk]:
        out = self._finish_step() if self._in_step else self._close_parts()
        if result.structured_status is not None:
            output: dict[str, Any] = {"status": result.structured_status,
                                      "value": jsonable(result.parsed)}
            if result.structured_error:
                output["error"] = result.structured_error
            out.append({"type": "data-output", "id": "output", "data": output})
        out.append({"type": "finish",
                    "finishReason": FINISH_REASONS.get(result.stop_reason, "other"),
                    "messageMetadata": {"iterations": result.iterations,
                                        "stopReason": result.stop_reason}})
        return out
