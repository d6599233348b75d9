"""FallbackProvider's rules and its circuit breaker, with an injected clock.

The providers behind it here are small in-process providers that answer or raise as told;
the same rules are exercised over real HTTP against a fault-injecting server in
test_faults.py.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from selectools.providers.base import ProviderEvent
from selectools.providers.errors import (
    AuthenticationError,
    ContextLengthError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StreamError,
)
from selectools.providers.fallback import (
    AllProvidersFailedError,
    CircuitBreaker,
    FallbackProvider,
    fails_over,
)
from selectools.providers.llamacpp import LocalModelError
from selectools.types import Message, Role, ToolCall
from selectools.usage import UsageStats

HI = [Message(role=Role.USER, content="hi")]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Scripted:
    """A duck-typed streaming provider: each call takes the next script entry, a list of
    items to yield where an exception instance is raised at that point."""

    supports_streaming = True

    def __init__(self, name: str, *scripts: list[Any], usage: bool = True) -> None:
        self.name = name
        self.default_model = f"{name}-model"
        self.scripts = list(scripts)
        self.calls: list[dict[str, Any]] = []
        self.usage = usage

    async def astream(self, **kwargs: Any) -> AsyncIterator[Any]:
        self.calls.append(kwargs)
        script = self.scripts.pop(0) if self.scripts else [f"{self.name} answer"]
        for item in script:
            if isinstance(item, BaseException):
                raise item
            yield item
        if self.usage:
            yield UsageStats(3, 4, model=kwargs["model"], provider=self.name)


async def drain(provider: FallbackProvider, **kwargs: Any) -> list[Any]:
    return [item async for item in provider.astream(messages=HI, system_prompt="", **kwargs)]


# -- the circuit breaker -----------------------------------------------------------------------


def test_breaker_opens_after_threshold_consecutive_failures() -> None:
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=Clock())
    for _ in range(2):
        assert breaker.try_acquire()
        breaker.record_failure()
    assert breaker.state == "closed"
    assert breaker.try_acquire()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.try_acquire()


def test_success_resets_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker(threshold=2, cooldown=10, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_one_probe_after_cooldown_then_closed_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    clock.now += 9.9
    assert not breaker.try_acquire()
    assert breaker.seconds_until_probe() == pytest.approx(0.1)
    clock.now += 0.1
    assert breaker.try_acquire()  # the probe
    assert breaker.state == "half_open"
    assert not breaker.try_acquire()  # everyone else waits for its verdict
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.try_acquire() and breaker.try_acquire()


def test_failed_probe_opens_for_a_whole_new_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=10, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now += 10
    assert breaker.try_acquire()
    clock.now += 5
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 9
    assert not breaker.try_acquire()
    clock.now += 1
    assert breaker.try_acquire()


def test_released_probe_lets_the_next_call_probe() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=1, cooldown=0, clock=clock)
    breaker.record_failure()
    assert breaker.try_acquire()
    breaker.release()  # e.g. the probing call was cancelled
    assert breaker.state == "open"
    assert breaker.try_acquire()


def test_breaker_shared_by_threads_lets_exactly_one_probe_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=5, cooldown=1, clock=clock)
    start = threading.Barrier(16)

    def fail_many() -> None:
        start.wait()
        for _ in range(500):
            breaker.record_failure()

    threads = [threading.Thread(target=fail_many) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.consecutive_failures == 16 * 500  # no increment lost
    assert breaker.state == "open"

    clock.now += 1
    granted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def try_once() -> None:
        start.wait()
        ok = breaker.try_acquire()
        with lock:
            granted.append(ok)

    threads = [threading.Thread(target=try_once) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 1


def test_breaker_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="circuit_breaker_threshold"):
        CircuitBreaker(threshold=0)
    with pytest.raises(ValueError, match="circuit_breaker_cooldown"):
        CircuitBreaker(cooldown=-1)


# -- which errors move on ------------------------------------------------------------------------


@pytest.mark.parametrize("error", [
    RateLimitError("slow down", status=429), ServerError("boom", status=500),
    OverloadedError("busy", status=529), ProviderTimeoutError("late"),
    ProviderConnectionError("reset"), StreamError("bad event"),
    AuthenticationError("key revoked", status=401), PermissionDeniedError("no", status=403),
    NotFoundError("no such model here", status=404),
    ConnectionResetError("duck-typed provider lost its socket"),
    TimeoutError("duck-typed provider timed out"),
])
async def test_fails_over_on_errors_another_provider_could_cure(error: Exception) -> None:
    primary, backup = Scripted("primary", [error]), Scripted("backup")
    fallback = FallbackProvider([primary, backup])
    items = await drain(fallback)
    assert items[0] == "backup answer"
    assert items[-1].provider == "backup"
    assert fallback.provider_used == "backup"


@pytest.mark.parametrize("error", [
    InvalidRequestError("bad", status=400), ContextLengthError("too long", status=400),
])
async def test_request_errors_are_raised_without_trying_the_next(error: Exception) -> None:
    primary, backup = Scripted("primary", [error]), Scripted("backup")
    fallback = FallbackProvider([primary, backup])
    with pytest.raises(type(error)) as raised:
        await drain(fallback)
    assert raised.value is error
    assert backup.calls == []
    assert fallback.breakers[0].consecutive_failures == 0  # not the provider's fault


async def test_messages_never_decide_only_classes_do() -> None:
    # Words that a string-matching fallback would take for a rate limit or an outage.
    error = InvalidRequestError("rate limit exceeded; server overloaded; timeout", status=400)
    fallback = FallbackProvider([Scripted("primary", [error]), Scripted("backup")])
    with pytest.raises(InvalidRequestError):
        await drain(fallback)


async def test_bugs_in_a_custom_provider_are_not_hidden_behind_the_next() -> None:
    fallback = FallbackProvider([Scripted("primary", [KeyError("oops")]), Scripted("backup")])
    with pytest.raises(KeyError):
        await drain(fallback)


async def test_fail_over_on_replaces_the_rule() -> None:
    error = ContextLengthError("too long", status=400)
    longer_context = FallbackProvider(
        [Scripted("primary", [error]), Scripted("backup")],
        fail_over_on=lambda e: fails_over(e) or isinstance(e, ContextLengthError))
    assert (await drain(longer_context))[0] == "backup answer"

    only_rate_limits = FallbackProvider([Scripted("p", [ServerError("x", status=500)]),
                                         Scripted("b")], fail_over_on=[RateLimitError])
    with pytest.raises(ServerError):
        await drain(only_rate_limits)
    one_class = FallbackProvider([Scripted("p", [ServerError("x", status=500)]),
                                  Scripted("b")], fail_over_on=ServerError)
    assert (await drain(one_class))[0] == "b answer"


def test_the_default_rule_is_what_each_error_says() -> None:
    assert fails_over(LocalModelError("no model file"))  # a ProviderError of another module
    assert fails_over(ConnectionResetError()) and fails_over(TimeoutError())
    assert not fails_over(ContextLengthError("too long", status=400))
    assert not fails_over(KeyError("a bug"))
    assert not fails_over(asyncio.CancelledError()) and not fails_over(KeyboardInterrupt())


async def test_a_custom_rule_never_moves_on_from_a_cancellation() -> None:
    fallback = FallbackProvider([Scripted("p", [asyncio.CancelledError()]), Scripted("b")],
                                fail_over_on=lambda e: True)
    with pytest.raises(asyncio.CancelledError):
        await drain(fallback)


async def test_classes_may_come_in_any_collection() -> None:
    for rule in ({ServerError}, frozenset({ServerError}), (c for c in [ServerError]),
                 RateLimitError | ServerError):
        fallback = FallbackProvider([Scripted("p", [ServerError("x", status=500)]),
                                     Scripted("b")], fail_over_on=rule)
        assert (await drain(fallback))[0] == "b answer"


async def test_a_rule_that_raises_surfaces_and_leaves_the_breaker_usable() -> None:
    clock = Clock()
    primary = Scripted("primary", [ServerError("x", status=500)], [TimeoutError()], ["back"])
    fallback = FallbackProvider(
        [primary, Scripted("backup")], circuit_breaker_threshold=1, clock=clock,
        fail_over_on=lambda e: e.status >= 500)  # a TimeoutError has no status
    assert (await drain(fallback))[0] == "backup answer"
    assert fallback.breakers[0].state == "open"
    clock.now += 60  # the next call probes the primary, and the rule fails on its error
    with pytest.raises(AttributeError, match="status"):
        await drain(fallback)
    assert fallback.breakers[0].state == "open"  # no verdict, but not stuck half-open
    clock.now += 60
    assert (await drain(fallback))[0] == "back"
    assert fallback.breakers[0].state == "closed"


async def is_transient(error: BaseException) -> bool:
    return True


@pytest.mark.parametrize("rule", ["ServerError", [ServerError, "x"], 42, is_transient])
def test_a_bad_fail_over_rule_is_refused_up_front(rule: Any) -> None:
    with pytest.raises(TypeError, match="fail_over_on"):
        FallbackProvider([Scripted("p")], fail_over_on=rule)


# -- streams -----------------------------------------------------------------------------------


async def test_midstream_failure_restarts_on_next_with_a_discard_event() -> None:
    cut = ProviderConnectionError("cut mid-answer")
    primary = Scripted("primary", ["Hel", "lo wor", cut])
    backup = Scripted("backup", ["Hello", " world"])
    seen: list[tuple[str, str, BaseException]] = []
    fallback = FallbackProvider([primary, backup], on_fallback=lambda *a: seen.append(a))
    items = await drain(fallback)

    assert items[:2] == ["Hel", "lo wor"]
    event = items[2]
    assert isinstance(event, ProviderEvent) and event.discard_partial
    assert event.name == "fallback"
    assert event.data["failed_provider"] == "primary"
    assert event.data["next_provider"] == "backup"
    assert items[3:5] == ["Hello", " world"]
    usages = [i for i in items if isinstance(i, UsageStats)]
    assert len(usages) == 1 and usages[0].provider == "backup"  # primary's usage held back
    assert seen == [("primary", "backup", cut)]


async def test_midstream_failure_raises_when_asked_to() -> None:
    cut = ProviderConnectionError("cut mid-answer")
    backup = Scripted("backup")
    fallback = FallbackProvider([Scripted("primary", ["Hel", cut]), backup],
                                on_midstream_error="raise")
    items: list[Any] = []
    with pytest.raises(ProviderConnectionError):
        async for item in fallback.astream(messages=HI, system_prompt=""):
            items.append(item)
    assert items == ["Hel"]
    assert backup.calls == []
    assert fallback.breakers[0].consecutive_failures == 1


async def test_error_before_first_item_moves_on_silently() -> None:
    primary = Scripted("primary", [UsageStats(1, 1), ServerError("x", status=500)])
    items = await drain(FallbackProvider([primary, Scripted("backup")]))
    assert not any(isinstance(i, ProviderEvent) for i in items)
    assert items == ["backup answer", UsageStats(3, 4, model="backup-model", provider="backup")]


async def test_tool_calls_pass_through_and_zero_usage_names_a_silent_provider() -> None:
    call = ToolCall("get_weather", {"city": "Paris"}, id="c1")
    quiet = Scripted("quiet", [call], usage=False)
    items = await drain(FallbackProvider([quiet]), model="")
    assert items == [call, UsageStats(model="quiet-model", provider="quiet")]


async def test_success_is_recorded_only_when_the_stream_finished() -> None:
    breaker_clock = Clock()
    primary = Scripted("primary", ["a", "b"])
    fallback = FallbackProvider([primary], circuit_breaker_threshold=1, clock=breaker_clock)
    fallback.breakers[0].record_failure()
    breaker_clock.now += 60
    stream = fallback.astream(messages=HI, system_prompt="")
    assert await stream.__anext__() == "a"
    assert fallback.breakers[0].state == "half_open"  # still probing, not yet a success
    await stream.aclose()  # the consumer went away: no verdict
    assert fallback.breakers[0].state == "open"
    assert fallback.provider_used is None


async def test_each_provider_uses_its_own_default_model_unless_one_is_named() -> None:
    primary, backup = Scripted("primary", [ServerError("x", status=500)]), Scripted("backup")
    await drain(FallbackProvider([primary, backup]), model=None)
    assert primary.calls[0]["model"] == "primary-model"
    assert backup.calls[0]["model"] == "backup-model"
    await drain(FallbackProvider([backup]), model="chosen")
    assert backup.calls[-1]["model"] == "chosen"


# -- everyone failed ---------------------------------------------------------------------------


async def test_all_failed_names_every_provider_and_keeps_the_last_cause() -> None:
    first, last = RateLimitError("slow down", status=429), ServerError("boom", status=500)
    fallback = FallbackProvider([Scripted("primary", [first]), Scripted("backup", [last])])
    with pytest.raises(AllProvidersFailedError) as raised:
        await drain(fallback)
    error = raised.value
    assert error.failures == [("primary", first), ("backup", last)]
    assert error.__cause__ is last
    assert "primary" in str(error) and "RateLimitError" in str(error)
    assert "backup" in str(error) and "ServerError" in str(error)


async def test_open_circuits_are_skipped_and_named_in_the_error() -> None:
    clock = Clock()
    primary = Scripted("primary", *[[ServerError("x", status=500)]] * 5)
    backup = Scripted("backup", *[[ServerError("y", status=503)]] * 5)
    fallback = FallbackProvider([primary, backup], circuit_breaker_threshold=2,
                                circuit_breaker_cooldown=30, clock=clock)
    for _ in range(2):
        with pytest.raises(AllProvidersFailedError):
            await drain(fallback)
    assert [b.state for b in fallback.breakers] == ["open", "open"]
    with pytest.raises(AllProvidersFailedError, match="circuit open") as raised:
        await drain(fallback)
    assert len(primary.calls) == len(backup.calls) == 2  # neither was called again
    assert isinstance(raised.value.__cause__, Exception)

    clock.now += 30
    primary.scripts = [["recovered"]]
    assert (await drain(fallback))[0] == "recovered"  # the probe succeeded
    assert fallback.breakers[0].state == "closed"


async def test_breakers_belong_to_instances_not_names() -> None:
    twin_a = Scripted("openai", *[[ServerError("x", status=500)]] * 3)
    twin_b = Scripted("openai")
    fallback = FallbackProvider([twin_a, twin_b], circuit_breaker_threshold=1, clock=Clock())
    assert (await drain(fallback))[0] == "openai answer"
    assert [b.state for b in fallback.breakers] == ["open", "closed"]


# -- the provider protocol and options -----------------------------------------------------------


async def test_acomplete_fails_over_and_reports_usage() -> None:
    fallback = FallbackProvider([Scripted("primary", [ServerError("x", status=500)]),
                                 Scripted("backup")])
    message, usage = await fallback.acomplete(messages=HI, system_prompt="")
    assert message.content == "backup answer"
    assert usage.provider == "backup"


def test_sync_methods_work_from_plain_code() -> None:
    fallback = FallbackProvider([Scripted("primary", [OverloadedError("busy", status=529)],
                                          [ServerError("x", status=500)]),
                                 Scripted("backup")])
    items = list(fallback.stream(messages=HI, system_prompt=""))
    assert items[0] == "backup answer"
    message, usage = fallback.complete(messages=HI, system_prompt="")
    assert message.content == "backup answer" and usage.provider == "backup"


async def test_with_options_passes_retry_settings_down_and_shares_breakers() -> None:
    class Configurable(Scripted):
        def with_options(self, *, max_retries: int | None = None) -> Configurable:
            clone = Configurable(self.name, *self.scripts)
            clone.max_retries = max_retries  # type: ignore[attr-defined]
            return clone

    plain = Scripted("plain")
    fallback = FallbackProvider([Configurable("c"), plain])
    hits: list[tuple[str, str]] = []
    copy = fallback.with_options(max_retries=0, on_retry=print,
                                 on_fallback=lambda a, b, e: hits.append((a, b)))
    assert copy.providers[0].max_retries == 0  # type: ignore[union-attr]  # only what it accepts
    assert copy.providers[1] is plain
    assert copy.breakers == fallback.breakers
    copy.providers[0].scripts = [[ServerError("x", status=500)]]  # type: ignore[union-attr]
    await drain(copy)
    assert hits == [("c", "plain")]
    assert fallback.breakers[0].consecutive_failures == 1
    assert fallback.provider_used == "plain"  # shared with the copy


async def test_async_on_fallback_is_awaited() -> None:
    seen: list[str] = []

    async def note(failed: str, nxt: str, error: BaseException) -> None:
        await asyncio.sleep(0)
        seen.append(f"{failed}->{nxt}")

    fallback = FallbackProvider([Scripted("a", [ServerError("x", status=500)]), Scripted("b")],
                                on_fallback=note)
    await drain(fallback)
    assert seen == ["a->b"]


def test_bad_construction_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="at least one provider"):
        FallbackProvider([])
    with pytest.raises(TypeError, match="list of providers"):
        FallbackProvider("openai")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"providers\[1\].*not a provider"):
        FallbackProvider([Scripted("a"), object()])  # type: ignore[list-item]
    twin = Scripted("a")
    with pytest.raises(ValueError, match="appears twice"):
        FallbackProvider([twin, twin])
    with pytest.raises(ValueError, match="on_midstream_error"):
        FallbackProvider([twin], on_midstream_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fail_over_on"):
        FallbackProvider([twin], fail_over_on=["RateLimitError"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="circuit_breaker_threshold"):
        FallbackProvider([twin], circuit_breaker_threshold=0)


def test_importable_from_the_package_without_loading_http() -> None:
    import subprocess
    import sys

    code = ("import sys, selectools; selectools.FallbackProvider; "
            "assert 'aiohttp' not in sys.modules, 'aiohttp was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert FallbackProvider.name == "fallback" and FallbackProvider.default_model == ""


def test_one_fallback_provider_shared_by_threads_through_the_sync_api() -> None:
    class Down:
        name = "down"
        supports_streaming = True

        def __init__(self) -> None:
            self.calls = 0
            self.lock = threading.Lock()

        async def astream(self, **kwargs: Any) -> AsyncIterator[Any]:
            with self.lock:
                self.calls += 1
            await asyncio.sleep(0)
            raise OverloadedError("busy", status=529)
            yield  # pragma: no cover

    down = Down()
    fallback = FallbackProvider([down, Scripted("backup")], circuit_breaker_threshold=3,
                                circuit_breaker_cooldown=3600, clock=Clock())
    answers: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def use() -> None:
        start.wait()
        for _ in range(10):
            text = "".join(i for i in fallback.stream(messages=HI, system_prompt="")
                           if isinstance(i, str))
            with lock:
                answers.append(text)

    threads = [threading.Thread(target=use) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["backup answer"] * 120
    assert fallback.breakers[0].state == "open"
    # Once open, nobody calls it: only calls that got in while it was closed reached it.
    assert down.calls == fallback.breakers[0].consecutive_failures < 120


async def test_all_failed_names_same_named_providers_by_their_base_url() -> None:
    from wire_server import WireServer

    from selectools.providers.openai import OpenAIProvider

    busy = {"error": {"message": "busy", "type": "server_error"}}
    with WireServer() as first_server, WireServer() as second_server:
        first_server.reply(503, busy)
        second_server.reply(503, busy)
        first = OpenAIProvider(base_url=first_server.url + "/v1", max_retries=0)
        second = OpenAIProvider(base_url=second_server.url + "/v1", max_retries=0)
        moves: list[tuple[str, str]] = []
        chain = FallbackProvider([first, second], on_fallback=lambda f, n, e: moves.append((f, n)))
        try:
            with pytest.raises(AllProvidersFailedError) as caught:
                await chain.acomplete(messages=HI)
        finally:
            await first.aclose()
            await second.aclose()
    labels = [f"openai ({first_server.url}/v1)", f"openai ({second_server.url}/v1)"]
    assert [name for name, _ in caught.value.failures] == labels
    assert all(label in str(caught.value) for label in labels)
    assert moves == [(labels[0], labels[1])]


def test_providers_with_names_of_their_own_keep_them_and_others_get_their_place() -> None:
    chain = FallbackProvider([Scripted("a"), Scripted("b"), Scripted("b")])
    assert [slot.label for slot in chain._slots] == ["a", "b (#2)", "b (#3)"]


async def test_closing_the_chain_closes_every_provider_in_it() -> None:
    """`async with FallbackProvider([...])` closes each provider's connection pool, even
    when one of them fails to close."""
    from wire_server import WireServer

    from selectools.providers.openai import OpenAIProvider

    answer = {"choices": [{"index": 0, "finish_reason": "stop",
                           "message": {"role": "assistant", "content": "hi"}}]}

    class Stubborn(Scripted):
        async def aclose(self) -> None:
            raise RuntimeError("cannot close")

    with WireServer() as one, WireServer() as two:
        one.reply(body=answer)
        two.reply(body=answer)
        first = OpenAIProvider(base_url=one.url, api_key="k", max_retries=0)
        second = OpenAIProvider(base_url=two.url, api_key="k", max_retries=0)
        for provider in (first, second):  # each opens its pool
            await provider.acomplete(model="m", messages=HI, system_prompt="")
        chain = FallbackProvider([first, Stubborn("odd"), second])
        with pytest.raises(RuntimeError, match="cannot close"):
            async with chain:
                pass
        for provider in (first, second):
            assert provider._transport._sessions == {}  # every pool closed
