"""The connection slots a call waits for before its time limit starts (`_http.Slots`):
at most `size` calls hold one, the others get theirs in the order they asked, and a call
cancelled while it waits holds none and blocks nobody, even when it had just been handed
one."""

from __future__ import annotations

import asyncio

import pytest

from selectools.providers._http import Slots


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_free_slots_are_taken_at_once_and_given_back() -> None:
    slots = Slots(2)
    await slots.take()
    await slots.take()
    assert slots.free == 0
    slots.give()
    slots.give()
    assert slots.free == 2


async def test_waiting_calls_get_their_slots_in_the_order_they_asked() -> None:
    slots = Slots(1)
    await slots.take()
    order: list[int] = []

    async def call(number: int) -> None:
        await slots.take()
        order.append(number)

    tasks = [asyncio.create_task(call(number)) for number in range(4)]
    await _settle()
    assert order == [] and slots.free == 0
    for expected in range(4):
        slots.give()
        await _settle()
        assert order == list(range(expected + 1))
    await asyncio.gather(*tasks)
    slots.give()
    assert slots.free == 1


async def test_a_slot_given_back_is_not_taken_by_a_newcomer_ahead_of_a_waiting_call() -> None:
    slots = Slots(1)
    await slots.take()
    waiting = asyncio.create_task(slots.take())
    await _settle()
    slots.give()  # handed to the waiting call, not made free
    assert slots.free == 0
    newcomer = asyncio.create_task(slots.take())
    await _settle()
    assert waiting.done() and not newcomer.done()
    slots.give()
    await asyncio.wait_for(newcomer, 1)


async def test_a_call_cancelled_while_waiting_holds_no_slot_and_blocks_nobody() -> None:
    slots = Slots(1)
    await slots.take()
    cancelled = asyncio.create_task(slots.take())
    await _settle()
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    slots.give()
    assert slots.free == 1
    await asyncio.wait_for(slots.take(), 1)  # free again: taken at once, no hang


async def test_a_call_cancelled_just_after_it_was_handed_a_slot_passes_it_on() -> None:
    slots = Slots(1)
    await slots.take()
    first = asyncio.create_task(slots.take())
    second = asyncio.create_task(slots.take())
    await _settle()
    slots.give()  # handed to `first`, which has not resumed yet...
    first.cancel()  # ...and is cancelled before it does
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)  # the slot went on to the next call
    slots.give()
    assert slots.free == 1


async def test_a_cancelled_waiter_passed_over_by_give_is_not_counted() -> None:
    slots = Slots(1)
    await slots.take()
    gone = asyncio.create_task(slots.take())
    await _settle()
    gone.cancel()
    slots.give()  # before `gone` has run its cancellation: passed over, the slot is free
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert slots.free == 1
    await asyncio.wait_for(slots.take(), 1)
    assert slots.free == 0


async def test_many_calls_never_hold_more_than_the_size() -> None:
    slots = Slots(3)
    holding = most = 0

    async def call(pause: float) -> None:
        nonlocal holding, most
        await slots.take()
        try:
            holding += 1
            most = max(most, holding)
            await asyncio.sleep(pause)
        finally:
            holding -= 1
            slots.give()

    tasks = [asyncio.create_task(call(0.001 * (number % 3))) for number in range(40)]
    await asyncio.sleep(0.002)
    for task in tasks[::5]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert most == 3 and holding == 0 and slots.free == 3
