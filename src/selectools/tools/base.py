"""Tool: a function a model may call, with its JSON schema and argument validation."""

from __future__ import annotations

import copy
import inspect
import json
import re
import types
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..types import RAW_ARGUMENTS_KEY, ToolDefinition
from .approval import ApprovalRule, check_rule
from .docstring import parse_docstring
from .errors import ArgumentProblem, ToolArgumentError
from .execution import call_async, call_in_thread
from .parameter import (
    ToolParameter,
    check_function,
    declared_parameters,
    explicit_spec,
    parameters_from_schema,
)
from .plain import floats_for_ints, plain_arguments
from .results import result_to_text
from .schema import ArgumentsSpec, describe_parameters

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from pydantic import ValidationError

# What OpenAI, Anthropic and Gemini all accept as a function name. A pattern, compiled by
# `re` (and kept in its cache) when the first tool is made, not at every import.
_VALID_NAME = r"[A-Za-z_][A-Za-z0-9_.-]{0,63}\Z"  # (`$` would let a trailing newline in)
_SHOWN_INPUT_CHARS = 60


class Tool:
    """A callable the agent can offer to a model.

    Three ways to make one:
    - the `@tool` decorator, reading parameters from type hints and the docstring;
    - `Tool(name="add", description="Add two numbers", function=add)`, the same by hand;
    - `Tool(name="add", description="Add two numbers", function=add,
      parameters=[ToolParameter("a", int, "first"), ToolParameter("b", int, "second")])`,
      declaring the parameters explicitly.
    A JSON schema of your own may be given as `parameters_schema` instead. All are
    validated and coerced alike, and report bad arguments to the model in the same words.
    `requires_approval=True` (or a function of the arguments) stops a run before the call
    until a person approves it (see `Agent.resume`).
    """

    name: str
    description: str
    parameters_schema: dict[str, Any]
    function: Callable[..., Any]
    is_async: bool

    def __init__(
        self,
        name: str,
        description: str | None = None,
        parameters: Iterable[ToolParameter] | Mapping[str, ToolParameter]
        | Callable[..., Any] | None = None,
        function: Callable[..., Any] | None = None,
        *,
        parameters_schema: Mapping[str, Any] | None = None,
        requires_approval: ApprovalRule = False,
    ) -> None:
        if callable(parameters):
            if function is not None:
                raise TypeError(f"tool {name!r}: parameters must be a list of ToolParameter, "
                                f"got {parameters!r}")
            # `Tool(name, description, function)`: the positional form of earlier versions.
            parameters, function = None, parameters
        if function is None:
            raise TypeError(f"tool {name!r}: a function is required (function=...)")
        if parameters is not None and parameters_schema is not None:
            raise TypeError(f"tool {name!r}: give parameters or parameters_schema, not both")
        binding, function = _binding_of(function)
        if not callable(function):
            raise TypeError(f"tool {name!r}: function must be callable, got {function!r}")
        if inspect.isasyncgenfunction(function) or inspect.isgeneratorfunction(function):
            raise TypeError(
                f"tool {name!r}: generator functions are not supported; return the whole result"
            )
        if not isinstance(name, str) or not re.match(_VALID_NAME, name):
            raise ValueError(
                f"invalid tool name {name!r}: use 1-64 letters, digits, '_', '-' or '.', "
                "starting with a letter or '_'"
            )
        docstring = parse_docstring(inspect.getdoc(function))
        self.name = name
        self.description = description if description else docstring.summary
        self.function = function
        self.is_async = _is_coroutine_function(function)
        self._binding = binding
        self._bound_to: object | None = None
        self._declared: tuple[ToolParameter, ...] | None = None
        self._spec: ArgumentsSpec | None
        if parameters is not None:
            self._declared = declared_parameters(name, parameters)
            check_function(name, function, self._declared, skip_first=binding is not None)
            self._spec = explicit_spec(name, self._declared)
        else:
            try:
                self._spec = describe_parameters(
                    function, tool_name=name, descriptions=docstring.params,
                    skip_first=binding is not None,
                )
            except TypeError:
                # A hand-written schema may describe a function taking **kwargs; it is
                # then checked against that schema alone.
                if parameters_schema is None or not _takes_var_keyword(function):
                    raise
                self._spec = None
        self._plain = self._spec.plain if self._spec is not None else None
        #: Name -> type of plain parameters, for the usual call's check in `validate`.
        self._plain_kinds = {name: parameter.kind for name, parameter in self._plain.items()} \
            if self._plain is not None else None
        #: The float parameters, and the same map with int for each: a call whose numbers
        #: came as whole numbers (JSON's 100 for 100.0), for `validate` (None: no float).
        self._float_names = tuple(name for name, kind in (self._plain_kinds or {}).items()
                                  if kind is float)
        self._int_kinds = {name: int if kind is float else kind
                           for name, kind in self._plain_kinds.items()} \
            if self._plain_kinds is not None and self._float_names else None
        self._omitted = self._spec.omitted_when_none if self._spec is not None else frozenset()
        if parameters_schema is not None:
            self.parameters_schema = _checked_schema(name, parameters_schema)
        else:
            assert self._spec is not None
            self.parameters_schema = self._spec.schema
        #: Whether a call waits for a person's approval: True, or a function of the call's
        #: arguments deciding per call (see tools/approval.py).
        self.requires_approval = check_rule(name, requires_approval)
        self.__wrapped__ = function
        self.__doc__ = function.__doc__
        self.__name__ = name

    @property
    def parameters(self) -> list[ToolParameter]:
        """The parameters as ToolParameters: as declared, or read from the schema."""
        if self._declared is not None:
            return list(self._declared)
        return parameters_from_schema(self.parameters_schema)

    def schema(self) -> dict[str, Any]:
        """`{"name", "description", "parameters"}`: the tool as a JSON-schema style dict."""
        return {"name": self.name, "description": self.description,
                "parameters": copy.deepcopy(self.parameters_schema)}

    # -- arguments -------------------------------------------------------------------------

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check and coerce the arguments a model sent; raise ToolArgumentError naming
        every bad, missing or unexpected parameter."""
        if type(arguments) is dict:
            # The usual call: every parameter sent, each with exactly its type, and nothing
            # else (the arguments' map of name to type is the parameters'), so there is
            # nothing to coerce, fill in or leave out: one comparison, made in C, instead
            # of a loop over the parameters (`_plain_kinds` is None, equal to no dict, for
            # parameters that are not plain). Anything else is plain_arguments' to decide.
            # (The keys and the values of one dict: no strict= needed, or paid for.)
            kinds = dict(zip(arguments, map(type, arguments.values())))  # noqa: B905
            if kinds == self._plain_kinds:
                return dict(arguments)
            if kinds == self._int_kinds:
                # The same, but the float parameters sent as whole numbers (a model's 100):
                # those become floats, as from pydantic, when a float holds them exactly.
                checked = floats_for_ints(arguments, self._float_names)
                if checked is not None:
                    return checked
            if self._plain is not None:
                plain = plain_arguments(self._plain, arguments)
                if plain is not None:
                    return self._without_omitted(plain) if self._omitted else plain
        if not isinstance(arguments, Mapping):
            raise ToolArgumentError(self.name, [ArgumentProblem(
                "", f"arguments must be a JSON object, got {type(arguments).__name__}"
            )])
        if RAW_ARGUMENTS_KEY in arguments:
            raw = str(arguments[RAW_ARGUMENTS_KEY])
            shown = raw if len(raw) <= _SHOWN_INPUT_CHARS else raw[: _SHOWN_INPUT_CHARS - 3] + "..."
            raise ToolArgumentError(self.name, [ArgumentProblem(
                "", f"arguments must be a JSON object, got unreadable text {shown!r}"
            )])
        if self._spec is None:
            return self._validate_against_schema(arguments)
        model = self._spec.model  # built now if this is the first call to need it
        from pydantic import ValidationError  # loaded by now: the model was built with it

        try:
            validated = model.model_validate(dict(arguments))
        except ValidationError as exc:
            raise ToolArgumentError(self.name, self._problems(exc)) from None
        values = {name: getattr(validated, attribute)
                  for name, attribute in self._spec.attributes.items()}
        return self._without_omitted(values) if self._omitted else values

    def _without_omitted(self, values: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in values.items()
                if value is not None or name not in self._omitted}

    def _problems(self, exc: ValidationError) -> list[ArgumentProblem]:
        takes = ", ".join(self.parameter_names) or "no parameters"
        problems = []
        for error in exc.errors(include_url=False):
            location = error["loc"]
            parameter = str(location[0]) if location else ""
            path = parameter + "".join(
                f"[{part}]" if isinstance(part, int) else f".{part}" for part in location[1:]
            )
            if error["type"] == "missing":
                message = f"missing required parameter {path!r}"
            elif error["type"] == "extra_forbidden" and len(location) == 1:
                message = f"unexpected parameter {path!r} (this tool takes: {takes})"
            else:
                expected = error["msg"].replace("Input should be", "expected", 1)
                shown = repr(error.get("input"))
                if len(shown) > _SHOWN_INPUT_CHARS:
                    shown = shown[: _SHOWN_INPUT_CHARS - 3] + "..."
                message = f"parameter {path!r}: {expected}, got {shown}"
            problems.append(ArgumentProblem(parameter, message))
        return problems

    def _validate_against_schema(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        properties = self.parameters_schema.get("properties") or {}
        problems = [ArgumentProblem(name, f"missing required parameter {name!r}")
                    for name in self.parameters_schema.get("required") or []
                    if name not in arguments]
        if self.parameters_schema.get("additionalProperties") is False:
            takes = ", ".join(properties) or "no parameters"
            problems += [
                ArgumentProblem(
                    str(key), f"unexpected parameter {key!r} (this tool takes: {takes})"
                )
                for key in arguments
                if key not in properties
            ]
        if problems:
            raise ToolArgumentError(self.name, problems)
        return dict(arguments)

    @property
    def definition(self) -> ToolDefinition:
        """The tool as providers see it (name, description, parameters schema): data
        only, a new value on each read."""
        return ToolDefinition(self.name, self.description, self.parameters_schema)

    @property
    def parameter_names(self) -> list[str]:
        return list(self.parameters_schema.get("properties") or {})

    # -- running -------------------------------------------------------------------------

    async def aexecute(
        self,
        arguments: Mapping[str, Any],
        *,
        timeout: float | None = None,
        executor: Executor | None = None,
    ) -> str:
        """Validate `arguments`, run the tool and return its result as text.

        Async tools run on the current loop (cancelled on timeout); sync tools run in
        `executor` (a thread of its own when None) with the caller's contextvars, and are
        abandoned on timeout. Raises ToolArgumentError, ToolTimeoutError, or whatever the
        tool itself raised.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        call_arguments = self.validate(arguments)
        if self.is_async:
            if timeout is None:
                result = await self.function(**call_arguments)
            else:
                result = await call_async(
                    self.function, call_arguments, tool_name=self.name, timeout=timeout
                )
        else:
            result = await call_in_thread(
                self.function, call_arguments, tool_name=self.name, timeout=timeout,
                executor=executor,
            )
            if inspect.isawaitable(result):  # a sync callable that hands back a coroutine
                result = await result
        return result if type(result) is str else result_to_text(result)

    def execute(self, arguments: Mapping[str, Any], *, timeout: float | None = None,
                executor: Executor | None = None) -> str:
        """`aexecute` from sync code (on the library's event loop, as `Agent.run` is)."""
        from .._sync import run_sync

        return run_sync(self.aexecute(arguments, timeout=timeout, executor=executor))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function itself, so a decorated function stays a function."""
        return self.function(*args, **kwargs)

    # -- methods: `@tool` inside a class body ----------------------------------------------

    def __get__(self, instance: object, owner: type | None = None) -> Tool:
        if self._binding is None:
            return self
        target = owner if self._binding == "class" else instance
        if target is None:
            return self
        bound = copy.copy(self)
        bound.function = types.MethodType(self.function, target)
        bound._binding = None  # a bound tool is not bound again
        bound._bound_to = target
        return bound

    def __repr__(self) -> str:
        kind = "async" if self.is_async else "sync"
        bound = self._bound_to
        where = f", bound to {_describe(bound)}" if bound is not None else ""
        summary = self.description if len(self.description) <= 60 else (
            self.description[:57] + "..."
        )
        return (f"Tool(name={self.name!r}, description={summary!r}, "
                f"parameters={self.parameter_names}, {kind}{where})")


def _binding_of(function: Any) -> tuple[str | None, Any]:
    """Whether `function` is written as a method (its first parameter is the instance or
    the class), and the plain function behind a staticmethod/classmethod wrapper."""
    if isinstance(function, staticmethod):
        return None, function.__func__
    if isinstance(function, classmethod):
        return "class", function.__func__
    if not inspect.isfunction(function):
        return None, function
    parts = function.__qualname__.split(".")
    in_class_body = len(parts) >= 2 and parts[-2] != "<locals>"
    first = next(iter(inspect.signature(function).parameters), None)
    if in_class_body and first == "self":
        return "instance", function
    return None, function


def _is_coroutine_function(function: Any) -> bool:
    if inspect.iscoroutinefunction(function):
        return True
    # A callable object whose __call__ is async.
    return not inspect.isfunction(function) and inspect.iscoroutinefunction(
        type(function).__call__
    )


def _takes_var_keyword(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _checked_schema(name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        raise ValueError(
            f"tool {name!r}: parameters_schema must be a JSON Schema object "
            f"({{'type': 'object', 'properties': ...}}), got {schema!r}"
        )
    try:  # a private copy, as JSON: what goes to the provider, checked now, not at a call
        checked: dict[str, Any] = json.loads(json.dumps(dict(schema), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tool {name!r}: parameters_schema is not JSON: {exc}") from None
    checked.setdefault("properties", {})
    checked.setdefault("required", [])
    return checked


def _describe(target: object) -> str:
    if isinstance(target, type):
        return f"class {target.__name__}"
    return f"a {type(target).__name__} instance"
