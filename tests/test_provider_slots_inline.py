"""A whole call takes a free connection slot and gives it back inline (`Slots.take` and
`Slots.give`'s first steps, in `HttpTransport.post_json`); any call that must wait goes
through `Slots.take`. Held to the general path: however many calls run at once over a
pool of any size, against a real server on 127.0.0.1, every call is answered (or, cancelled
while it waited, holds no slot), and every slot is free again after, none left waiting."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wire_server import WireServer

from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role

WIRE = Path(__file__).parent / "fixtures" / "wire"
ASK = [Message(Role.USER, "What is the weather in Paris?")]


@settings(max_examples=15, deadline=None)
@given(pool=st.integers(1, 4), calls=st.integers(1, 10), cancelled=st.integers(0, 2))
def test_calls_over_a_small_pool_all_end_and_give_every_slot_back(
        pool: int, calls: int, cancelled: int) -> None:
    with WireServer() as server:
        for _ in range(calls):
            server.reply_file(WIRE / "openai_chat_tool_call_single.json", delay=0.01)

        async def main() -> tuple[list[Any], int, int]:
            provider = OpenAIProvider(api_key="sk-test", base_url=server.url + "/v1",
                                      model="gpt-4o", timeout=5.0, max_retries=0)
            provider._transport.pool_size = pool
            try:
                tasks = [asyncio.create_task(provider.acomplete(
                    model="", system_prompt="", messages=ASK)) for _ in range(calls)]
                await asyncio.sleep(0)
                # Some of the calls still waiting for a slot are cancelled there.
                for task in tasks[len(tasks) - min(cancelled, max(0, calls - pool)):]:
                    task.cancel()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                slots = provider._transport._slots[asyncio.get_running_loop()]
                return results, slots.free, len(slots.waiting)
            finally:
                await provider.aclose()

        results, free, waiting = asyncio.run(main())
    answered = [r for r in results if not isinstance(r, BaseException)]
    assert all(isinstance(r, asyncio.CancelledError) for r in results
               if isinstance(r, BaseException))
    assert len(answered) >= calls - cancelled
    assert (free, waiting) == (pool, 0)
    # (the server saw only the calls that got a slot: at most `pool` at once)
    assert len(server.requests) == len(answered)
