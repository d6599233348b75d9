"""Review s11: MCP servers that misbehave at the boundary, reached by MCPServerStdio and
MCPServerHTTP as a user reaches them.

- A stdio server (a real child process, raw JSON-RPC) that finishes its handshake and then
  never answers tools/list (or answers with a listing the SDK cannot parse, which it
  drops: the same silence). `connect()` promises MCPConnectionError naming the server.
- An HTTP server on 127.0.0.1 reached by a URL that holds a password: the server's repr
  hides it, as a credential; the library's logs of the connection must not show it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from selectools.mcp import MCPConnectionError, MCPServerHTTP, MCPServerStdio  # noqa: E402

#: A server speaking MCP's 2025-06-18 revision by hand: it answers the handshake, then
#: every request but tools/list. It writes its pid to the file named by RAW_PID_FILE.
SILENT_LISTING_SERVER = '''
import json, os, sys
with open(os.environ["RAW_PID_FILE"], "w") as handle:
    handle.write(str(os.getpid()))
for line in sys.stdin:
    message = json.loads(line)
    if "id" not in message or message.get("method") == "tools/list":
        continue
    if message.get("method") == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "silent", "version": "1"}}
        reply = {"jsonrpc": "2.0", "id": message["id"], "result": result}
    else:
        reply = {"jsonrpc": "2.0", "id": message["id"],
                 "error": {"code": -32601, "message": "no such method"}}
    sys.stdout.write(json.dumps(reply) + "\\n")
    sys.stdout.flush()
'''


def silent_server(tmp_path: Path) -> tuple[MCPServerStdio, Path]:
    script = tmp_path / "silent_listing.py"
    script.write_text(SILENT_LISTING_SERVER)
    pid_file = tmp_path / "server.pid"
    server = MCPServerStdio(sys.executable, [str(script)], env={"RAW_PID_FILE": str(pid_file)},
                            name="silent", mode="legacy", connect_timeout=2.0)
    return server, pid_file


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_server_that_never_lists_its_tools_is_a_connection_error(
        tmp_path: Path) -> None:
    server, _ = silent_server(tmp_path)
    started = time.monotonic()
    try:
        with pytest.raises(MCPConnectionError, match="silent"):
            await server.connect()
    finally:
        await server.aclose()
    assert time.monotonic() - started < 2.0 + 10.0  # bounded by connect_timeout (+ grace)


async def test_a_failed_connect_leaves_no_server_process_running(tmp_path: Path) -> None:
    server, pid_file = silent_server(tmp_path)
    with pytest.raises(Exception):  # noqa: B017, PT011 (the type is the other test's)
        async with server:  # as a user writes it: a failed __aenter__ has no __aexit__
            pass
    pid = int(pid_file.read_text())
    try:
        deadline = time.monotonic() + 10.0
        while alive(pid) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not alive(pid), "the server process outlived the failed connect"
    finally:
        await server.aclose()  # (what the user could not know to call)


class _Unauthorized(BaseHTTPRequestHandler):
    """An MCP endpoint that refuses every request with 401."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "unauthorized"}')

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def refusing_endpoint() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


PASSWORD = "pw-0f3c9e1d7b2a"


async def test_a_url_password_never_reaches_the_logs(
        refusing_endpoint: int, caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://agent:{PASSWORD}@127.0.0.1:{refusing_endpoint}/mcp"
    server = MCPServerHTTP(url, connect_timeout=10.0)
    assert PASSWORD not in repr(server)  # holds
    caplog.set_level(logging.INFO)  # an application's usual logging.basicConfig(level=INFO)
    try:
        with pytest.raises(MCPConnectionError) as raised:
            await server.connect()
    finally:
        await server.aclose()
    assert PASSWORD not in str(raised.value)  # holds
    leaked = [f"{record.name}: {record.getMessage()}" for record in caplog.records
              if PASSWORD in record.getMessage()]
    assert leaked == []
