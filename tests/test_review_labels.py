"""A provider's `name=` labels it in errors, fallback messages and usage; FallbackProvider's
labels are unique even for providers on one server. Through a loopback server."""

from __future__ import annotations

from typing import Any

import pytest
from wire_replay import WIRES
from wire_server import WireServer

from selectools.providers.errors import ServerError
from selectools.providers.fallback import AllProvidersFailedError, FallbackProvider
from selectools.providers.openai import OpenAIProvider
from selectools.types import Message, Role
from selectools.usage import UsageStats

ASK = [Message(Role.USER, "Hello?")]
BUSY = {"error": {"message": "busy", "type": "server_error"}}


async def test_two_providers_on_one_server_get_distinct_labels(
        wire_server: WireServer) -> None:
    small = OpenAIProvider(base_url=wire_server.url + "/v1", model="small", max_retries=0)
    large = OpenAIProvider(base_url=wire_server.url + "/v1", model="large", max_retries=0)
    wire_server.reply(503, BUSY)
    wire_server.reply(503, BUSY)
    moves: list[tuple[str, str]] = []
    chain = FallbackProvider([small, large], on_fallback=lambda f, n, e: moves.append((f, n)))
    try:
        with pytest.raises(AllProvidersFailedError) as caught:
            await chain.acomplete(messages=ASK)
    finally:
        await small.aclose()
        await large.aclose()
    where = f"openai ({wire_server.url}/v1)"
    labels = [f"{where} #1", f"{where} #2"]
    assert [label for label, _ in caught.value.failures] == labels
    assert moves == [(labels[0], labels[1])]


@pytest.mark.parametrize("protocol", list(WIRES))
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
async def test_a_named_provider_reports_its_name_in_usage_and_errors(
        wire_server: WireServer, protocol: str, streamed: bool) -> None:
    wire = WIRES[protocol]
    provider = wire.provider(wire_server.url, name="local-box")
    content_type = "application/x-ndjson" if wire.ndjson else "text/event-stream"
    try:
        if streamed:
            wire_server.reply(body=wire.stream_bytes(), content_type=content_type)
            items = [item async for item in provider.astream(model="m", messages=ASK)]
            usage = [item for item in items if isinstance(item, UsageStats)]
        else:
            wire_server.reply(body=wire.whole())
            usage = [(await provider.acomplete(model="m", messages=ASK))[1]]
        wire_server.reply(500, body="down", content_type="text/plain")
        with pytest.raises(ServerError) as caught:
            await provider.acomplete(model="m", messages=ASK)
    finally:
        await provider.aclose()
    assert usage and all(stats.provider == "local-box" for stats in usage)
    assert caught.value.provider == "local-box" and str(caught.value).startswith("local-box")
    assert provider.name == "local-box" and "name='local-box'" in repr(provider)


async def test_names_label_providers_in_a_fallback_chain(wire_server: WireServer) -> None:
    first = OpenAIProvider(base_url=wire_server.url + "/v1", max_retries=0, name="vllm")
    second = OpenAIProvider(base_url=wire_server.url + "/v1", max_retries=0, name="lmstudio")
    wire_server.reply(503, BUSY)
    wire_server.reply(body={"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]})
    chain = FallbackProvider([first, second])
    try:
        message, usage = await chain.acomplete(messages=ASK)
    finally:
        await first.aclose()
        await second.aclose()
    assert message.content == "hi"
    assert chain.provider_used == "lmstudio" and usage.provider == "lmstudio"


def test_the_default_name_is_the_protocols() -> None:
    assert [WIRES[p].provider("http://127.0.0.1:1").name for p in WIRES] == list(WIRES)


@pytest.mark.parametrize("name", ["", "  ", 3])
def test_a_name_that_is_no_label_is_refused(name: Any) -> None:
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        OpenAIProvider(base_url="http://127.0.0.1:1/v1", name=name)

