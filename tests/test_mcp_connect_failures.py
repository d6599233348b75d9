"""MCP connects that fail or are cancelled: real child processes speaking raw JSON-RPC, and
an HTTP endpoint on 127.0.0.1. Whatever ends a connect (a timeout at the handshake or at
the first tools/list, a caller's cancellation), the error names the server and what it
waited for, and no server process outlives it."""

from __future__ import annotations

import asyncio
import base64
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

#: A server that writes its pid to RAW_PID_FILE, then, by RAW_BEHAVIOUR:
#: - "mute": reads its stdin and never answers anything (not even initialize);
#: - "unlisted": answers initialize and nothing else;
#: - "stubborn": like "unlisted", but ignores SIGTERM and outlives its stdin's end.
RAW_SERVER = '''
import json, os, signal, sys, time
behaviour = os.environ["RAW_BEHAVIOUR"]
if behaviour == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(os.environ["RAW_PID_FILE"], "w") as handle:
    handle.write(str(os.getpid()))
for line in sys.stdin:
    message = json.loads(line)
    if behaviour == "mute" or message.get("method") != "initialize":
        continue
    result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
              "serverInfo": {"name": "raw", "version": "1"}}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}))
    sys.stdout.write("\\n")
    sys.stdout.flush()
while behaviour == "stubborn":  # stdin is closed: a well-behaved server would exit here
    time.sleep(60)
'''


def raw_server(tmp_path: Path, behaviour: str, connect_timeout: float | None
               ) -> tuple[MCPServerStdio, Path]:
    script = tmp_path / "raw_server.py"
    script.write_text(RAW_SERVER)
    pid_file = tmp_path / "server.pid"
    server = MCPServerStdio(sys.executable, [str(script)], name="raw", mode="legacy",
                            env={"RAW_PID_FILE": str(pid_file), "RAW_BEHAVIOUR": behaviour},
                            connect_timeout=connect_timeout)
    return server, pid_file


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def started(pid_file: Path) -> int:
    """The server's pid, once it has started (within 20 s)."""
    deadline = time.monotonic() + 20.0
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the server did not start"
        await asyncio.sleep(0.02)
    return int(pid_file.read_text())


async def test_a_handshake_that_never_ends_is_a_connection_error_and_stops_the_process(
        tmp_path: Path) -> None:
    server, pid_file = raw_server(tmp_path, "mute", connect_timeout=1.0)
    with pytest.raises(MCPConnectionError) as raised:
        await server.connect()
    message = str(raised.value)
    assert message.startswith("MCP server 'raw' did not finish its handshake (no answer to "
                              "initialize) within connect_timeout=1 s (command: ")
    assert "raw_server.py" in message
    # Stopped before connect() raised, not some time after.
    assert not alive(int(pid_file.read_text()))
    assert not server.connected


async def test_a_listing_that_never_comes_names_tools_list_and_the_timeout(
        tmp_path: Path) -> None:
    server, pid_file = raw_server(tmp_path, "unlisted", connect_timeout=1.5)
    with pytest.raises(MCPConnectionError) as raised:
        await server.connect()
    assert str(raised.value) == (
        "MCP server 'raw' finished its handshake but did not answer tools/list within "
        f"connect_timeout=1.5 s (command: {sys.executable} {tmp_path / 'raw_server.py'})")
    assert not alive(int(pid_file.read_text()))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX's")
async def test_a_server_deaf_to_its_stdin_closing_and_to_sigterm_is_killed(
        tmp_path: Path) -> None:
    server, pid_file = raw_server(tmp_path, "stubborn", connect_timeout=1.0)
    began = time.monotonic()
    with pytest.raises(MCPConnectionError, match="tools/list"):
        await server.connect()
    # Killed (stdin closed, a grace, SIGTERM ignored, a grace, SIGKILL) before the raise.
    assert not alive(int(pid_file.read_text()))
    assert time.monotonic() - began < 1.0 + 1.0 + 10.0


@pytest.mark.parametrize("behaviour", ["mute", "unlisted"])
async def test_a_cancelled_connect_stops_the_process_then_raises(
        tmp_path: Path, behaviour: str) -> None:
    server, pid_file = raw_server(tmp_path, behaviour, connect_timeout=60.0)
    connecting = asyncio.create_task(server.connect())
    pid = await started(pid_file)
    if behaviour == "unlisted":  # past the handshake: waiting for the listing
        await asyncio.sleep(1.5)
    assert not connecting.done()
    connecting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await connecting
    assert not alive(pid)
    assert not server.connected


async def test_a_connect_bounded_by_the_callers_timeout_stops_the_process(
        tmp_path: Path) -> None:
    server, pid_file = raw_server(tmp_path, "unlisted", connect_timeout=None)
    with pytest.raises(TimeoutError):  # asyncio.timeout's, from its cancellation
        async with asyncio.timeout(3.0):
            await server.connect()
    assert not alive(int(pid_file.read_text()))


async def test_a_server_that_failed_to_connect_connects_when_it_can() -> None:
    from mcp_servers.running import toolbox_stdio

    server = toolbox_stdio(name="toolbox")
    command = server.command
    server.command = str(Path(sys.executable).with_name("no-such-python-here"))
    with pytest.raises(MCPConnectionError, match="could not be started or reached"):
        await server.connect()
    server.command = command
    try:
        await server.connect()
        assert server.connected and server.tools()
    finally:
        await server.aclose()


async def test_a_command_in_an_error_shows_no_option_that_may_hold_a_token() -> None:
    server = MCPServerStdio("selectools-no-such-mcp-server",
                            ["--api-key=sk-one", "-y", "server.py", "--token", "sk-two"])
    with pytest.raises(MCPConnectionError) as raised:
        await server.connect()
    message = str(raised.value)
    assert message.endswith("(command: selectools-no-such-mcp-server … -y server.py …)")
    assert "sk-one" not in message and "sk-two" not in message


class _Recording(BaseHTTPRequestHandler):
    """Records each request's Authorization header and target, and answers 401."""

    seen: list[tuple[str | None, str]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.seen.append((self.headers.get("authorization"), self.path))
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error": "unauthorized"}')

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def recording_endpoint() -> Iterator[tuple[int, list[tuple[str | None, str]]]]:
    seen: list[tuple[str | None, str]] = []
    handler = type("Handler", (_Recording,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


async def test_a_url_password_is_sent_as_basic_authorization(
        recording_endpoint: tuple[int, list[tuple[str | None, str]]]) -> None:
    port, seen = recording_endpoint
    # Percent-encoded in the URL (RFC 3986), sent decoded: `p@ss:wörd`.
    server = MCPServerHTTP(f"http://agent:p%40ss%3Aw%C3%B6rd@127.0.0.1:{port}/mcp?v=1",
                           connect_timeout=10.0)
    assert server.url == f"http://127.0.0.1:{port}/mcp?v=1"
    with pytest.raises(MCPConnectionError) as raised:
        await server.connect()
    await server.aclose()
    expected = "Basic " + base64.b64encode("agent:p@ss:wörd".encode()).decode()
    assert seen and all(header == expected for header, _ in seen)
    assert {target for _, target in seen} == {"/mcp?v=1"}
    # The URL it names has no userinfo, nor the query (a token may be in one).
    assert str(raised.value).endswith(f"(url: http://127.0.0.1:{port}/mcp)")
    assert "p%40ss" not in str(raised.value) and "agent" not in str(raised.value)


def test_a_url_password_and_an_authorization_header_are_not_both_taken() -> None:
    with pytest.raises(ValueError, match="give one of them"):
        MCPServerHTTP("https://user:secret@mcp.example.com/mcp",
                      headers={"authorization": "Bearer sk-test"})
    plain = MCPServerHTTP("https://mcp.example.com/mcp", headers={"Authorization": "Bearer x"})
    assert plain.url == "https://mcp.example.com/mcp"


def test_a_sync_run_whose_connect_failed_leaves_no_process_and_close_never_connects(
        tmp_path: Path) -> None:
    server, pid_file = raw_server(tmp_path, "unlisted", connect_timeout=1.0)
    with pytest.raises(MCPConnectionError, match="tools/list"):
        with server:  # on the library's loop, as sync Agent.run connects
            pass
    assert not alive(int(pid_file.read_text()))
    pid_file.unlink()
    began = time.monotonic()
    server.close()  # nothing to close; a `with server:` here would connect again
    assert time.monotonic() - began < 1.0 and not pid_file.exists()


class _SessionEndpoint(BaseHTTPRequestHandler):
    """A streamable HTTP MCP endpoint, raw: answers initialize with a session id, takes the
    initialized notification, and then, by `listing`, never answers tools/list ("hang",
    until `released`) or answers it with a JSON-RPC error ("error"). Records every
    DELETE's session id in `deleted`."""

    listing = "hang"
    released = threading.Event()
    deleted: list[str | None] = []

    def do_POST(self) -> None:  # noqa: N802
        import json

        message = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
        method = message.get("method")
        if "id" not in message:  # a notification
            self.send_response(202)
            self.end_headers()
            return
        if method == "initialize":
            answer: dict[str, object] = {"result": {
                "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "sessions", "version": "1"}}}
        elif self.listing == "hang":
            self.released.wait(30.0)
            return
        else:
            answer = {"error": {"code": -32603, "message": "the tool index is broken"}}
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], **answer}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("mcp-session-id", "session-7")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (no stream for server messages)
        self.send_response(405)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_DELETE(self) -> None:  # noqa: N802
        self.deleted.append(self.headers.get("mcp-session-id"))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.mark.parametrize("listing", ["hang", "error"])
async def test_a_connect_failed_after_the_handshake_ends_its_http_session(
        listing: str) -> None:
    released = threading.Event()
    deleted: list[str | None] = []
    handler = type("Handler", (_SessionEndpoint,), {
        "listing": listing, "released": released, "deleted": deleted})
    endpoint = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=endpoint.serve_forever, daemon=True)
    thread.start()
    try:
        server = MCPServerHTTP(f"http://127.0.0.1:{endpoint.server_address[1]}/mcp",
                               name="sessions", mode="legacy", connect_timeout=1.0)
        with pytest.raises(MCPConnectionError, match="tools/list") as raised:
            await server.connect()
        if listing == "error":
            assert "the tool index is broken" in str(raised.value)
        # Told before connect() raised: the server may free the session now.
        assert deleted == ["session-7"]
        assert not server.connected
    finally:
        released.set()
        endpoint.shutdown()
        endpoint.server_close()
        thread.join(timeout=10)
