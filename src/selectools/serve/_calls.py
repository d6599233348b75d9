"""What both streaming protocols need to know about one iteration's tool calls.

The engine names a call three ways over a step: its argument fragments by `index` (the
call's ordinal in the turn, with a `call_id` when the provider sent one), then `tool_start`
and `tool_result` by `call_id`. A UI protocol needs ONE id per call from its first frame to
its last, so this keeps the id a call got at its first fragment and finds it again from the
other two events. A call that had no fragments (text-parsed calls) gets its id at tool_start.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any


@dataclasses.dataclass
class OpenCall:
    """A call a UI has been told about: its id there, its name, and how far it got."""

    ui_id: str
    tool_name: str
    arguments: list[str] = dataclasses.field(default_factory=list)
    #: Whether the UI has its whole input (tool-input-available, TOOL_CALL_END).
    complete: bool = False
    #: The protocol's encoded frame head for this call's argument deltas, made once.
    delta_head: bytes = b""


class StepCalls:
    """The calls of the current iteration, by fragment index and by the engine's call id."""

    __slots__ = ("by_index", "by_call_id", "started")

    def __init__(self) -> None:
        self.by_index: dict[int, OpenCall] = {}
        self.by_call_id: dict[str, OpenCall] = {}
        #: How many tool_start events this step has had (the next one's index).
        self.started = 0

    def fragment(self, index: int, call_id: str | None, tool_name: str) -> tuple[OpenCall, bool]:
        """The call a fragment belongs to, and whether it is new (its first fragment)."""
        call = self.by_index.get(index)
        if call is not None:
            return call, False
        return self._open(index, call_id, tool_name), True

    def start(self, call_id: str | None, tool_name: str) -> tuple[OpenCall, bool]:
        """The call a tool_start event names (by id, else by its place in the turn), and
        whether it is new (it had no fragments)."""
        index, self.started = self.started, self.started + 1
        call = self.by_call_id.get(call_id) if call_id else None
        if call is None:
            call = self.by_index.get(index)
        if call is not None:
            if call_id:
                self.by_call_id[call_id] = call
            return call, False
        return self._open(index, call_id, tool_name), True

    def _open(self, index: int, call_id: str | None, tool_name: str) -> OpenCall:
        """A call seen for the first time, known by its place and its id from now on."""
        call = OpenCall(call_id or new_id("call"), tool_name)
        self.by_index[index] = call
        if call_id:
            self.by_call_id[call_id] = call
        return call

    def result(self, call_id: str | None) -> OpenCall | None:
        return self.by_call_id.get(call_id) if call_id else None

    def incomplete(self) -> list[OpenCall]:
        """Calls whose input never became whole (a routing answer's calls are not run)."""
        return [call for call in self.by_index.values() if not call.complete]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def parsed_arguments(call: OpenCall) -> Any:
    """The input a call's fragments spell, or its text when they are no JSON."""
    text = "".join(call.arguments)
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        return text


def jsonable(value: Any) -> Any:
    """A typed answer (pydantic model, dataclass, or plain JSON value) as a JSON value."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    # Round trip: anything json cannot encode (a datetime in a TypedDict) becomes its text.
    return json.loads(json.dumps(value, default=str))
