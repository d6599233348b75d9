"""Shared fixtures: the wire-data folder, a replaying HTTP server, and OpenAPI request checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wire_server import WireServer

WIRE = Path(__file__).parent / "fixtures" / "wire"
SPECS = WIRE / "specs"


@pytest.fixture
def wire_dir() -> Path:
    return WIRE


@pytest.fixture
def wire_server() -> Iterator[WireServer]:
    with WireServer() as server:
        yield server


@functools.cache
def _spec_validator(spec_file: str, schema_name: str) -> Any:
    """A jsonschema validator for one component schema of an OpenAPI 3.1 spec, with its
    $refs resolved inside the spec. Each spec is parsed once per test session."""
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    with open(SPECS / spec_file, encoding="utf-8") as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    uri = f"urn:spec:{spec_file}"
    registry: Registry[Any] = Registry().with_resource(
        uri, Resource.from_contents(spec, default_specification=DRAFT202012))
    schema = {"$ref": f"{uri}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry)


def _validate(spec_file: str, schema_name: str, body: Any) -> None:
    validator = _spec_validator(spec_file, schema_name)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}"
                 for e in errors]
        pytest.fail(f"request body does not match {schema_name}:\n" + "\n".join(lines))


@pytest.fixture(scope="session")
def openai_request_schema() -> Callable[[Any], None]:
    """Check a Chat Completions request body against OpenAI's CreateChatCompletionRequest."""
    return functools.partial(_validate, "openai.openapi.transformed.yml",
                             "CreateChatCompletionRequest")


@pytest.fixture(scope="session")
def ollama_request_schema() -> Callable[[Any], None]:
    """Check an /api/chat request body against Ollama's ChatRequest."""
    return functools.partial(_validate, "ollama.openapi.yaml", "ChatRequest")
