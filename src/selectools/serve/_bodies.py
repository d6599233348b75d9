"""Request bodies of the three endpoints, read into our Messages or refused by name.

Every refusal is a `BadRequest` whose message names the field (`messages[2].parts[0].text
must be a string`), which the HTTP layer sends as a 400 JSON error. Pure: no I/O.

- `/api/chat` takes what the Vercel AI SDK's `useChat` sends: `{"id", "messages": [UI
  message...], "trigger"?, "messageId"?}`; a UI message is `{"id", "role", "parts": [...]}`.
  Text parts become content, a user's `file` parts with an image inline (data: URL) its
  image parts (see `_images`: other files are refused by name); a tool part (`tool-<name>`
  or `dynamic-tool`) whose output is known becomes the assistant's call plus its tool
  result; `step-start` parts split an assistant message into the turns it was made of.
  An assistant's parts of other types (reasoning, files,
  sources, data-*) are skipped: the model's reasoning cannot be sent back without the
  provider's signature, and the rest is for the page. System messages are skipped too: the
  agent's system prompt is the server's, not the browser's.
  Instead of `messages`, a body may carry `message` (the new user message alone): the
  conversation's earlier turns are then the server's (see `Conversations`).
- `/agui` takes AG-UI's RunAgentInput (`threadId`, `runId`, `messages` with `role`,
  `content`, an assistant's `toolCalls`, a tool message's `toolCallId`).
- `/ws` takes `{"type": "message", "content": "...", "conversation_id"?: "..."}`,
  `{"type": "approve", "conversation_id": "...", "approvals": {call_id: true | false}}`
  and `{"type": "stop"}`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from ..types import ContentPart, Message, Role, ToolCall
from ._images import ImageTooLarge, image_part


class BadRequest(ValueError):
    """A request body that cannot be used; `str()` names the problem, for a 400 answer."""


class TooLarge(BadRequest):
    """A part of the body over its limit (an image over MAX_IMAGE_BYTES): a 413 answer."""


@dataclasses.dataclass
class ChatRequest:
    """A /api/chat request: the conversation's id and its messages; with `history_from_server`,
    `messages` is only the new message, to follow the history kept for `chat_id`."""

    chat_id: str
    messages: list[Message]
    history_from_server: bool = False
    #: The request answers tool approvals (the last message is the assistant's, its calls
    #: `approval-responded`): approval id (the engine's call id) -> (approved, the part's
    #: toolCallId); `continued` is that message's id, which the resumed stream continues.
    approvals: dict[str, tuple[bool, str]] | None = None
    continued: str | None = None
    #: The new messages alone: what follows the last assistant message.
    new_messages: list[Message] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class AgUiRequest:
    thread_id: str
    run_id: str
    messages: list[Message]
    #: The run answers interrupts (RunAgentInput.resume): call id -> approved.
    approvals: dict[str, bool] | None = None


def decode_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 text") from None
    except RecursionError:  # `[[[[...` within the size limit: the decoder's stack ends
        raise BadRequest("the body is nested too deep to be read") from None
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON ({exc})") from None


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be a JSON object, got {_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise BadRequest(f"{where} must be a JSON array, got {_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _nonempty(messages: list[Message], where: str) -> list[Message]:
    if not messages or messages[-1].role is not Role.USER and messages[-1].role is not Role.TOOL:
        raise BadRequest(f"{where} must end with a user message (or a tool result)")
    return messages


# -- /api/chat: useChat's UI messages ------------------------------------------------------


def chat_request(body: Any) -> ChatRequest:
    data = _object(body, "the body")
    chat_id = data.get("id")
    chat_id = "" if chat_id is None else _string(chat_id, "id")
    if "messages" not in data and "message" in data:
        messages = ui_messages([data["message"]], "message")
        return ChatRequest(chat_id, _nonempty(messages, "message"), history_from_server=True)
    if "messages" not in data:
        raise BadRequest("the body has no messages (useChat sends `messages`, a list of "
                         "UI messages with parts)")
    items = _list(data["messages"], "messages")
    answered = _approval_answers(items)
    if answered is not None:
        return ChatRequest(chat_id, [], approvals=answered[0], continued=answered[1])
    messages = ui_messages(items, "messages")
    last_answer = max((n for n, item in enumerate(items)
                       if isinstance(item, dict) and item.get("role") == "assistant"),
                      default=-1)
    new = ui_messages(items[last_answer + 1:], "messages") if last_answer >= 0 else messages
    return ChatRequest(chat_id, _nonempty(messages, "messages"), new_messages=new)


def _approval_answers(items: list[Any]) -> tuple[dict[str, tuple[bool, str]], str] | None:
    """The decisions of a request that answers tool approvals (useChat resubmits when every
    approval of the last assistant message is answered), with that message's id."""
    if not items or not isinstance(items[-1], dict) or items[-1].get("role") != "assistant":
        return None
    place = f"messages[{len(items) - 1}]"
    last = items[-1]
    answers: dict[str, tuple[bool, str]] = {}
    for index, item in enumerate(_list(last.get("parts"), f"{place}.parts")):
        at = f"{place}.parts[{index}]"
        part = _object(item, at)
        if part.get("state") != "approval-responded":
            continue
        approval = _object(part.get("approval"), f"{at}.approval")
        approved = approval.get("approved")
        if not isinstance(approved, bool):
            raise BadRequest(f"{at}.approval.approved must be true or false")
        answers[_string(approval.get("id"), f"{at}.approval.id")] = (
            approved, _string(part.get("toolCallId"), f"{at}.toolCallId"))
    if not answers:
        return None
    message_id = last.get("id")
    return answers, message_id if isinstance(message_id, str) else ""


def ui_messages(items: list[Any], where: str) -> list[Message]:
    messages: list[Message] = []
    for number, item in enumerate(items):
        place = f"{where}[{number}]"
        message = _object(item, place)
        role = message.get("role")
        parts = _list(message.get("parts"), f"{place}.parts")
        if role == "user":
            made = _user_message(parts, place)
            if made is not None:
                messages.append(made)
        elif role == "assistant":
            messages.extend(_assistant_turns(parts, place))
        elif role == "system":
            continue
        else:
            raise BadRequest(f"{place}.role must be \"user\", \"assistant\" or \"system\", "
                             f"got {json.dumps(role)}")
    return messages


def _user_message(parts: list[Any], place: str) -> Message | None:
    """A user's UI message: its text, and its attached images (`file` parts) as image
    parts; None when it holds neither."""
    texts: list[str] = []
    images: list[ContentPart] = []
    for index, item in enumerate(parts):
        at = f"{place}.parts[{index}]"
        part = _object(item, at)
        kind = part.get("type")
        if kind == "text":
            texts.append(_string(part.get("text"), f"{at}.text"))
        elif kind == "file":
            try:
                images.append(image_part(part, at))
            except ImageTooLarge as exc:
                raise TooLarge(str(exc)) from None
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
    text = "".join(texts)
    if not images:
        return Message(role=Role.USER, content=text) if text.strip() else None
    return Message(role=Role.USER, content=text, content_parts=images)


def _assistant_turns(parts: list[Any], place: str) -> list[Message]:
    """An assistant UI message as the turns it was made of: each step's text and calls,
    then the calls' results (only calls whose outcome is known: a provider refuses a call
    without its result)."""
    turns: list[Message] = []
    text: list[str] = []
    calls: list[ToolCall] = []
    results: list[Message] = []

    def flush() -> None:
        if text or calls:
            turns.append(Message(role=Role.ASSISTANT, content="".join(text),
                                 tool_calls=list(calls) or None))
            turns.extend(results)
        text.clear()
        calls.clear()
        results.clear()

    for index, item in enumerate(parts):
        at = f"{place}.parts[{index}]"
        part = _object(item, at)
        kind = part.get("type")
        if kind == "text":
            if calls:  # text after a step's calls belongs to the next turn
                flush()
            text.append(_string(part.get("text"), f"{at}.text"))
        elif kind == "step-start":
            flush()
        elif isinstance(kind, str) and (kind.startswith("tool-") or kind == "dynamic-tool"):
            done = _tool_part(part, kind, at)
            if done is not None:
                calls.append(done[0])
                results.append(done[1])
    flush()
    return turns


def _tool_part(part: dict[str, Any], kind: str, at: str) -> tuple[ToolCall, Message] | None:
    state = part.get("state")
    if state not in ("output-available", "output-error"):
        return None
    name = _string(part.get("toolName"), f"{at}.toolName") if kind == "dynamic-tool" \
        else kind.removeprefix("tool-")
    if not name.strip():  # (every provider refuses a call without a name, on every turn)
        raise BadRequest(f"{at}.toolName is empty" if kind == "dynamic-tool" else
                         f"{at}.type is {json.dumps(kind)}, which names no tool")
    call_id = _string(part.get("toolCallId"), f"{at}.toolCallId")
    arguments = part.get("input")
    if arguments is None:
        arguments = {}
    arguments = _object(arguments, f"{at}.input")
    if state == "output-available":
        output = part.get("output")
        result = output if isinstance(output, str) else json.dumps(output)
    else:
        result = _string(part.get("errorText", ""), f"{at}.errorText")
    return (ToolCall(tool_name=name, parameters=arguments, id=call_id),
            Message(role=Role.TOOL, content=result, tool_call_id=call_id, tool_name=name))


# -- /agui: AG-UI's RunAgentInput ------------------------------------------------------------


def agui_request(body: Any) -> AgUiRequest:
    data = _object(body, "the body")
    thread_id = _string(data.get("threadId"), "threadId")
    run_id = _string(data.get("runId"), "runId")
    items = _list(data.get("messages"), "messages")
    resume = data.get("resume")
    # (an empty list is no answer: an ordinary run; anything but a list is refused)
    approvals = _resume_entries(_list(resume, "resume")) if resume is not None else None
    messages: list[Message] = []
    names: dict[str, str] = {}  # call id -> tool name, for the tool messages that follow
    for number, item in enumerate(items):
        place = f"messages[{number}]"
        message = _object(item, place)
        role = message.get("role")
        reader = _AGUI_ROLES.get(role) if isinstance(role, str) else None
        if reader is None:
            raise BadRequest(f"{place}.role must be one of {sorted(_AGUI_ROLES)}, "
                             f"got {json.dumps(role)}")
        made = reader(message, place, names)
        if made is not None:
            messages.append(made)
    if approvals:
        return AgUiRequest(thread_id, run_id, messages, approvals)
    return AgUiRequest(thread_id, run_id, _nonempty(messages, "messages"))


def _resume_entries(entries: list[Any]) -> dict[str, bool]:
    """Answers to tool-approval interrupts: `{"interruptId": <call id>, "status": "resolved",
    "payload": {"approved": true | false}}` (a bare true/false payload too); "cancelled" is
    a denial."""
    approvals: dict[str, bool] = {}
    for index, item in enumerate(entries):
        at = f"resume[{index}]"
        entry = _object(item, at)
        interrupt = _string(entry.get("interruptId"), f"{at}.interruptId")
        status = entry.get("status")
        if status == "cancelled":
            approvals[interrupt] = False
            continue
        if status != "resolved":
            raise BadRequest(f'{at}.status must be "resolved" or "cancelled", '
                             f"got {json.dumps(status)}")
        payload = entry.get("payload")
        approved = payload.get("approved") if isinstance(payload, dict) else payload
        if not isinstance(approved, bool):
            raise BadRequest(f"{at}.payload must be {{\"approved\": true | false}} (the "
                             "answer to a tool approval)")
        approvals[interrupt] = approved
    return approvals


def _agui_content(value: Any, where: str) -> str:
    """A message's content: a string, or (user messages) a list of input parts, whose text
    parts are kept."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    texts = []
    for index, item in enumerate(_list(value, where)):
        part = _object(item, f"{where}[{index}]")
        if part.get("type") == "text":
            texts.append(_string(part.get("text"), f"{where}[{index}].text"))
    return "".join(texts)


def _agui_user(message: dict[str, Any], place: str, names: dict[str, str]) -> Message | None:
    text = _agui_content(message.get("content"), f"{place}.content")
    return Message(role=Role.USER, content=text) if text.strip() else None


def _agui_assistant(message: dict[str, Any], place: str,
                    names: dict[str, str]) -> Message | None:
    text = _agui_content(message.get("content"), f"{place}.content")
    calls = []
    for index, item in enumerate(_list(message.get("toolCalls") or [], f"{place}.toolCalls")):
        at = f"{place}.toolCalls[{index}]"
        call = _object(item, at)
        function = _object(call.get("function"), f"{at}.function")
        name = _string(function.get("name"), f"{at}.function.name")
        arguments_text = _string(function.get("arguments", "{}"), f"{at}.function.arguments")
        try:
            arguments = json.loads(arguments_text or "{}")
        except ValueError:
            raise BadRequest(f"{at}.function.arguments is not JSON") from None
        except RecursionError:
            raise BadRequest(f"{at}.function.arguments is nested too deep to be read") \
                from None
        call_id = _string(call.get("id"), f"{at}.id")
        names[call_id] = name
        calls.append(ToolCall(tool_name=name, parameters=_object(arguments, f"{at}.function."
                                                                            "arguments"),
                              id=call_id))
    if not text and not calls:
        return None
    return Message(role=Role.ASSISTANT, content=text, tool_calls=calls or None)


def _agui_tool(message: dict[str, Any], place: str, names: dict[str, str]) -> Message:
    call_id = _string(message.get("toolCallId"), f"{place}.toolCallId")
    if call_id not in names:  # a provider refuses a result without its call
        raise BadRequest(f"{place}.toolCallId {json.dumps(call_id)} names no call of an "
                         "earlier assistant message")
    content = _agui_content(message.get("content"), f"{place}.content")
    return Message(role=Role.TOOL, content=content, tool_call_id=call_id,
                   tool_name=names[call_id])


def _skip(message: dict[str, Any], place: str, names: dict[str, str]) -> None:
    return None  # system/developer prompts are the server's; activity/reasoning are UI state


_AGUI_ROLES: dict[str, Callable[[dict[str, Any], str, dict[str, str]], Message | None]] = {
    "user": _agui_user, "assistant": _agui_assistant, "tool": _agui_tool,
    "system": _skip, "developer": _skip, "activity": _skip, "reasoning": _skip,
}


# -- /ws ------------------------------------------------------------------------------------


@dataclasses.dataclass
class SocketMessage:
    kind: str  # "message", "approve" or "stop"
    content: str = ""
    conversation_id: str | None = None
    approvals: dict[str, bool] | None = None


def socket_message(text: str) -> SocketMessage:
    data = _object(decode_json(text.encode("utf-8", "surrogatepass")), "the message")
    kind = data.get("type", "message")
    if kind == "stop":
        return SocketMessage("stop")
    if kind == "approve":
        session = _string(data.get("conversation_id"), "conversation_id")
        approvals = _object(data.get("approvals"), "approvals")
        for call_id, approved in approvals.items():
            if not isinstance(approved, bool):
                raise BadRequest(f"approvals[{json.dumps(call_id)}] must be true or false")
        return SocketMessage("approve", conversation_id=session, approvals=approvals)
    if kind != "message":
        raise BadRequest(f"type must be \"message\", \"approve\" or \"stop\", got "
                         f"{json.dumps(kind)}")
    content = _string(data.get("content"), "content")
    if not content.strip():
        raise BadRequest("content is empty")
    conversation = data.get("conversation_id")
    if conversation is not None:
        conversation = _string(conversation, "conversation_id")
    return SocketMessage("message", content, conversation)
