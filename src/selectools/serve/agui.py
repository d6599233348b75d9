"""The engine's `astream(events=True)` items as AG-UI events (protocol 1.0 names).

`AgUiStream` is pure: one instance per run, `start()`, `feed(item)` for each StreamChunk and
the AgentResult, `error(text)` for a run that failed; each returns the events (dicts, camelCase
fields as the protocol spells them) to send as SSE `data:` lines.

- RUN_STARTED, then STEP_STARTED/STEP_FINISHED per iteration (stepName "iteration N");
- text as TEXT_MESSAGE_START (role assistant) / _CONTENT / _END;
- reasoning as REASONING_START, REASONING_MESSAGE_START (role reasoning), _CONTENT,
  REASONING_MESSAGE_END, REASONING_END;
- each call as TOOL_CALL_START (parentMessageId: the turn's text message, when it had one),
  TOOL_CALL_ARGS as its arguments stream, TOOL_CALL_END when the engine runs it, then
  TOOL_CALL_RESULT (role tool) with the tool's result text;
- with `response_format`: CUSTOM events named "selectools.output_partial" (value: the
  partial value),
  and RUN_FINISHED's `result` is the validated value (else the final answer's text);
- an answer a FallbackProvider restarted: the messages so far are ended and a CUSTOM event
  named "selectools.fallback" (value: which provider failed, which answers now) says they
  are void (CUSTOM names carry a vendor prefix, as AG-UI asks);
- calls that wait for a person (a run that stops with "approval_required"): RUN_FINISHED
  with AG-UI's interrupt outcome, one interrupt per call (`id`: the engine's call id,
  `reason` "tool_approval", `toolCallId`); the next run answers them with RunAgentInput's
  `resume` entries (see `_bodies.agui_request`); in that run each approved call is shown
  again (TOOL_CALL_START/ARGS/END, same toolCallId: a run's events are checked on their
  own, and a result needs its call) before its TOOL_CALL_RESULT; a denied one is not run;
- RUN_FINISHED, or RUN_ERROR (message, code) for a run that failed.
"""

from __future__ import annotations

import json
from typing import Any

from ..types import AgentResult, StreamChunk
from ._calls import StepCalls, jsonable, new_id
from .ui_stream import delta_frame, delta_head, sse

Event = dict[str, Any]


class AgUiStream:
    def __init__(self, thread_id: str, run_id: str) -> None:
        self.thread_id = thread_id
        self.run_id = run_id
        self._interrupts: list[Event] = []
        self._failed = False
        self._text: str | None = None  # the open text message's id
        self._text_head = b""  # its TEXT_MESSAGE_CONTENT's bytes up to the delta (ui_stream.Delta)
        self._last_text: str | None = None  # this step's text message (a call's parent)
        self._reasoning: str | None = None
        self._step: str | None = None
        self._calls = StepCalls()

    def start(self) -> list[Event]:
        return [{"type": "RUN_STARTED", "threadId": self.thread_id, "runId": self.run_id}]

    def feed(self, item: StreamChunk | AgentResult) -> list[Event]:
        if isinstance(item, AgentResult):
            return self._finish(item)
        event = item.event
        if event is None:
            if item.content:
                out = self._open_text() if self._text is None else []
                out.append({"type": "TEXT_MESSAGE_CONTENT", "messageId": self._text,
                            "delta": item.content})
                return out
            return []
        if event == "reasoning":
            out = self._open_reasoning() if self._reasoning is None else []
            out.append({"type": "REASONING_MESSAGE_CONTENT", "messageId": self._reasoning,
                        "delta": item.content})
            return out
        if event == "tool_call_delta":
            return self._delta(item.data)
        if event == "tool_start":
            return self._tool_start(item.data)
        if event == "tool_result":
            return self._tool_result(item.data)
        if event == "iteration_start":
            out = self._end_step()
            self._step = f"iteration {item.data['iteration']}"
            self._calls = StepCalls()
            self._last_text = None
            out.append({"type": "STEP_STARTED", "stepName": self._step})
            return out
        if event == "iteration_end":
            return self._end_step()
        if event == "output_partial":
            return [{"type": "CUSTOM", "name": "selectools.output_partial", "value": item.data}]
        if event == "fallback":
            # AG-UI cannot take back what it streamed: the messages so far are ended, a
            # CUSTOM "selectools.fallback" event tells the client they are void, and the restarted
            # answer comes as new messages.
            out = self._close_messages()
            for call in self._calls.incomplete():
                call.complete = True
                out.append({"type": "TOOL_CALL_END", "toolCallId": call.ui_id})
            self._calls = StepCalls()
            self._last_text = None
            out.append({"type": "CUSTOM", "name": "selectools.fallback",
                        "value": dict(item.data or {})})
            return out
        if event == "approval_required":
            return self._approval_required(item.data)
        return []

    def text(self, content: str) -> bytes:
        """The SSE bytes of a text delta (a StreamChunk with `content` and no event): what
        `b"".join(map(sse, self.feed(chunk)))` writes, without making the events (the
        server's common case; a test holds the two to the same bytes)."""
        if self._text is None:  # the message's first delta: the message starts first
            return b"".join(map(sse, self._open_text())) + self.text(content)
        return delta_frame(self._text_head, content)

    def text_head(self) -> bytes | None:
        """The open text message's delta head (None when none is open): its next text deltas
        are `delta_frame(head, content)`, what `text` writes, until `feed` is next called."""
        return self._text_head if self._text is not None else None

    def error(self, text: str, code: str | None = None) -> list[Event]:
        out = self._end_step()
        event: Event = {"type": "RUN_ERROR", "message": text}
        if code:
            event["code"] = code
        out.append(event)
        return out

    # -- messages ----------------------------------------------------------------------

    def _open_text(self) -> list[Event]:
        out = self._close_reasoning()
        self._text = self._last_text = new_id("msg")
        self._text_head = delta_head("TEXT_MESSAGE_CONTENT", "messageId", self._text, "delta")
        out.append({"type": "TEXT_MESSAGE_START", "messageId": self._text, "role": "assistant"})
        return out

    def _open_reasoning(self) -> list[Event]:
        out = self._close_text()
        self._reasoning = new_id("reasoning")
        out.append({"type": "REASONING_START", "messageId": self._reasoning})
        out.append({"type": "REASONING_MESSAGE_START", "messageId": self._reasoning,
                    "role": "reasoning"})
        return out

    def _close_text(self) -> list[Event]:
        if self._text is None:
            return []
        event = {"type": "TEXT_MESSAGE_END", "messageId": self._text}
        self._text = None
        return [event]

    def _close_reasoning(self) -> list[Event]:
        if self._reasoning is None:
            return []
        message_id, self._reasoning = self._reasoning, None
        return [{"type": "REASONING_MESSAGE_END", "messageId": message_id},
                {"type": "REASONING_END", "messageId": message_id}]

    def _close_messages(self) -> list[Event]:
        return self._close_reasoning() + self._close_text()

    # -- steps and tools ---------------------------------------------------------------

    def _end_step(self) -> list[Event]:
        out = self._close_messages()
        for call in self._calls.incomplete():  # a routing answer's calls, never run
            call.complete = True
            out.append({"type": "TOOL_CALL_END", "toolCallId": call.ui_id})
        if self._step is not None:
            out.append({"type": "STEP_FINISHED", "stepName": self._step})
            self._step = None
        return out

    def _call_start(self, ui_id: str, tool_name: str) -> Event:
        event: Event = {"type": "TOOL_CALL_START", "toolCallId": ui_id, "toolCallName": tool_name}
        if self._last_text is not None:
            event["parentMessageId"] = self._last_text
        return event

    def _delta(self, data: dict[str, Any]) -> list[Event]:
        call, new = self._calls.fragment(data["index"], data.get("call_id"), data["tool_name"])
        out: list[Event] = []
        if new:
            out = self._close_messages()
            out.append(self._call_start(call.ui_id, call.tool_name))
        delta = data["arguments_delta"]
        if delta:
            call.arguments.append(delta)
            out.append({"type": "TOOL_CALL_ARGS", "toolCallId": call.ui_id, "delta": delta})
        return out

    def _tool_start(self, data: dict[str, Any]) -> list[Event]:
        call, new = self._calls.start(data.get("call_id"), data["tool_name"])
        out = self._close_messages()
        if new:
            out.append(self._call_start(call.ui_id, call.tool_name))
            out.append({"type": "TOOL_CALL_ARGS", "toolCallId": call.ui_id,
                        "delta": json.dumps(data.get("tool_args", {}))})
        call.complete = True
        out.append({"type": "TOOL_CALL_END", "toolCallId": call.ui_id})
        return out

    def _tool_result(self, data: dict[str, Any]) -> list[Event]:
        call = self._calls.result(data.get("call_id"))
        if call is None:
            return []
        return [{"type": "TOOL_CALL_RESULT", "messageId": new_id("result"),
                 "toolCallId": call.ui_id, "content": str(data.get("result", "")),
                 "role": "tool"}]

    def _approval_required(self, data: dict[str, Any]) -> list[Event]:
        if not data.get("session_id"):  # no store to wait in: nothing could resume it
            self._failed = True
            return self.error("a tool call needs approval, but the agent has no session "
                              "store to wait in: serve an agent with "
                              "AgentConfig(session_store=...)")
        for held in data["calls"]:
            call = self._calls.by_call_id.get(held["call_id"])
            self._interrupts.append({
                "id": held["call_id"], "reason": "tool_approval",
                "toolCallId": call.ui_id if call is not None else held["call_id"],
                "message": f"{held['tool_name']} waits for your approval"})
        return []

    def _finish(self, result: AgentResult) -> list[Event]:
        if self._failed:  # RUN_ERROR was the run's last event
            return []
        out = self._end_step()
        if self._interrupts:
            out.append({"type": "RUN_FINISHED", "threadId": self.thread_id,
                        "runId": self.run_id,
                        "outcome": {"type": "interrupt", "interrupts": self._interrupts}})
            return out
        value = jsonable(result.parsed) if result.structured_status is not None \
            else result.content
        out.append({"type": "RUN_FINISHED", "threadId": self.thread_id, "runId": self.run_id,
                    "result": value})
        return out

