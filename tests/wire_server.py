"""A real HTTP server on 127.0.0.1 that replays queued answers and records every request.

Providers are tested through it end to end: the request they send (path, query, headers,
JSON body) is recorded, and the answer is whatever the test queued, byte for byte, optionally
streamed in small chunks (chunked transfer encoding, flushed after each chunk) or cut off
mid-body to imitate a dropped connection. It runs in a background thread, so sync and async
tests use it alike.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class Headers(Mapping[str, str]):
    """Request headers with case-insensitive lookup."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._items = {name.lower(): value for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    chunk_size: int | None = None
    cut_after: int | None = None
    delay: float = 0.0
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)


class _Server(ThreadingHTTPServer):
    # Room for hundreds of connections opened at once (the standard library's backlog of
    # 5 makes the rest wait for a SYN retry, a second or more: a test of many calls in
    # flight would measure that).
    request_queue_size = 1024
    daemon_threads = True


class WireServer:
    """Serve queued replies (FIFO, whatever the path) and record the requests."""

    def __init__(self) -> None:
        self._replies: queue.SimpleQueue[Reply] = queue.SimpleQueue()
        self.requests: list[RecordedRequest] = []
        #: Set when a held reply was never released by the test (see `reply(hold_after=...)`).
        self.hold_expired = False
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval makes stop() quick (shutdown waits for one poll).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="wire-server")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> WireServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WireServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reply(self, status: int = 200, body: bytes | str | Any = b"",
              headers: Mapping[str, str] | None = None,
              content_type: str = "application/json", chunk_size: int | None = None,
              cut_after: int | None = None, delay: float = 0.0,
              hold_after: int | None = None) -> threading.Event:
        """Queue the next answer. `body` may be bytes, str, or a JSON-able value.
        `chunk_size` streams it in pieces; `cut_after` sends that many body bytes and then
        drops the connection; `delay` waits that long before answering; `hold_after` sends
        that many body bytes, then waits until the returned event is set (or 5 s, noting
        `hold_expired`) before sending the rest: a test can prove it got data before the
        stream ended."""
        if isinstance(body, str):
            data = body.encode("utf-8")
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        else:
            data = json.dumps(body).encode("utf-8")
        reply = Reply(status, data, dict(headers or {}), content_type, chunk_size, cut_after,
                      delay, hold_after)
        self._replies.put(reply)
        return reply.release

    def reply_file(self, path: str | Path, status: int = 200, **options: Any) -> threading.Event:
        """Queue a file's bytes as the next answer; the content type follows its suffix."""
        file = Path(path)
        content_type = {".sse": "text/event-stream", ".ndjson": "application/x-ndjson"}.get(
            file.suffix, "application/json")
        options.setdefault("content_type", content_type)
        return self.reply(status, file.read_bytes(), **options)

    def _next_reply(self) -> Reply:
        try:
            return self._replies.get_nowait()
        except queue.Empty:
            return Reply(500, b'{"error": "WireServer: no reply was queued for this request"}')


def _handler_for(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so client pooling is exercised

        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            server.requests.append(RecordedRequest(
                method=self.command, path=parts.path, query=dict(parse_qsl(parts.query)),
                headers=Headers(list(self.headers.items())), body=body))
            reply = server._next_reply()
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.chunk_size is None and reply.cut_after is None and reply.hold_after is None:
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                self.wfile.flush()
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            data = reply.body if reply.cut_after is None else reply.body[:reply.cut_after]
            size = reply.chunk_size or len(data) or 1
            cuts = set(range(0, len(data), size))
            if reply.hold_after is not None:
                cuts.add(reply.hold_after)
            bounds = sorted(cuts | {len(data)})
            for start, end in zip(bounds, bounds[1:], strict=False):
                if start == reply.hold_after and not reply.release.wait(5.0):
                    server.hold_expired = True
                piece = data[start:end]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            if reply.cut_after is not None:
                # Drop the connection without the final chunk: the client sees a cut stream.
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler
