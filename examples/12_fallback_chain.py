"""A fallback chain: when a provider fails in a way another could fix (overloaded, timed out,
connection lost), the next one answers. Here a duck-typed provider that is always
overloaded comes first, then an offline LocalProvider.

A failure before any text moves on silently; a failure mid-stream restarts the answer on the
next provider, announced by a `fallback` event so a UI can drop the partial text.
"""

import asyncio

from selectools import Agent, AgentConfig, AgentResult, FallbackProvider
from selectools.providers.errors import OverloadedError
from selectools.providers.stubs import LocalProvider


class AlwaysOverloaded:
    """A provider with only `complete`, failing as a busy hosted API does (HTTP 529)."""

    name = "busy-api"

    def complete(self, **request):  # type: ignore[no-untyped-def]
        raise OverloadedError("overloaded, try later", provider=self.name, status=529)


class BreaksMidStream:
    """Streams two words, then the connection drops."""

    name = "flaky-stream"

    async def astream(self, **request):  # type: ignore[no-untyped-def]
        yield "Partial "
        yield "answer "
        raise ConnectionError("connection reset by peer")


def show_fallback(failed: str, next_provider: str, error: BaseException) -> None:
    print(f"[fallback] {failed} failed ({type(error).__name__}); trying {next_provider}")


chain = FallbackProvider([AlwaysOverloaded(), LocalProvider()], on_fallback=show_fallback)
result = Agent(provider=chain).run("hello from the fallback chain")
print(f"answer: {result.content!r}, answered by: {result.provider_used}")

# Mid-stream: the partial text is announced as discarded and the answer restarts.
streaming_chain = FallbackProvider([BreaksMidStream(), LocalProvider()])


async def main() -> None:
    async for item in Agent(provider=streaming_chain, config=AgentConfig()).astream(
            "streamed hello"):
        if isinstance(item, AgentResult):
            print(f"\nfinal: {item.content!r}, answered by: {item.provider_used}")
        elif item.event == "fallback":
            print(f"\n[fallback event] drop the partial text; "
                  f"{item.data['next_provider']} starts over")
        elif item.content:
            print(item.content, end="", flush=True)


asyncio.run(main())
