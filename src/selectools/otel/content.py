"""Message content in the shapes of the GenAI conventions, for the opt-in content capture.

`gen_ai.input.messages`, `gen_ai.output.messages` and `gen_ai.system_instructions` are JSON
strings: a list of messages, each `{"role": ..., "parts": [...]}`, a part being
`{"type": "text", "content": ...}`, `{"type": "tool_call", "id", "name", "arguments"}`,
`{"type": "tool_call_response", "id", "response"}`, `{"type": "reasoning", "content"}` or
an image (`uri`, or `blob` without its bytes: a trace is no place for megabytes of base64).
Only called when capture is on: nothing here runs otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..types import Message, Role

#: Our stop reasons as the conventions' finish reasons (gen_ai.output.messages' enum).
FINISH_REASONS = {"completed": "stop", "tool_calls": "tool_call", "length": "length",
                  "content_filter": "content_filter", "error": "error"}


def messages_json(messages: Sequence[Message]) -> str:
    return _dumps([message_entry(message) for message in messages])


def output_json(message: Message) -> str:
    entry = message_entry(message)
    entry["finish_reason"] = FINISH_REASONS.get(message.stop_reason or "completed", "stop")
    return _dumps([entry])


def instructions_json(system_prompt: str) -> str:
    return _dumps([{"type": "text", "content": system_prompt}])


def arguments_json(arguments: Any) -> str:
    return _dumps(arguments)


def message_entry(message: Message) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for block in message.reasoning or ():
        if block.text and not block.redacted:
            parts.append({"type": "reasoning", "content": block.text})
    if message.role is Role.TOOL:
        parts.append({"type": "tool_call_response", "id": message.tool_call_id,
                      "response": message.content})
    elif message.content_parts:
        parts.extend(_content_part(part) for part in message.content_parts)
    elif message.content:
        parts.append({"type": "text", "content": message.content})
    for call in message.tool_calls or ():
        parts.append({"type": "tool_call", "id": call.id, "name": call.tool_name,
                      "arguments": call.parameters})
    return {"role": message.role.value, "parts": parts}


def _content_part(part: Any) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "content": part.text}
    if part.type == "image_url":
        return {"type": "uri", "modality": "image", "uri": part.image_url}
    return {"type": "blob", "modality": "image", "mime_type": part.media_type}


def _dumps(value: Any) -> str:
    # default=str: a tool's argument of a type JSON lacks is shown, never an error.
    return json.dumps(value, ensure_ascii=False, default=str)
