"""Hostile review of issue 13, typed output sent natively: a schema the API would refuse
is asked for in words instead (and still validated), through real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from wire_server import WireServer

from selectools import Agent, AgentConfig
from selectools.providers._anthropic_models import is_recursive
from selectools.providers.anthropic import AnthropicProvider


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Page(BaseModel):
    title: str
    outline: Node


class Point(BaseModel):
    x: int
    y: int


def answer(value: Any) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": json.dumps(value)}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 20, "output_tokens": 9}}


async def typed_run(server: WireServer, target: Any, value: Any) -> tuple[Any, dict[str, Any]]:
    server.reply(200, answer(value))
    provider = AnthropicProvider(api_key="sk-ant-test-0123456789", base_url=server.url,
                                 model="claude-sonnet-4-5", max_retries=0)
    agent = Agent(tools=[], provider=provider, config=AgentConfig(output_retries=0))
    result = await agent.arun("Outline it.", response_format=target)
    await provider.aclose()
    assert result.structured_status == "ok", result.structured_error
    return result.parsed, server.requests[-1].json


async def test_a_recursive_type_is_asked_of_anthropic_in_words(wire_server: WireServer) -> None:
    # Anthropic's structured outputs refuse recursive schemas (a 400 mid-run).
    tree: dict[str, Any] = {"name": "root", "children": [{"name": "leaf", "children": []}]}
    expected = Node(name="root", children=[Node(name="leaf")])
    for target, value, value_parsed in (
            (Node, tree, expected), (Page, {"title": "T", "outline": tree},
                                     Page(title="T", outline=expected)),
            (list[Node], [tree], [expected])):
        parsed, body = await typed_run(wire_server, target, value)
        assert "output_config" not in body
        assert "JSON schema" in body["system"] and '"$ref"' in body["system"]
        assert parsed == value_parsed


async def test_a_type_without_recursion_is_still_constrained(wire_server: WireServer) -> None:
    parsed, body = await typed_run(wire_server, Point, {"x": 1, "y": 2})
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert "JSON schema" not in body.get("system", "") and parsed == Point(x=1, y=2)


def test_recursion_is_found_through_any_path_of_definitions() -> None:
    linked = {"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}},
              "$defs": {"A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
                        "B": {"type": "object", "properties": {
                            "again": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}}}}}
    assert is_recursive(linked)
    assert is_recursive({"type": "object", "properties": {"self": {"$ref": "#"}}})
    shared = {"type": "object", "properties": {"a": {"$ref": "#/$defs/C"},
                                               "b": {"$ref": "#/$defs/C"}},
              "$defs": {"C": {"type": "object", "properties": {"d": {"$ref": "#/$defs/D"}}},
                        "D": {"type": "string"}}}
    assert not is_recursive(shared)
