"""`output_schema(T)`: what a run asked for a typed answer needs to know about `T`.

`T` is a pydantic model, a dataclass, a TypedDict, `list[...]` or any other type pydantic
understands (validated by pydantic, which is imported only then), or a JSON schema given
as a dict (checked by `checker.SchemaChecker`; the value comes back as decoded JSON).
"""

from __future__ import annotations

import functools
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .checker import SchemaChecker
from .errors import OutputValidationError, PartialJSONError, Problem, brief_json
from .extract import find_json
from .partial import UNCHANGED, PartialJSONParser
from .strict import WRAPPER_KEY, drop_absent_nulls, strict_variant

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

#: What `response_format=` takes (selectools 1.3.0's name for it): a type, or a JSON
#: schema as a dict.
ResponseFormat = type[Any] | Mapping[str, Any]

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
# The name selectools 1.x gives a schema that has none of its own.
_DEFAULT_NAME = "structured_response"
_STARTS = {"object": "{", "array": "[", "string": '"'}


class OutputSchema:
    """A requested output type, described for a provider and checked on the way back.

    - `name`: a name for the schema (`[A-Za-z0-9_-]`, at most 64 characters, as OpenAI
      requires), from the type's name or the schema's `title`.
    - `schema`: the JSON schema of `T` (titles dropped, definitions inlined where they
      can be), for any provider that takes a plain schema and for instructions.
    - `strict_schema`: the variant for OpenAI's strict mode (see strict.py), or None when
      `T` has none (`strict_problem` says why): then send `schema` without `strict`.
    - `wrapped`: whether `strict_schema` wraps a non-object root in `{"value": ...}`; an
      answer in either form is accepted by `validate`.

    One is made per type and shared (`output_schema` caches it): treat its schemas as
    read-only.
    """

    __slots__ = ("target", "name", "schema", "strict_schema", "strict_problem", "wrapped",
                 "_check", "_starts", "_scalar_root", "_instructions")

    def __init__(self, target: Any, name: str, schema: dict[str, Any],
                 check: _Check) -> None:
        self.target = target
        self.name = name
        self.schema = schema
        self.strict_schema, self.strict_problem, self.wrapped = strict_variant(schema)
        self._check = check
        starts = _starts(schema)
        self._starts = "".join(sorted(set(starts + "{" if self.wrapped else starts)))
        # A number, literal or null answer cannot be told from prose by its first
        # character: its partial values are read from an answer that is the value itself.
        self._scalar_root = _may_be_scalar(schema)

    def validate(self, text: str) -> Any:
        """The value `text` (a model's whole answer) holds, as `T`: a model, dataclass,
        TypedDict dict, list... Raises OutputValidationError naming each problem by path.

        The JSON may be the whole answer, in a ```json fence, or the first value in
        prose; an answer to the strict schema's wrapper is unwrapped.
        """
        value, json_text = find_json(text, self._starts)
        if drop_absent_nulls(value, self.schema):
            json_text = _dumps(value)
        try:
            return self._check(value, json_text)
        except OutputValidationError:
            if not (self.wrapped and type(value) is dict and list(value) == [WRAPPER_KEY]):
                raise
        inner = value[WRAPPER_KEY]
        drop_absent_nulls(inner, self.schema)
        try:
            return self._check(inner, _dumps(inner))
        except OutputValidationError as error:
            # The model answered in the wrapper: say where, in what it wrote.
            raise OutputValidationError([
                Problem(f"$.{WRAPPER_KEY}{problem.path[1:]}", problem.message)
                for problem in error.problems]) from None

    def instructions(self) -> str:
        """What to tell a model that has no native structured output (a system prompt
        addition)."""
        # Made once: every run asked for this type reads it.
        try:
            return self._instructions
        except AttributeError:
            self._instructions: str = (
                "Reply with a single JSON value that matches the JSON schema below, and "
                "nothing else: no prose and no code fence.\n"
                + json.dumps(self.schema, ensure_ascii=False))
            return self._instructions

    def repair_prompt(self, error: OutputValidationError) -> str:
        """The message that sends an invalid answer back to the model."""
        return f"{error}.\nReply again with only the corrected JSON value."

    def stream(self, *, wrapped: bool = False) -> OutputStream:
        """A partial parser for this output's streamed answer; `wrapped` when the model
        was given `strict_schema` and `self.wrapped` (it then answers `{"value": ...}`,
        and the partial value shown is what is inside; an answer that is the value itself,
        from a provider that was asked in words, is read as it is)."""
        wrapped = wrapped and self.wrapped
        return OutputStream(None if self._scalar_root else self._starts, wrapped)

    def __repr__(self) -> str:
        return f"OutputSchema(name={self.name!r}, strict={self.strict_schema is not None})"


class OutputStream:
    """Partial values of an answer while it streams (see partial.py): `feed(delta)`
    returns the partial value when it changed, else `UNCHANGED`. It never raises: on
    text that cannot be JSON it goes quiet, and the final validation says what is wrong.
    The value is live (updated in place); copy it to keep it.

    It follows the first value that begins in the answer. For an answer constrained to
    the schema (pure JSON) that is the answer, and its last partial value is what
    `validate` reads; prose with another JSON value ahead of the answer can mislead it,
    never `validate`, whose value is the one that counts."""

    __slots__ = ("_parser", "feed")

    #: `feed(delta)`: the partial value when the delta changed it, else UNCHANGED. (The
    #: quiet parser's own feed, with no call of ours around it on every delta; a
    #: wrapped answer's is a function reading the inner value.)
    feed: Callable[[str], Any]

    def __init__(self, starts: str | None, wrapped: bool) -> None:
        self._parser = _QuietParser(start=starts)
        self.feed = functools.partial(_wrapped_feed, self._parser.feed) if wrapped \
            else self._parser.feed

    def finish(self) -> Any:
        """The end of the answer: its value if it completed only now and was not shown yet
        (a number or literal root completes only at the end), else UNCHANGED. Never
        raises."""
        # Each value the parser places was returned by the feed that placed it (placing
        # one is a change), a wrapped answer's inner value too (placed before its
        # wrapper closes): only a root that completes at the end, a number, is new here.
        if self._parser.value is not UNCHANGED:
            return UNCHANGED
        try:
            return self._parser.finish()
        except PartialJSONError:
            return UNCHANGED


class _QuietParser(PartialJSONParser):
    """A parser whose feed never raises: on text that cannot be JSON it returns UNCHANGED,
    then and for every later delta."""

    __slots__ = ()

    def _feed(self, delta: str, pos: int, changed: bool) -> Any:
        # (The short path never raises: only the general one is wrapped.)
        if self._error is not None:  # not raised again: its traceback would grow
            return UNCHANGED
        try:
            return PartialJSONParser._feed(self, delta, pos, changed)
        except PartialJSONError:
            return UNCHANGED


def _wrapped_feed(feed: Callable[[str], Any], delta: str) -> Any:
    value = feed(delta)
    if type(value) is dict:
        return value[WRAPPER_KEY] if WRAPPER_KEY in value else UNCHANGED
    return value


class _Check(typing.Protocol):
    def __call__(self, value: Any, json_text: str) -> Any: ...


def output_schema(target: Any) -> OutputSchema:
    """Describe `target` (a type, or a JSON schema as a dict) as an OutputSchema.

    Raises TypeError naming the problem for anything else, or for a type pydantic cannot
    describe in JSON schema.
    """
    if isinstance(target, OutputSchema):
        return target
    if type(target) is dict:
        return _from_json_schema_cached(_SchemaKey(target))
    if isinstance(target, Mapping):
        return _from_json_schema(target)
    if target is None or isinstance(target, (str, bytes, int, float, list, tuple)):
        raise TypeError(
            "response_format must be a type (a pydantic model, a dataclass, a TypedDict, "
            f"list[...]) or a JSON schema dict, got {type(target).__name__} {target!r}")
    try:
        return _from_type_cached(target)
    except TypeError as exc:  # unhashable (Annotated with a dict in it, say): not cached
        if "unhashable" not in str(exc):
            raise
        return _from_type(target)


# Building pydantic's validator for a type costs milliseconds: a run asked for the same
# type as the last one reuses it (an OutputSchema is never modified once made).
@functools.lru_cache(maxsize=256)
def _from_type_cached(target: Any) -> OutputSchema:
    return _from_type(target)


class _SchemaKey:
    """A JSON schema (a dict) as a cache key: by its repr, which for the JSON values a
    schema holds tells exactly what it says (a tuple from a list, 1 from 1.0 and True)."""

    __slots__ = ("schema", "text", "hash")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.text = repr(schema)
        self.hash = hash(self.text)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        return type(other) is _SchemaKey and other.text == self.text


# Reading a schema (checker, compiled check, strict variant) costs thousands of opcodes,
# and a typed run is often asked for the same dict each time (or, served, an equal one
# parsed from each request): an equal schema gets the same OutputSchema, made from a
# copy of its own so that no caller's dict, changed later, changes it.
@functools.lru_cache(maxsize=256)
def _from_json_schema_cached(key: _SchemaKey) -> OutputSchema:
    import copy

    schema, key.schema = key.schema, {}  # (the key kept in the cache holds its text only)
    try:
        schema = copy.deepcopy(schema)
    except Exception:  # noqa: BLE001 - not copyable: then not JSON either, refused below
        pass
    return _from_json_schema(schema)


def _from_json_schema(schema: Mapping[str, Any]) -> OutputSchema:
    checker = SchemaChecker(schema)  # refuses what it could not check, before any call

    def check(value: Any, json_text: str) -> Any:
        problems = checker.problems(value)
        if problems:
            raise OutputValidationError(problems)
        return value

    title = schema.get("title")
    name = _safe_name(title) if isinstance(title, str) else _DEFAULT_NAME
    return OutputSchema(schema, name, json.loads(json.dumps(schema)), check)


def _from_type(target: Any) -> OutputSchema:
    from pydantic import TypeAdapter

    try:
        adapter: TypeAdapter[Any] = TypeAdapter(_pydantic_ready(target))
        raw = adapter.json_schema()
    except Exception as exc:  # pydantic raises several kinds; all mean "not describable"
        raise TypeError(f"response_format {_shown(target)} cannot be described as a JSON "
                        f"schema ({type(exc).__name__}: {exc})") from exc

    def check(value: Any, json_text: str) -> Any:
        from pydantic import ValidationError

        try:
            return adapter.validate_json(json_text)
        except ValidationError as exc:
            raise OutputValidationError(_pydantic_problems(exc)) from None
        except RecursionError:
            raise OutputValidationError(
                [Problem("$", "the value is nested too deeply")]) from None
        except Exception as exc:
            # A validator or __post_init__ of the user's type that raises something else
            # (pydantic passes those through): still this answer's failure, to repair or
            # report, never the run's crash.
            raise OutputValidationError(
                [Problem("$", f"{type(exc).__name__}: {exc}")]) from exc

    return OutputSchema(target, _safe_name(_type_name(target)), _tidy(raw), check)


def _pydantic_ready(target: Any) -> Any:
    """`target` with each `typing.TypedDict` in it remade as a `typing_extensions` one:
    before Python 3.12 pydantic refuses typing's own (its required keys cannot be read
    reliably there), and on 3.11 it is the one users write."""
    if sys.version_info >= (3, 12):
        return target
    if typing.is_typeddict(target) and type(target).__module__ == "typing":
        import typing_extensions

        # The hints, not __required_keys__: with `from __future__ import annotations`,
        # 3.11's typing cannot see a NotRequired written in a string.
        hints = typing.get_type_hints(target, include_extras=True)
        fields = {}
        for name, hint in hints.items():
            marker = typing.get_origin(hint)
            if marker is typing.NotRequired or marker is typing.Required:
                hint = typing.get_args(hint)[0]
            else:
                marker = typing.Required if target.__total__ else typing.NotRequired
            wrap = typing_extensions.Required if marker is typing.Required \
                else typing_extensions.NotRequired
            fields[name] = wrap[_pydantic_ready(hint)]
        remade: Any = typing_extensions.TypedDict(target.__name__, fields)  # type: ignore[misc]
        remade.__doc__ = target.__doc__
        remade.__module__ = target.__module__
        return remade
    origin, arguments = typing.get_origin(target), typing.get_args(target)
    if origin is None or not arguments:
        return target
    ready = tuple(_pydantic_ready(argument) for argument in arguments)
    if ready == arguments:
        return target
    if origin is types.UnionType:
        return typing.Union[ready]  # noqa: UP007 - X | Y cannot be built from a tuple
    if origin is typing.Annotated:
        return typing.Annotated[ready]
    return origin[ready]


def _tidy(raw: dict[str, Any]) -> dict[str, Any]:
    """The schema tools already show providers (titles dropped, definitions inlined),
    for any root; tidy_schema itself assumes an object root."""
    from ..tools.schema import tidy_schema

    if raw.get("type") == "object":
        return tidy_schema(raw)
    definitions = {key: raw[key] for key in ("$defs",) if key in raw}
    bare = {key: value for key, value in raw.items() if key != "$defs"}
    holder = tidy_schema({"type": "object", "properties": {"v": bare}, **definitions})
    tidied: dict[str, Any] = holder["properties"]["v"]
    if "$defs" in holder:  # recursive definitions stay, beside the root that uses them
        tidied = {**tidied, "$defs": holder["$defs"]}
    return tidied


def _pydantic_problems(error: ValidationError) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        path = "$"
        for part in item.get("loc", ()):
            if isinstance(part, int):
                path += f"[{part}]"
            elif isinstance(part, str) and part.isidentifier():
                path += f".{part}"
            else:
                path += f"[{json.dumps(part)}]"
        message = str(item.get("msg", "invalid"))
        if item.get("type") not in ("missing", "extra_forbidden", "json_invalid"):
            message += f" (got {brief_json(item.get('input'))})"
        problems.append(Problem(path, message))
    return problems


def _starts(schema: Mapping[str, Any]) -> str:
    """The characters an answer of this schema can start with (for finding it in prose)."""
    kinds = schema.get("type")
    names = kinds if isinstance(kinds, list) else [kinds] if isinstance(kinds, str) else []
    found = "".join(_STARTS.get(name, "") for name in names)
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key) or []:
            if isinstance(branch, Mapping):
                found += _starts(branch) or "{["
    if "properties" in schema and not kinds:
        found += "{"
    return found or "{["


def _may_be_scalar(schema: Mapping[str, Any]) -> bool:
    """Whether an answer of this schema may be a number, boolean or null."""
    kinds = schema.get("type")
    names = kinds if isinstance(kinds, list) else [kinds] if isinstance(kinds, str) else []
    if any(name in ("integer", "number", "boolean", "null") for name in names):
        return True
    return any(isinstance(branch, Mapping) and _may_be_scalar(branch)
               for key in ("anyOf", "oneOf") for branch in schema.get(key) or [])


def _type_name(target: Any) -> str:
    origin = typing.get_origin(target)
    if origin is types.UnionType or origin is typing.Union:
        return "_or_".join(_type_name(argument) for argument in typing.get_args(target))
    if origin is not None:
        arguments = "_".join(_type_name(argument) for argument in typing.get_args(target))
        return f"{_type_name(origin)}_{arguments}" if arguments else _type_name(origin)
    return str(getattr(target, "__name__", None) or target)


def _safe_name(name: str) -> str:
    return _NAME_UNSAFE.sub("_", name).strip("_")[:64] or _DEFAULT_NAME


def _shown(target: Any) -> str:
    return str(getattr(target, "__name__", None) or repr(target))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)

