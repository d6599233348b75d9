"""`run_timeout` is a hard limit: retries and fallbacks consult the run's deadline.

The servers are real sockets on 127.0.0.1. A silent one accepts connections and never
answers. Bounds are generous (limit + 1 s) so a loaded machine does not make them flaky;
before the deadline was published, a whole run took about 4.3 s (every retry ran) and
8.5 s through a FallbackProvider of two such servers.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from wire_server import WireServer

from selectools import Agent, AgentConfig, AgentResult, RunTimeoutError
from selectools._deadline import RUN_DEADLINE, current_deadline
from selectools.providers.errors import ServerError
from selectools.providers.fallback import (
    AllProvidersFailedError,
    DeadlinePassedError,
    FallbackProvider,
)
from selectools.providers.openai import OpenAIProvider

LIMIT = 1.0
MARGIN = 1.0


class SilentServer:
    """Accepts every connection and never sends a byte; closes them all when stopped."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name="silent")
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(connection)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        for connection in self._held:
            connection.close()
        self._socket.close()


@pytest.fixture
def silent() -> Iterator[tuple[SilentServer, SilentServer]]:
    first, second = SilentServer(), SilentServer()
    yield first, second
    first.stop()
    second.stop()


async def timed_run(agent: Agent, *, streamed: bool) -> tuple[float, BaseException | None]:
    started = time.monotonic()
    try:
        if streamed:
            async for _ in agent.astream("hello?"):
                pass
        else:
            await agent.arun("hello?")
    except Exception as exc:
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


def openai(url: str, **options: Any) -> OpenAIProvider:
    return OpenAIProvider(base_url=url, model="m", **options)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("through", ["provider", "fallback"])
async def test_a_run_against_servers_that_never_answer_ends_at_its_limit(
        silent: tuple[SilentServer, SilentServer], streamed: bool, through: str) -> None:
    first, second = openai(silent[0].url), openai(silent[1].url)  # default retries
    provider: Any = first if through == "provider" else FallbackProvider([first, second])
    agent = Agent(provider=provider, config=AgentConfig(run_timeout=LIMIT))
    try:
        # Twice: on a warm loop the provider's own timeout (capped at the time left) fires
        # with the run's, and used to swallow the run's cancellation.
        for _ in range(2):
            elapsed, error = await timed_run(agent, streamed=streamed)
            assert isinstance(error, RunTimeoutError), error
            assert elapsed < LIMIT + MARGIN, f"the run took {elapsed:.2f} s"
    finally:
        await first.aclose()
        await second.aclose()


async def test_no_retry_wait_past_the_deadline_so_the_fallback_answers_in_time(
        wire_server: WireServer) -> None:
    # The primary asks for a 5 s wait before a retry: within a 1.5 s run, waiting is
    # hopeless, so its error is raised at once and the backup answers.
    with WireServer() as backup_server:
        wire_server.reply(503, {"error": {"message": "busy", "type": "server_error"}},
                          headers={"retry-after": "5"})
        backup_server.reply(body={"id": "x", "object": "chat.completion", "model": "m",
                                  "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                      "role": "assistant", "content": "from the backup"}}]})
        primary, backup = openai(wire_server.url), openai(backup_server.url)
        agent = Agent(provider=FallbackProvider([primary, backup]),
                      config=AgentConfig(run_timeout=1.5))
        try:
            started = time.monotonic()
            result = await agent.arun("hello?")
            elapsed = time.monotonic() - started
        finally:
            await primary.aclose()
            await backup.aclose()
    assert isinstance(result, AgentResult) and result.content == "from the backup"
    assert elapsed < 1.5
    assert len(wire_server.requests) == 1  # no retry of the primary


async def test_without_a_fallback_the_retry_it_cannot_wait_for_raises_its_error(
        wire_server: WireServer) -> None:
    wire_server.reply(503, {"error": {"message": "busy", "type": "server_error"}},
                      headers={"retry-after": "5"})
    provider = openai(wire_server.url)
    agent = Agent(provider=provider, config=AgentConfig(run_timeout=1.5))
    try:
        elapsed, error = await timed_run(agent, streamed=False)
    finally:
        await provider.aclose()
    assert isinstance(error, ServerError) and elapsed < 1.5
    assert len(wire_server.requests) == 1


async def test_fallback_lists_the_providers_the_deadline_left_untried() -> None:
    class Failing:
        name = "failing"

        async def acomplete(self, **kwargs: Any) -> Any:
            await asyncio.sleep(0.05)
            raise ConnectionError("down")

    class NeverCalled:
        name = "never"
        calls = 0

        async def acomplete(self, **kwargs: Any) -> Any:
            NeverCalled.calls += 1
            raise AssertionError("started after the deadline")

    fallback = FallbackProvider([Failing(), NeverCalled()])  # type: ignore[list-item]
    published = RUN_DEADLINE.set(time.monotonic() + 0.01)  # what a run does while it waits
    try:
        with pytest.raises(AllProvidersFailedError) as caught:
            await fallback.acomplete(model="m", messages=[])
    finally:
        RUN_DEADLINE.reset(published)
    assert NeverCalled.calls == 0
    assert [name for name, _ in caught.value.failures] == ["failing", "never"]
    assert isinstance(caught.value.failures[1][1], DeadlinePassedError)
    assert isinstance(caught.value.__cause__, ConnectionError)  # the real failure
    assert current_deadline() is None
