"""Each POST is logged at DEBUG on `selectools.http` (whole and streamed), and nothing is
logged when DEBUG is off (the line is built only when it is on)."""

from __future__ import annotations

import logging

import pytest
from wire_server import WireServer

from selectools.providers._http import HttpTransport
from selectools.providers.errors import ProviderError


def _error(status: int, headers: object, body: bytes) -> ProviderError:
    return ProviderError(f"HTTP {status}")


async def test_each_post_is_logged_at_debug_only(wire_server: WireServer,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    transport = HttpTransport(provider="test", base_url=wire_server.url,
                              error_from_response=_error)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.INFO, logger="selectools.http"):
            wire_server.reply(body={"ok": True})
            await transport.post_json("/c", {})
        assert not [r for r in caplog.records if r.name == "selectools.http"]
        with caplog.at_level(logging.DEBUG, logger="selectools.http"):
            wire_server.reply(body={"ok": True})
            await transport.post_json("/c", {})
            wire_server.reply(body=b"data: {}\n\n", content_type="text/event-stream")
            assert [e async for e in transport.post_events("/c", {}, framing="sse")]
        lines = [r.getMessage() for r in caplog.records if r.name == "selectools.http"]
        assert lines == ["test POST /c -> 200", "test POST /c -> 200 (stream)"]
    finally:
        await transport.aclose()
