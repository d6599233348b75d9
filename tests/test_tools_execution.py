"""Running tools: sync in a thread, async on the loop, timeouts, context, result text."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import datetime
import enum
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pydantic import BaseModel

from selectools.tools import Tool, ToolArgumentError, ToolTimeoutError, result_to_text, tool

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


class Reading(BaseModel):
    city: str
    celsius: float


@dataclasses.dataclass
class Pair:
    left: int
    right: str


class Level(enum.Enum):
    HIGH = "high"


async def test_sync_tool_runs_off_the_event_loop_thread() -> None:
    loop_thread = threading.get_ident()

    @tool
    def where() -> bool:
        return threading.get_ident() != loop_thread

    assert await where.aexecute({}) == "true"


async def test_sync_tool_uses_the_given_executor() -> None:
    @tool
    def name() -> str:
        return threading.current_thread().name

    with ThreadPoolExecutor(thread_name_prefix="tools-pool") as pool:
        assert (await name.aexecute({}, executor=pool)).startswith("tools-pool")


async def test_contextvar_is_visible_inside_a_sync_tool() -> None:
    @tool
    def whoami() -> str:
        return request_id.get()

    request_id.set("req-42")
    assert await whoami.aexecute({}) == "req-42"
    assert await whoami.aexecute({}, timeout=5) == "req-42"


async def test_contextvar_is_visible_inside_an_async_tool() -> None:
    @tool
    async def whoami() -> str:
        return request_id.get()

    request_id.set("req-7")
    assert await whoami.aexecute({}) == "req-7"
    assert await whoami.aexecute({}, timeout=5) == "req-7"


async def test_async_tool_is_cancelled_on_timeout() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    @tool
    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "finished"

    with pytest.raises(ToolTimeoutError) as info:
        await slow.aexecute({}, timeout=0.05)
    assert started.is_set() and cancelled.is_set()
    assert info.value.tool_name == "slow" and info.value.timeout == 0.05
    assert str(info.value) == "tool 'slow' timed out after 0.05 s"
    assert isinstance(info.value, TimeoutError)


async def test_sync_tool_timeout_returns_while_the_thread_is_still_running() -> None:
    release, finished = threading.Event(), threading.Event()

    @tool
    def stuck() -> str:
        release.wait(timeout=30)
        finished.set()
        return "late"

    try:
        with pytest.raises(ToolTimeoutError, match="'stuck' timed out after 0.05 s"):
            await stuck.aexecute({}, timeout=0.05)
        # We got the error while the abandoned thread is still blocked.
        assert not finished.is_set()
    finally:
        release.set()
    await asyncio.to_thread(finished.wait, 5)
    assert finished.is_set()


async def test_a_timeout_error_raised_by_the_tool_itself_is_not_ours() -> None:
    @tool
    async def grumpy() -> str:
        raise TimeoutError("upstream API timed out")

    with pytest.raises(TimeoutError, match="upstream") as info:
        await grumpy.aexecute({}, timeout=5)
    assert not isinstance(info.value, ToolTimeoutError)


@pytest.mark.parametrize("timeout", [0, -1.0])
async def test_timeout_must_be_positive(timeout: float) -> None:
    @tool
    def f() -> str:
        return ""

    with pytest.raises(ValueError, match="timeout must be a positive"):
        await f.aexecute({}, timeout=timeout)


@pytest.mark.parametrize("is_async", [False, True])
async def test_the_tools_own_exception_propagates_unchanged(is_async: bool) -> None:
    class Boom(RuntimeError):
        pass

    def fail(x: int) -> str:
        raise Boom(f"bad {x}")

    async def afail(x: int) -> str:
        raise Boom(f"bad {x}")

    t = tool(afail if is_async else fail)
    with pytest.raises(Boom, match="bad 3"):
        await t.aexecute({"x": "3"}, timeout=5 if is_async else None)


async def test_invalid_arguments_raise_before_the_function_runs() -> None:
    calls: list[int] = []

    @tool
    def record(n: int) -> str:
        calls.append(n)
        return ""

    with pytest.raises(ToolArgumentError):
        await record.aexecute({"n": "many"})
    assert calls == []


async def test_arguments_are_passed_coerced() -> None:
    seen: list[Any] = []

    @tool
    def take(n: int, pair: Pair) -> str:
        seen.extend([n, pair])
        return "ok"

    assert await take.aexecute({"n": "4", "pair": {"left": "1", "right": 2}}) == "ok"
    assert seen == [4, Pair(1, "2")]


async def test_sync_callable_returning_a_coroutine_is_awaited() -> None:
    async def inner(x: int) -> str:
        return f"x={x}"

    def outer(x: int) -> Any:
        return inner(x)

    assert await tool(outer).aexecute({"x": 2}) == "x=2"


async def test_tool_built_from_a_callable_object() -> None:
    class Counter:
        def __call__(self, step: int = 1) -> int:
            return step * 2

    t = Tool(name="counter", description="Count", function=Counter())
    assert t.parameters_schema["properties"] == {"step": {"type": "integer", "default": 1}}
    assert await t.aexecute({"step": "3"}) == "6"


@pytest.mark.parametrize("value, text", [
    ("plain text", "plain text"),
    ("", ""),
    ({"a": 1, "ü": "ö"}, '{"a": 1, "ü": "ö"}'),
    ([1, "two", None], '[1, "two", null]'),
    (Pair(1, "x"), '{"left": 1, "right": "x"}'),
    (Reading(city="Zürich", celsius=21.5), '{"city": "Zürich", "celsius": 21.5}'),
    ([Reading(city="A", celsius=1)], '[{"city": "A", "celsius": 1.0}]'),
    (42, "42"),
    (2.5, "2.5"),
    (True, "true"),
    (None, "null"),
    (Level.HIGH, '"high"'),
    (datetime.date(2024, 5, 1), '"2024-05-01"'),
    ({"when": datetime.datetime(2024, 5, 1, 12, 0)}, '{"when": "2024-05-01T12:00:00"}'),
    (frozenset({1}), "[1]"),
    (object, f'"{object}"'),
])
def test_return_values_become_text(value: Any, text: str) -> None:
    assert result_to_text(value) == text


async def test_execute_normalises_the_return_value() -> None:
    @tool
    async def reading(city: str) -> Reading:
        return Reading(city=city, celsius=3)

    assert await reading.aexecute({"city": "Oslo"}) == '{"city": "Oslo", "celsius": 3.0}'


async def test_many_sync_tools_run_concurrently_with_their_own_context() -> None:
    barrier = threading.Barrier(3, timeout=10)

    @tool
    def meet(tag: str) -> str:
        barrier.wait()  # only passes if all three run at once
        return f"{tag}:{request_id.get()}"

    async def call(tag: str) -> str:
        request_id.set(tag)
        return await meet.aexecute({"tag": tag}, timeout=10)

    results = await asyncio.gather(call("a"), call("b"), call("c"))
    assert results == ["a:a", "b:b", "c:c"]


def test_execute_runs_a_tool_from_sync_code_and_aexecute_from_async() -> None:
    @tool(description="Add")
    def add(a: int, b: int) -> int:
        return a + b

    @tool(description="Greet, async")
    async def greet(name: str) -> str:
        return f"hello {name}"

    assert add.execute({"a": 2, "b": "3"}) == "5"
    assert greet.execute({"name": "ada"}) == "hello ada"
    assert asyncio.run(greet.aexecute({"name": "bob"})) == "hello bob"
    with pytest.raises(ToolArgumentError):
        add.execute({"a": "x", "b": 1})


def test_bytes_in_a_result_reach_the_model_as_base64_json() -> None:
    assert json.loads(result_to_text({"name": "x", "data": b"\xff\x00"})) == {
        "name": "x", "data": "_wA="}
