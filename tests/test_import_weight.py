"""`import selectools` loads what a first run needs and no more: every public name still
resolves (the rest load on first access), in a fresh process each time."""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys
from typing import Any

import pytest

from selectools._dataclass import DataclassMethods
from selectools.agent.analytics import ToolAnalytics, ToolStats
from selectools.agent.config import AgentConfig
from selectools.observer import LoggingObserver
from selectools.parser import ParseResult
from selectools.providers.base import ProviderEvent
from selectools.tools.docstring import Docstring, parse_docstring
from selectools.tools.errors import ArgumentProblem
from selectools.tools.parameter import ToolParameter
from selectools.types import ContentPart, ReasoningPart, ToolCallDelta

# Modules a first run does not need, which `import selectools` must not load: each is
# imported when one of its names is first used.
DEFERRED = (
    "selectools.tools.registry",  # ToolRegistry
    "selectools.output",  # typed output (ResponseFormat, a run's response_format)
    "selectools.results",  # ToolResult, Artifact, ...
    "selectools.sessions",  # the session stores
    "selectools.otel",  # OTelObserver
    "selectools.providers.openai",  # every provider class
    "selectools.providers.fallback",
    "selectools.providers.stubs",
    "selectools.serve",
    "selectools.cli",
    "selectools.mcp",
    "selectools.batch",
    "selectools.parser",  # tool calls as text: only for a provider without native tools
    "selectools.memory",  # ConversationMemory
    "selectools.agent.analytics",  # only with AgentConfig(enable_analytics=True)
    "selectools._sync",  # the library's loop: only for the sync calls (run, complete, ...)
    "logging",  # selectools._log: looked up when a rare line is logged
    # types._image_part_from_file's, for the first image file read: pathlib brings
    # urllib.parse, ipaddress and ntpath (a tenth of the import, with base64)
    "pathlib", "base64", "urllib.parse",
)


def _fresh(code: str) -> object:
    """What `code` prints as its last line, as JSON, run in a new interpreter."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_selectools_loads_none_of_the_deferred_modules() -> None:
    loaded = _fresh(
        "import sys, json, selectools\n"
        f"print(json.dumps([m for m in {DEFERRED!r} if m in sys.modules]))\n")
    assert loaded == []


def test_every_public_name_resolves_in_a_fresh_process() -> None:
    # `from selectools import *` takes every name of __all__, the lazy ones through the
    # module's __getattr__; each must be the object its own module defines.
    problems = _fresh(
        "import json, selectools\n"
        "from selectools import *\n"
        "bad = [n for n in selectools.__all__ if globals()[n] is not getattr(selectools, n)]\n"
        "bad += [n for n in selectools.__all__ if not hasattr(selectools, n)]\n"
        "print(json.dumps(bad))\n")
    assert problems == []


def test_every_name_of_selectools_tools_resolves_in_a_fresh_process() -> None:
    found = _fresh(
        "import json, sys, selectools.tools as tools\n"
        "before = 'selectools.tools.registry' in sys.modules\n"
        "from selectools.tools import *\n"
        "from selectools.tools.registry import ToolRegistry\n"
        "import selectools\n"
        "print(json.dumps([before, [n for n in tools.__all__ if not hasattr(tools, n)],\n"
        "                  tools.ToolRegistry is ToolRegistry is selectools.ToolRegistry]))\n")
    assert found == [False, [], True]


def test_the_deferred_submodules_are_still_attributes_and_in_dir() -> None:
    # What `import selectools` loaded before it deferred them: reachable as attributes
    # (imported when read) and listed by dir(), which imports nothing.
    found = _fresh(
        "import json, sys, selectools, selectools.tools, selectools.agent\n"
        "listed = [name in dir(module) for module, names in ((selectools, ('memory', 'parser',\n"
        "          'ConversationMemory', 'ToolRegistry', 'OpenAIProvider')),\n"
        "          (selectools.tools, ('registry', 'ToolRegistry')),\n"
        "          (selectools.agent, ('analytics',))) for name in names]\n"
        f"loaded = [m for m in {DEFERRED!r} if m in sys.modules]\n"
        "names = [selectools.memory.ConversationMemory.__name__,\n"
        "         selectools.parser.ToolCallParser.__name__,\n"
        "         selectools.tools.registry.ToolRegistry.__name__,\n"
        "         selectools.agent.analytics.ToolAnalytics.__name__,\n"
        "         selectools._sync.run_sync.__name__]\n"
        "same = selectools.tools.registry.ToolRegistry is selectools.ToolRegistry\n"
        "print(json.dumps([listed, loaded, names, same]))\n")
    assert found == [[True] * 8, [], ["ConversationMemory", "ToolCallParser", "ToolRegistry",
                                      "ToolAnalytics", "run_sync"], True]


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import selectools
    import selectools.agent
    import selectools.tools

    for module in (selectools, selectools.tools, selectools.agent):
        try:
            module.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
        except AttributeError as exc:
            assert "NoSuchName" in str(exc)
        else:
            raise AssertionError(f"{module.__name__}.NoSuchName resolved")


def test_docstring_values_are_plain_and_not_shared() -> None:
    empty, other = parse_docstring(None), parse_docstring("")
    assert (empty.summary, empty.params) == ("", {})
    assert empty.params is not other.params
    assert repr(Docstring("Add.", {"a": "first"})) == (
        "Docstring(summary='Add.', params={'a': 'first'})")


@dataclasses.dataclass(repr=False, eq=False)
class _Flags(DataclassMethods):
    """Fields left out of the repr and of the comparison."""

    shown: Any = None
    hidden: Any = dataclasses.field(default=None, repr=False)
    ignored: Any = dataclasses.field(default=None, compare=False)


# Every class that takes its repr and eq from DataclassMethods instead of dataclass.
_PLAIN_METHOD_CLASSES = (AgentConfig, ToolParameter, ParseResult, ToolStats, ToolAnalytics,
                         ProviderEvent, _Flags)


def _twin(cls: type) -> type:
    """The same fields in a class whose repr and eq dataclass generates."""
    namespace: dict[str, Any] = {"__annotations__": {}, "__qualname__": cls.__qualname__}
    for spec in dataclasses.fields(cls):
        namespace["__annotations__"][spec.name] = Any
        namespace[spec.name] = dataclasses.field(default=None, repr=spec.repr,
                                                 compare=spec.compare)
    return dataclasses.dataclass(type(cls.__name__, (), namespace))


def _made(cls: type, values: dict[str, Any]) -> Any:
    instance: Any = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(instance, name, value)
    return instance


@pytest.mark.parametrize("cls", _PLAIN_METHOD_CLASSES, ids=lambda cls: cls.__name__)
def test_repr_and_eq_are_those_dataclass_generates(cls: type) -> None:
    twin = _twin(cls)
    names = [spec.name for spec in dataclasses.fields(cls)]
    nan = float("nan")
    first = {name: [index, "x", nan] for index, name in enumerate(names)}
    second = {**first, names[0]: "other"}
    mine, theirs = _made(cls, first), _made(twin, first)
    assert repr(mine) == repr(theirs)
    assert (mine == _made(cls, first)) is (theirs == _made(twin, first)) is True
    assert (mine == _made(cls, second)) == (theirs == _made(twin, second))
    assert (mine != _made(cls, second)) == (theirs != _made(twin, second))
    assert (mine == theirs) is False and mine.__eq__(theirs) is NotImplemented
    assert cls.__hash__ is None and twin.__hash__ is None
    looped = _made(cls, first)  # a value that holds the instance itself
    object.__setattr__(looped, names[0], [looped])
    looped_twin = _made(twin, first)
    object.__setattr__(looped_twin, names[0], [looped_twin])
    assert repr(looped) == repr(looped_twin)


def test_a_real_instance_reads_as_before() -> None:
    assert repr(ToolStats(calls=2)) == "ToolStats(calls=2, errors=0, total_ms=0.0)"
    assert ToolParameter("a", int, "first") == ToolParameter("a", int, "first")
    assert ToolParameter("a", int, "first") != ToolParameter("a", str, "first")
    assert AgentConfig(max_iterations=3) == AgentConfig(max_iterations=3)
    assert AgentConfig(max_iterations=3) != AgentConfig()
    assert repr(AgentConfig()).startswith("AgentConfig(model=None, temperature=None, ")
    assert dataclasses.replace(AgentConfig(), max_tokens=5).max_tokens == 5


def test_a_subclass_gets_the_parents_fields() -> None:
    class Settings(AgentConfig):
        pass

    assert repr(Settings()) == "test_a_subclass_gets_the_parents_fields.<locals>.Settings(" + \
        repr(AgentConfig())[len("AgentConfig("):]
    assert Settings() == Settings() and Settings() != AgentConfig()


@pytest.mark.parametrize("cls", [AgentConfig, ToolParameter, ContentPart, ReasoningPart,
                                 ToolCallDelta], ids=lambda cls: cls.__name__)
def test_a_written_out_init_is_the_one_dataclass_would_generate(cls: type) -> None:
    generated = dataclasses.make_dataclass(cls.__name__, [
        (spec.name, spec.type, dataclasses.field(default=spec.default) if spec.default_factory
         is dataclasses.MISSING else dataclasses.field(default_factory=spec.default_factory))
        for spec in dataclasses.fields(cls)])
    mine = inspect.signature(cls).parameters
    theirs = inspect.signature(generated).parameters
    assert list(mine) == list(theirs)
    for name, parameter in mine.items():
        assert parameter.kind == theirs[name].kind, name
        # observers: () where dataclass has its default_factory (list); both make [].
        expected = () if name == "observers" else theirs[name].default
        assert parameter.default == expected, name
    if cls in (ToolParameter, ReasoningPart, ToolCallDelta):  # no checks: stored as given
        values: dict[str, Any] = {name: object() for name in mine}
        made = cls(**values)
        assert {name: getattr(made, name) for name in values} == values
        assert cls(*values.values()) == made


def test_agent_config_observers_default_to_a_new_empty_list() -> None:
    assert AgentConfig().observers == [] and AgentConfig().observers is not \
        AgentConfig().observers


class _Store:
    async def aload_state(self) -> None: ...
    async def acommit(self) -> None: ...
    def lock(self) -> None: ...


def test_agent_config_sets_every_field_from_its_argument() -> None:
    def policy(call: Any) -> bool:
        return False

    values: dict[str, Any] = {
        "model": "m", "temperature": 0.5, "max_tokens": 7, "max_iterations": 3,
        "system_prompt": "s", "parallel_tool_execution": False, "max_parallel_tools": 2,
        "routing_only": True, "observers": [LoggingObserver()], "request_timeout": 1.0,
        "max_retries": 1, "tool_timeout_seconds": 2.0, "run_timeout": 3.0,
        "enable_analytics": True, "output_retries": 0, "output_failure": "raise",
        "reasoning": "low", "session_store": _Store(), "session_id": "s1",
        "session_namespace": "ns", "session_conflict": "wait", "session_wait_timeout": 5.0,
        "approval_policy": policy}
    assert list(values) == [spec.name for spec in dataclasses.fields(AgentConfig)]
    config = AgentConfig(**values)
    assert {name: getattr(config, name) for name in values} == values
    assert AgentConfig(*values.values()) == config
    assert dataclasses.replace(config, max_tokens=9) == AgentConfig(**{**values,
                                                                       "max_tokens": 9})
    with pytest.raises(TypeError, match="observers must be a list"):
        AgentConfig(observers=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_tokens"):
        AgentConfig(max_tokens=0)


def test_content_parts_init_stores_the_fields_then_runs_post_init() -> None:
    # As dataclass's generated __init__: a subclass's own __post_init__ is the one called.
    assert ContentPart("image_base64", image_base64="AA").media_type == "image/png"
    with pytest.raises(ValueError, match="needs the text field"):
        ContentPart("text")
    seen: list[Any] = []

    @dataclasses.dataclass(slots=True, init=False, repr=False, eq=False)
    class Logged(ContentPart):
        def __post_init__(self) -> None:
            seen.append((self.type, self.text, self.image_url, self.media_type))

    Logged("image_url", None, "http://x/a.png", None, "image/gif")
    assert seen == [("image_url", None, "http://x/a.png", "image/gif")]


@dataclasses.dataclass(frozen=True)
class _GeneratedProblem:
    """ArgumentProblem's fields, with the methods dataclass generates for a frozen class."""

    parameter: Any
    message: Any


def test_argument_problems_methods_are_those_of_a_frozen_dataclass() -> None:
    mine, theirs = ArgumentProblem("date", "missing"), _GeneratedProblem("date", "missing")
    assert repr(mine) == repr(theirs).replace("_GeneratedProblem", "ArgumentProblem")
    assert hash(mine) == hash(theirs) and str(mine) == "missing"
    assert mine == ArgumentProblem("date", "missing") != ArgumentProblem("date", "other")
    assert mine.__eq__(theirs) is NotImplemented and mine != ("date", "missing")
    assert ArgumentProblem.__match_args__ == ("parameter", "message")
    assert list(inspect.signature(ArgumentProblem).parameters) == ["parameter", "message"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        mine.parameter = "other"  # type: ignore[misc]
    assert dataclasses.replace(mine, message="m") == ArgumentProblem("date", "m")
    looped = ArgumentProblem("date", [])  # type: ignore[arg-type]
    looped.message.append(looped)  # type: ignore[attr-defined]
    twin = _GeneratedProblem("date", [])
    twin.message.append(twin)
    assert repr(looped) == repr(twin).replace("_GeneratedProblem", "ArgumentProblem")
