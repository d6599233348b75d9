"""What every wire protocol shares, written once so that every protocol behaves alike.

- Tool calls: arguments as they come (JSON text, a JSON object from servers that send one,
  nothing), call ids (every ToolCall has one), the text of a tool result.
- Messages: the system text hoisted out of the conversation, turns of one role merged
  (Anthropic and Gemini want roles to alternate), images given as `data:` URLs.
- Reading answers: checks that name what was wrong and where (`choices[0].message
  .tool_calls[1] has no function name`) and raise `MalformedResponseError` (or, inside a
  stream, `MalformedStreamError`), so that a wrong-shaped answer never escapes as an
  AttributeError or KeyError; JSON text of a stream event; the finish reason mapped to
  our `StopReason`.
- A whole JSON answer where a stream was asked for (`WholeJson`), replayed as a stream.

On the hot paths (each stream event; OpenAI's whole answers, the benchmarked ones) a
decoder tests a value's type inline (`type(x) is dict`) and calls a checker here only when
it is not the expected one, so a streamed token costs what it did.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from .._json import loads as loads_json
from .._json import scan as scan_json
from ..types import RAW_ARGUMENTS_KEY, Message, Role, StopReason, ToolCall, TurnEnd
from ..usage import UsageStats
from ._status import CUT_MARK, body_snippet, json_text
from .base import StreamItem, message_as_stream
from .errors import MalformedResponseError, MalformedStreamError

ParseResponse = Callable[[Any, str], tuple[Message, UsageStats]]

_PREVIEW = 80

# ---------------------------------------------------------------------------------------------
# Tool calls


def parse_tool_arguments(arguments: Any) -> dict[str, Any]:
    """A tool call's arguments as the parameters dict.

    JSON text (the protocols' usual form) is parsed; a JSON object (what Ollama, Gemini and
    some OpenAI-compatible servers send) is taken as it is; nothing is `{}`. Anything else,
    text that is malformed, cut off by max_tokens or not an object, becomes
    `{RAW_ARGUMENTS_KEY: text}`: the call is still yielded, nothing is lost, and the agent
    answers the model with an error it can correct instead of running the tool.
    """
    if type(arguments) is dict:
        return arguments
    if arguments is None:
        return {}
    if not isinstance(arguments, str):
        return {RAW_ARGUMENTS_KEY: json_text(arguments)}
    try:
        value = loads_json(arguments)
    except (ValueError, RecursionError):  # (blank text too, which is no arguments: {})
        return {RAW_ARGUMENTS_KEY: arguments} if arguments.strip() else {}
    return value if type(value) is dict else {RAW_ARGUMENTS_KEY: arguments}


def tool_call(name: str, arguments: Any, call_id: Any = None, *,
              provider_data: dict[str, Any] | None = None) -> ToolCall:
    """A ToolCall from a protocol's name, arguments (see `parse_tool_arguments`) and id (one
    is made when the server gave none). Arguments that came as JSON text are kept to be
    sent back as they came on the next turn."""
    call_id = call_id if type(call_id) is str and call_id else make_call_id()
    if type(arguments) is not str:  # an object, or nothing
        return ToolCall(name, parse_tool_arguments(arguments), call_id, provider_data)
    # The usual form, the text of one JSON object, read here (as parse_tool_arguments
    # would, without its call and _json.loads's); anything else is left to it, which
    # decides and words what it is.
    try:
        parameters, end = scan_json(arguments, 0)
    except (StopIteration, ValueError, RecursionError):
        parameters = end = None
    if end != len(arguments) or type(parameters) is not dict:
        parameters = parse_tool_arguments(arguments)
    call = ToolCall(name, parameters, call_id, provider_data)  # (positional: cheaper)
    if arguments and RAW_ARGUMENTS_KEY not in parameters:
        call.keep_json_text(arguments)
    return call


def make_call_id() -> str:
    """An id for a tool call whose provider gave none; unique, so results link to calls."""
    return f"call_{uuid.uuid4().hex[:24]}"


def tool_result_text(message: Message) -> str:
    """The text a tool message carries back to the model: `tool_result` when set, else
    `content` (the same field on every protocol)."""
    return message.tool_result if message.tool_result is not None else message.content


def arguments_object(call: ToolCall) -> dict[str, Any]:
    """A call's parameters for protocols that send arguments as an object: unreadable
    arguments (`RAW_ARGUMENTS_KEY`) have no object form and go as `{}`."""
    parameters = call.parameters or {}
    return {} if RAW_ARGUMENTS_KEY in parameters else parameters


# ---------------------------------------------------------------------------------------------
# Messages


def system_text(system_prompt: str | None, messages: Iterable[Message]) -> str:
    """The system prompt and the text of system messages, for protocols that take the
    system text apart from the conversation (Anthropic, Gemini)."""
    texts = [system_prompt] if system_prompt else []
    texts += [m.content for m in messages if m.role is Role.SYSTEM and m.content]
    return "\n\n".join(texts)


def append_turn(turns: list[dict[str, Any]], role: str, items: list[Any],
                key: str) -> None:
    """Append a turn of `role` holding `items` under `key`, merged into the last turn when
    that has the same role (so roles alternate, and the results of parallel calls share
    one turn). A turn with nothing in it is left out: the protocols refuse empty turns."""
    if not items:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][key].extend(items)
    else:
        turns.append({"role": role, key: items})


_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*),(?P<data>.*)$",
                       re.DOTALL)


def split_data_url(url: str) -> tuple[str, str] | None:
    """`(media type, base64 data)` of a `data:` URL, None for any other URL; a `data:` URL
    that is not base64 is refused (no protocol takes one)."""
    if not url.startswith("data:"):
        return None
    match = _DATA_URL.match(url)
    if match is None or ";base64" not in match["params"]:
        raise ValueError("image data: URLs must be base64-encoded (data:<type>;base64,...)")
    return match["media"] or "image/png", match["data"]


# ---------------------------------------------------------------------------------------------
# Reading answers: checks that name the place


def malformed(what: str, *, stream: bool = False) -> MalformedResponseError:
    """The error for an answer not in the protocol's shape; `what` names the place."""
    if stream:
        return MalformedStreamError(f"malformed stream event: {what}", should_retry=False)
    return MalformedResponseError(f"malformed answer: {what}")


def says_any(phrases: Iterable[str]) -> Callable[[str], bool]:
    """A test of whether an error message says one of `phrases`, letter case aside: how a
    context-length error is told from other bad requests where a server gives no code.
    (Words only pick a subclass of an error that is neither retried nor failed over.)"""
    lowered = tuple(phrase.lower() for phrase in phrases)

    def says(message: str) -> bool:
        text = message.lower()
        return any(phrase in text for phrase in lowered)

    return says


def describe(value: Any) -> str:
    """A short description of a value found where another was expected."""
    if value is None:
        return "null"
    kind = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
    if type(value) in (dict, list):
        return kind
    text = repr(value)
    return f"{kind} ({text[:_PREVIEW]}{CUT_MARK if len(text) > _PREVIEW else ''})"


def _wrong(where: str, value: Any, expected: str, stream: bool) -> NoReturn:
    raise malformed(f"{where} is {describe(value)}, not {expected}", stream=stream)


def as_object(value: Any, where: str, *, stream: bool = False,
              optional: bool = False) -> dict[str, Any]:
    """`value` when it is a JSON object (`{}` for a missing one when `optional`)."""
    if type(value) is dict:
        return value
    if value is None and optional:
        return {}
    _wrong(where, value, "an object", stream)


def as_list(value: Any, where: str, *, stream: bool = False) -> list[Any]:
    """`value` when it is a JSON array; a missing one (null) is empty."""
    if type(value) is list:
        return value
    if value is None:
        return []
    _wrong(where, value, "an array", stream)


def as_text(value: Any, where: str, *, stream: bool = False) -> str:
    """`value` when it is a string; a missing one (null) is empty."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    _wrong(where, value, "a string", stream)


def as_name(value: Any, where: str, *, stream: bool = False) -> str:
    """A tool call's name: a non-empty string."""
    if type(value) is str and value:
        return value
    raise malformed(f"{where} has no function name" if value in (None, "") else
                    f"{where} is {describe(value)}, not a function name", stream=stream)


#: The largest token count taken (2**53, the whole numbers a float holds exactly): past
#: any real one, and a count's cost (a float product) would overflow on a longer number.
MAX_COUNT = 2**53


def as_count(value: Any, where: str, *, stream: bool = False) -> int:
    """A token count: a whole number from 0 to MAX_COUNT (a missing one is 0)."""
    if type(value) is int and 0 <= value <= MAX_COUNT:
        return value
    if value is None:
        return 0
    if type(value) is float and value.is_integer() and 0 <= value <= MAX_COUNT:
        return int(value)
    _wrong(where, value, "a token count", stream)


def stream_object(data: str, name: str | None = None) -> dict[str, Any]:
    """A stream event's data, which must be a JSON object; anything else (text that is not
    JSON, JSON nested too deep to read, another JSON value) is a `MalformedStreamError`
    quoting its start. `name` is the SSE event's name, for the message."""
    try:
        value = loads_json(data)
    except (ValueError, RecursionError):
        raise malformed(f"not JSON: {body_snippet(data)!r}", stream=True) from None
    if type(value) is dict:
        return value
    raise malformed(f"the {name or 'stream'} event is {describe(value)}, not an object",
                    stream=True)


def stop_reason(raw: Any, table: Mapping[str, StopReason], *, has_calls: bool,
                default: StopReason = "completed") -> StopReason:
    """A protocol's finish reason in our vocabulary: a normal end of a turn that asked for
    tools is "tool_calls" whatever the protocol called it."""
    reason = table.get(raw, default) if type(raw) is str else default
    return "tool_calls" if reason == "completed" and has_calls else reason


def turn_end(raw: Any, table: Mapping[str, StopReason], *, has_calls: bool) -> TurnEnd:
    return TurnEnd(stop_reason(raw, table, has_calls=has_calls),
                   raw if type(raw) is str else None)


def empty_stream() -> MalformedStreamError:
    """A 200 stream that ended with no event at all (an empty body)."""
    return MalformedStreamError("malformed stream: it ended with no events (an empty answer)",
                                should_retry=False)


def unfinished_stream(marker: str) -> MalformedStreamError:
    """A 200 stream that ended cleanly but without its end marker (`marker`): cut off by a
    proxy or a server that stopped, so what came is not the whole answer. One policy on
    every protocol: a typed error that fails over, and the calls still open are not
    yielded (their arguments may be cut)."""
    return MalformedStreamError(f"malformed stream: it ended without {marker} (cut off?)",
                                should_retry=False)


def cut_tool_call(name: str, arguments: str, call_id: str) -> ToolCall:
    """A call whose arguments were cut (the turn ended by max_tokens before the call's end):
    yielded so that nothing is lost, never runnable (`{RAW_ARGUMENTS_KEY: text}`, which
    the tool refuses), whatever part of its JSON arrived."""
    return ToolCall(name, {RAW_ARGUMENTS_KEY: arguments}, call_id)


def whole_answer_items(data: Any, parse: ParseResponse, model: str) -> list[StreamItem]:
    """A whole answer (`WholeJson`: a server that ignored `"stream": true`) as the items
    its stream would have brought: text, tool calls, the turn's end, usage."""
    message, usage = parse(data, model)
    return [*message_as_stream(message), usage]

