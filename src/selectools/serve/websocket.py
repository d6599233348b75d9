"""The engine's `astream(events=True)` items as the seed's WebSocket JSON messages.

The seed's own example sends `{"type": "chunk", "content": ...}` per text delta and
`{"type": "done", "iterations": ...}` at the end; `socket_frames` keeps exactly those two
and adds the events a UI needs, each named by the engine's own event name:

    {"type": "chunk", "content": str}
    {"type": "reasoning", "content": str}
    {"type": "tool_call_delta", "index", "call_id", "tool_name", "arguments_delta"}
    {"type": "tool_start", "call_id", "tool_name", "tool_args"}
    {"type": "tool_result", "call_id", "tool_name", "result", "error", "duration_ms"}
    {"type": "iteration_start" | "iteration_end", "iteration": int}
    {"type": "output_partial", "value": <partial value>}
    {"type": "fallback", "failed_provider", "next_provider", "error", "error_type"}
                        (a FallbackProvider restarted the answer: drop this turn's text)
    {"type": "approval_required", "session_id", "calls": [{"call_id", "tool_name",
     "arguments"}]}     (then done, stop_reason "approval_required"; answer with
                         {"type": "approve", "conversation_id", "approvals": {call_id: bool}})
    {"type": "done", "iterations", "content", "stop_reason", "conversation_id",
     "parsed"?, "structured_status"?}
    {"type": "error", "message": str}            (a run that failed, or a bad message)
    {"type": "stopped"}                          (the run was stopped by {"type": "stop"})
"""

from __future__ import annotations

from typing import Any

from ..types import AgentResult, StreamChunk
from ._calls import jsonable

Frame = dict[str, Any]

_EVENTS = frozenset({"tool_call_delta", "tool_start", "tool_result", "iteration_start",
                     "iteration_end", "fallback", "approval_required"})


def socket_frame(item: StreamChunk | AgentResult, conversation_id: str) -> Frame | None:
    """The message for one item, or None for an item the socket does not carry."""
    if isinstance(item, AgentResult):
        done: Frame = {"type": "done", "iterations": item.iterations, "content": item.content,
                       "stop_reason": item.stop_reason, "conversation_id": conversation_id}
        if item.structured_status is not None:
            done["parsed"] = jsonable(item.parsed)
            done["structured_status"] = item.structured_status
        return done
    event = item.event
    if event is None:
        return {"type": "chunk", "content": item.content} if item.content else None
    if event == "reasoning":
        return {"type": "reasoning", "content": item.content}
    if event in _EVENTS:
        return {"type": event, **item.data}
    if event == "output_partial":
        return {"type": "output_partial", "value": item.data}
    return None
