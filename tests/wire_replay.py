"""Replaying recorded wire bytes through a framing decoder and a protocol's stream decoder,
without a network: shared by the protocol tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from selectools.providers._framing import NdjsonDecoder, SseDecoder


def frames(raw: bytes, cuts: Iterable[int] = (), *, ndjson: bool = False) -> list[Any]:
    """`raw` fed to the SSE (or NDJSON) decoder in the network chunks that `cuts` marks."""
    decoder: SseDecoder | NdjsonDecoder = NdjsonDecoder() if ndjson else SseDecoder()
    found: list[Any] = []
    start = 0
    for cut in sorted(set(cuts)):
        found += decoder.feed(raw[start:cut])
        start = cut
    return found + decoder.feed(raw[start:]) + decoder.close()


async def aiter_of(items: Iterable[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def decoded(decode_stream: Callable[[AsyncIterator[Any], str], AsyncIterator[Any]],
            items: Iterable[Any], model: str) -> list[Any]:
    """Everything `decode_stream` yields for the framed `items`."""
    async def collect() -> list[Any]:
        return [item async for item in decode_stream(aiter_of(items), model)]
    return asyncio.run(collect())
