"""What each Claude model takes, read from its name: thinking settings (adaptive thinking
with an effort on Claude 4.6 and later, budgets refused on 4.7 and later, none before 3.7)
and constrained output (`output_config.format` on Opus 4.1, the 4.5 models and later, for
a schema its decoder takes: not a recursive one, and with the keywords it refuses kept as
hints in the description). The Anthropic protocol (anthropic.py) asks these questions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..types import REASONING_EFFORTS, OutputFormat

#: The least thinking budget the API takes, and the budgets an effort stands for on a
#: model without adaptive thinking.
MIN_THINKING_BUDGET = 1024
EFFORT_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}


# "claude-sonnet-4-5-20250929" is 4.5, "claude-3-7-sonnet-..." 3.7, "claude-sonnet-4-2025..."
# 4.0 (a date is no minor version), "us.anthropic.claude-opus-4-6-v1" (a gateway's) 4.6.
_CLAUDE_VERSION = re.compile(
    r"claude-(?:(?:opus|sonnet|haiku|fable|mythos)-)?(\d+)(?:[-.](\d{1,2})(?!\d))?")
_NEWEST = (99, 0)


def claude_version(model: str) -> tuple[int, int] | None:
    """`(major, minor)` of a Claude model's name; a Claude name without a number
    ("claude-mythos-preview") is taken as newer than every known one; None for a model
    that is not Claude (an Anthropic-compatible server's own)."""
    match = _CLAUDE_VERSION.search(model)
    if match is not None:
        return int(match[1]), int(match[2] or 0)
    return _NEWEST if "claude-" in model else None


def thinking_settings(model: str, reasoning: str | int,
                      max_tokens: int) -> tuple[dict[str, Any], str | None, int]:
    """`(thinking, effort or None, max_tokens)` for a reasoning setting on `model` (the
    rules are in the module's doc); a setting the model cannot take is a ValueError."""
    version = claude_version(model)
    if isinstance(reasoning, str):
        if reasoning not in REASONING_EFFORTS:
            raise ValueError(f"reasoning must be one of {list(REASONING_EFFORTS)} or a token "
                             f"budget, got {reasoning!r}")
        if version is not None and version >= (4, 6):  # adaptive thinking
            return {"type": "adaptive", "display": "summarized"}, reasoning, max_tokens
        budget = EFFORT_BUDGETS[reasoning]
    elif type(reasoning) is int and reasoning >= MIN_THINKING_BUDGET:
        if version is not None and version >= (4, 7):
            raise ValueError(f"{model} takes no thinking budget (Claude 4.7 and later think "
                             f"adaptively): set reasoning to one of {list(REASONING_EFFORTS)} "
                             f"instead of {reasoning}")
        budget = reasoning
    else:
        raise ValueError(f"a thinking budget must be a whole number of at least "
                         f"{MIN_THINKING_BUDGET} tokens, got {reasoning!r}")
    if budget >= max_tokens:  # max_tokens counts thinking too: the answer keeps its own
        max_tokens += budget
    return {"type": "enabled", "budget_tokens": budget}, None, max_tokens


def thinking_may_continue(converted: Sequence[Mapping[str, Any]]) -> bool:
    """Whether thinking may be on for a request of these (converted) messages. Within a tool
    loop the API refuses it unless the loop's assistant turn starts with a thinking block
    ("Expected `thinking` or `redacted_thinking`, but found `tool_use`... To avoid this
    requirement, disable `thinking`"): a turn another provider began (before a fallback),
    or one begun without thinking, has none, so that request is sent without thinking,
    and the next question thinks again. (The loop's later answers need none: Claude
    thinks once per turn unless it interleaves.)"""
    if len(converted) < 2 or converted[-1]["role"] != "user" or not any(
            block.get("type") == "tool_result" for block in converted[-1]["content"]):
        return True
    begins: Sequence[Mapping[str, Any]] | None = None  # the turn's first assistant message
    for message in reversed(converted):
        if message["role"] == "assistant":
            begins = message["content"]
        elif any(block.get("type") != "tool_result" for block in message["content"]):
            break  # the user's question: the turn began after it
    return not begins or begins[0].get("type") in ("thinking", "redacted_thinking")


def takes_thinking(model: str) -> bool:
    """Whether `model` can think: Claude 3.7 and later, and any model not named claude-*
    (a compatible server's own, which decides); Claude 3.5 and older cannot."""
    version = claude_version(model)
    return version is None or version >= (3, 7)


def refuse_sampling(temperature: float | None) -> None:
    """With thinking on the API takes no temperature but 1, its default."""
    if temperature is not None and temperature != 1:
        raise ValueError(f"temperature={temperature} cannot be combined with reasoning on "
                         "Anthropic (thinking takes only the default temperature): unset "
                         "the temperature or the reasoning setting")


def takes_structured_output(model: str) -> bool:
    """Whether `model` can be constrained with `output_config.format` (Opus 4.1, the 4.5
    models and later; not an unknown server's model)."""
    version = claude_version(model)
    return version is not None and (version >= (4, 5) or version == (4, 1))


def structured_output(model: str, output: OutputFormat) -> dict[str, Any] | None:
    """The `output_config.format` that constrains the answer to `output`, or None when
    this request cannot be constrained (then the instructions go in the system prompt)."""
    if output.strict_schema is None or not takes_structured_output(model) or is_recursive(
            output.strict_schema):
        return None
    return {"type": "json_schema", "schema": constrainable_schema(output.strict_schema)}


def is_recursive(schema: Mapping[str, Any]) -> bool:
    """Whether a schema refers to itself (a tree, a linked list): Anthropic's structured
    outputs take no recursive schema (a 400), so such an answer is asked for in words."""
    definitions = {f"#/{key}/{name}": sub for key in ("$defs", "definitions")
                   if type(schema.get(key)) is dict for name, sub in schema[key].items()}
    references = {name: _references(sub) for name, sub in definitions.items()}
    if "#" in _references(schema) or any("#" in found for found in references.values()):
        return True
    # A definition that reaches itself through the references (depth first, each once).
    done: set[str] = set()
    for start in references:
        path, stack = {start}, [(start, iter(references[start]))]
        while stack:
            name, following = stack[-1]
            target = next(following, None)
            if target is None:
                stack.pop()
                path.discard(name)
                done.add(name)
            elif target in path:
                return True
            elif target in references and target not in done:
                path.add(target)
                stack.append((target, iter(references[target])))
    return False


def _references(node: Any) -> set[str]:
    """The `$ref`s in a schema node, outside its own definitions."""
    found: set[str] = set()
    pending = [node]
    while pending:
        value = pending.pop()
        if type(value) is dict:
            reference = value.get("$ref")
            if type(reference) is str:
                found.add(reference)
            pending.extend(sub for key, sub in value.items() if key not in ("$defs", "definitions"))
        elif type(value) is list:
            pending.extend(value)
    return found


# Keywords Anthropic's constrained decoding refuses; moved into the description as hints.
_UNCONSTRAINED = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                            "multipleOf", "minLength", "maxLength", "maxItems",
                            "minProperties", "maxProperties"})
_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "uri",
                      "ipv4", "ipv6", "uuid"})
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions"})
_SCHEMA_LISTS = frozenset({"anyOf", "allOf", "oneOf", "prefixItems"})


def constrainable_schema(schema: Any) -> Any:
    """`schema` as Anthropic's structured outputs take it: what its decoder refuses is
    kept as a hint in the description (the validator still checks it afterwards)."""
    if type(schema) is not dict:
        return schema
    result: dict[str, Any] = {}
    hints: list[str] = []
    for key, value in schema.items():
        if key in _UNCONSTRAINED or (key == "minItems" and value not in (0, 1)) or (
                key == "format" and value not in _FORMATS):
            hints.append(f"{key}: {json.dumps(value)}")
        elif key in _SCHEMA_MAPS and type(value) is dict:
            result[key] = {name: constrainable_schema(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and type(value) is list:
            result[key] = [constrainable_schema(sub) for sub in value]
        elif key in ("items", "additionalProperties"):
            result[key] = constrainable_schema(value)
        else:
            result[key] = value
    if hints:
        hint = f"({'; '.join(hints)})"
        described = result.get("description")
        result["description"] = f"{described} {hint}" if described else hint
    return result
