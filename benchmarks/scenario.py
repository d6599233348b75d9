"""The one job every benchmark client does, and the wire data the loopback server sends.

A user asks a question; the model answers with a short text and three tool calls; the
client runs the three tools and calls the model again with their results; the model
answers in about 200 tokens that quote the three results. The server checks the tool
results it receives, so a client that loses or garbles one gets an error instead of the
expected answer: every benchmark compares the final text with `expected_answer()`.

This module imports nothing outside the standard library: the server process loads it
without selectools.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

MODEL = "bench-model"
#: The key every client sends, as a client of a real OpenAI-compatible server must.
API_KEY = "bench-key"
PROMPT = "What is the weather and population of Paris, and what is 100 USD in EUR?"
FIRST_TEXT_TOKENS = ["Let", " me", " look", " those", " up", "."]
FIRST_TEXT = "".join(FIRST_TEXT_TOKENS)
ANSWER_TOKENS_TOTAL = 200

#: The three tool calls of the first answer: (id, name, arguments).
TOOL_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("call_bench_weather_0", "get_weather", {"city": "Paris"}),
    ("call_bench_population_1", "get_population", {"city": "Paris"}),
    ("call_bench_convert_2", "convert_currency", {"amount": 100, "currency": "EUR"}),
]

TOOL_SCHEMAS: dict[str, dict[str, Any]] = {
    "get_weather": {
        "description": "The current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
    "get_population": {
        "description": "The population of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
    "convert_currency": {
        "description": "Convert an amount of US dollars to another currency.",
        "parameters": {"type": "object",
                       "properties": {"amount": {"type": "number"},
                                      "currency": {"type": "string"}},
                       "required": ["amount", "currency"]},
    },
}


# -- the tools: plain functions, shared by the agent and the hand-written clients ------------

def weather_text(city: str) -> str:
    return f"Sunny and 21 C in {city}"


def population_text(city: str) -> str:
    return f"{city} has 2102650 inhabitants"


def convert_text(amount: float, currency: str) -> str:
    return f"{amount:g} USD is {amount * 0.92:.2f} {currency}"


TOOL_TEXT: dict[str, Callable[..., str]] = {
    "get_weather": weather_text, "get_population": population_text,
    "convert_currency": convert_text}


async def get_weather(city: str) -> str:
    """The current weather in a city."""
    return weather_text(city)


async def get_population(city: str) -> str:
    """The population of a city."""
    return population_text(city)


async def convert_currency(amount: float, currency: str) -> str:
    """Convert an amount of US dollars to another currency."""
    return convert_text(amount, currency)


ASYNC_TOOLS: dict[str, Callable[..., Any]] = {
    "get_weather": get_weather, "get_population": get_population,
    "convert_currency": convert_currency}

#: B4's tools: each sleeps this long before answering.
SLOW_TOOL_SECONDS = 0.15


def slow_async_tools() -> dict[str, Callable[..., Any]]:
    async def get_weather(city: str) -> str:
        """The current weather in a city."""
        await asyncio.sleep(SLOW_TOOL_SECONDS)
        return weather_text(city)

    async def get_population(city: str) -> str:
        """The population of a city."""
        await asyncio.sleep(SLOW_TOOL_SECONDS)
        return population_text(city)

    async def convert_currency(amount: float, currency: str) -> str:
        """Convert an amount of US dollars to another currency."""
        await asyncio.sleep(SLOW_TOOL_SECONDS)
        return convert_text(amount, currency)

    return {"get_weather": get_weather, "get_population": get_population,
            "convert_currency": convert_currency}


def slow_sync_tools() -> dict[str, Callable[..., Any]]:
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        time.sleep(SLOW_TOOL_SECONDS)
        return weather_text(city)

    def get_population(city: str) -> str:
        """The population of a city."""
        time.sleep(SLOW_TOOL_SECONDS)
        return population_text(city)

    def convert_currency(amount: float, currency: str) -> str:
        """Convert an amount of US dollars to another currency."""
        time.sleep(SLOW_TOOL_SECONDS)
        return convert_text(amount, currency)

    return {"get_weather": get_weather, "get_population": get_population,
            "convert_currency": convert_currency}


# -- expected results ------------------------------------------------------------------------

def expected_results() -> dict[str, str]:
    """Tool call id -> the text its tool returns."""
    return {call_id: TOOL_TEXT[name](**args) for call_id, name, args in TOOL_CALLS}


def answer_tokens(results: list[str]) -> list[str]:
    """The second answer, as streamed tokens: it quotes the tool results, then pads to
    ANSWER_TOKENS_TOTAL tokens."""
    lead = f"Here is what I found: {results[0]}; {results[1]}; {results[2]}."
    tokens = [word if i == 0 else " " + word for i, word in enumerate(lead.split(" "))]
    filler = ("The numbers above come straight from the tools, and this sentence pads out "
              "the answer.")
    words = [" " + word for word in filler.split()]
    lead_length = len(tokens)
    while len(tokens) < ANSWER_TOKENS_TOTAL:
        tokens.append(words[(len(tokens) - lead_length) % len(words)])
    return tokens


def expected_answer() -> str:
    return "".join(answer_tokens(list(expected_results().values())))


#: B8's final answer, a JSON document of the same length in events as the text answer:
#: what a typed run (`response_format=JSON_ANSWER_SCHEMA`) streams and parses.
JSON_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"weather": {"type": "string"}, "population": {"type": "string"},
                   "conversion": {"type": "string"},
                   "notes": {"type": "array", "items": {"type": "string"}}},
    "required": ["weather", "population", "conversion", "notes"],
    "additionalProperties": False}


def json_answer() -> dict[str, Any]:
    weather, population, conversion = expected_results().values()
    filler = "The numbers above come straight from the tools".split()
    return {"weather": weather, "population": population, "conversion": conversion,
            "notes": [filler[i % len(filler)] for i in range(110)]}


def json_answer_tokens() -> list[str]:
    """The JSON answer cut into as many streamed events as the text answer has tokens
    (about 5 characters each), so that B8 compares the same number of events."""
    text, pieces = json.dumps(json_answer()), ANSWER_TOKENS_TOTAL
    bounds = [round(i * len(text) / pieces) for i in range(pieces + 1)]
    return [text[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]


def check_json_answer(text: str, where: str) -> None:
    if json.loads(text) != json_answer():
        raise AssertionError(f"{where}: wrong JSON answer: {text[:160]!r}")


def check_answer(text: str, where: str) -> None:
    """Raise unless `text` is the expected final answer: a wrong answer is not a number."""
    expected = expected_answer()
    if text != expected:
        raise AssertionError(f"{where}: wrong final answer.\n  got:      {text[:160]!r}\n"
                             f"  expected: {expected[:160]!r}")


# -- requests --------------------------------------------------------------------------------

def tool_results_in(request: dict[str, Any]) -> dict[str, str] | None:
    """The tool results a request carries (id -> content), or None when it has none."""
    results = {m.get("tool_call_id"): m.get("content") for m in request.get("messages", ())
               if m.get("role") == "tool"}
    return results or None


def problem_with_results(request: dict[str, Any]) -> str | None:
    """What is wrong with the second call's tool results, or None when all is right."""
    results = tool_results_in(request) or {}
    expected = expected_results()
    if results != expected:
        return f"tool results differ: got {results!r}, expected {expected!r}"
    assistant = [m for m in request["messages"] if m.get("role") == "assistant"]
    if not assistant:
        return "the assistant message with the tool calls is missing"
    calls = assistant[-1].get("tool_calls") or []
    sent = [(c.get("id"), c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in calls]
    if sent != TOOL_CALLS:
        return f"the assistant's tool calls differ: {sent!r}"
    return None


def tools_payload() -> list[dict[str, Any]]:
    """The `tools` field a hand-written client sends."""
    return [{"type": "function", "function": {"name": name, **schema}}
            for name, schema in TOOL_SCHEMAS.items()]
