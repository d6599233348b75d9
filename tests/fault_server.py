"""A fault-injecting OpenAI-compatible HTTP server on 127.0.0.1, for failover tests.

It answers with real Chat Completions SSE (built on the recorded transcripts in
fixtures/wire) or with a fault: an error status (429 with `retry-after`, 500, 529), a hang
before the answer or mid-stream, a connection reset, or a stream cut after K events. Answers
come from a FIFO queue or, when the queue is empty, from a `plan(index, request)` function,
so concurrent tests can decide per request. It notices when a client goes away mid-stream
(`aborted` / `wait_for_abort`). Runs in a background thread; sync and async tests use it alike.
"""

from __future__ import annotations

import copy
import json
import queue
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from wire_server import Headers, RecordedRequest

WIRE = Path(__file__).parent / "fixtures" / "wire"
Fault = Literal["cut", "reset", "hang"]


@dataclass(frozen=True)
class Answer:
    """One response. `events` (SSE event blocks) are streamed one by one with a flush each,
    `pause` seconds apart; otherwise `body` is sent whole. `delay` waits before the status
    line. `fault` happens after `after_events` events: "cut" drops the connection without
    ending the chunked body, "reset" sends a TCP RST, "hang" goes silent for `hang` seconds;
    `after_events=-1` does it before the status line."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    events: tuple[bytes, ...] | None = None
    pause: float = 0.0
    delay: float = 0.0
    fault: Fault | None = None
    after_events: int = 0
    hang: float = 30.0

    def cut_after(self, events: int) -> Answer:
        return replace(self, fault="cut", after_events=events)

    def reset_after(self, events: int) -> Answer:
        return replace(self, fault="reset", after_events=events)

    def hang_after(self, events: int, seconds: float = 30.0) -> Answer:
        return replace(self, fault="hang", after_events=events, hang=seconds)


# -- answers ---------------------------------------------------------------------------------


def sse(events: Iterable[bytes], pause: float = 0.0) -> Answer:
    return Answer(events=tuple(events), content_type="text/event-stream", pause=pause)


def error(status: int, message: str, kind: str = "server_error", code: str | None = None,
          headers: dict[str, str] | None = None) -> Answer:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Answer(status=status, body=json.dumps(body).encode(), headers=dict(headers or {}))


def rate_limited(retry_after: float = 0) -> Answer:
    """The recorded OpenAI 429 body, with a `retry-after` header."""
    recorded = json.loads((WIRE / "openai_error_429_rate_limit.json").read_text())
    return Answer(status=429, body=json.dumps(recorded["body"]).encode(),
                  headers={"retry-after": f"{retry_after:g}"})


def server_error() -> Answer:
    return error(500, "The server had an error while processing your request.")


def overloaded() -> Answer:
    return error(529, "Overloaded", kind="overloaded_error")


def bad_request(message: str = "Invalid 'messages': empty array.") -> Answer:
    return error(400, message, kind="invalid_request_error", code="invalid_value")


def hang(seconds: float = 30.0) -> Answer:
    """No status line for `seconds`: past any read timeout a test sets."""
    return Answer(delay=seconds)


def reset() -> Answer:
    """A TCP reset as soon as the request has been read."""
    return Answer(fault="reset", after_events=-1)


# -- OpenAI Chat Completions streams, shaped like the recorded transcripts -------------------


def transcript_events(name: str) -> list[bytes]:
    """A recorded `.sse` transcript from fixtures/wire, split into its events."""
    raw = (WIRE / name).read_bytes().replace(b"\r\n", b"\n")
    return [block + b"\n\n" for block in raw.split(b"\n\n") if block.strip()]


def _recorded_chunks(name: str) -> list[dict[str, Any]]:
    chunks = []
    for block in transcript_events(name):
        data = block.decode().strip().removeprefix("data:").strip()
        if data != "[DONE]":
            chunks.append(json.loads(data))
    return chunks


_TEXT = _recorded_chunks("openai_chat_stream_text_after_tool_result.sse")
_CALLS = _recorded_chunks("openai_chat_stream_tool_calls.sse")


def _event(chunk: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def openai_text(pieces: Sequence[str], completion_tokens: int | None = None) -> list[bytes]:
    """A streamed text answer made of `pieces`, in the recorded transcript's exact shape:
    role chunk, one content chunk per piece, finish chunk, usage chunk, `[DONE]`."""
    role, content, finish, usage = _TEXT[0], _TEXT[1], _TEXT[-2], _TEXT[-1]
    events = [_event(role)]
    for piece in pieces:
        chunk = copy.deepcopy(content)
        chunk["choices"][0]["delta"]["content"] = piece
        events.append(_event(chunk))
    events.append(_event(finish))
    tail = copy.deepcopy(usage)
    tail["usage"]["completion_tokens"] = completion_tokens or len(pieces)
    tail["usage"]["total_tokens"] = tail["usage"]["prompt_tokens"] + (completion_tokens
                                                                        or len(pieces))
    events += [_event(tail), b"data: [DONE]\n\n"]
    return events


def openai_tool_calls(calls: Sequence[tuple[str, str, dict[str, Any]]]) -> list[bytes]:
    """A streamed answer calling tools `(call_id, name, arguments)`, shaped like the
    recorded transcript: the arguments JSON arrives in two fragments per call."""
    role, opening, fragment, finish, usage = _CALLS[0], _CALLS[1], _CALLS[2], _CALLS[-2], _CALLS[-1]
    events = [_event(role)]
    for index, (call_id, name, arguments) in enumerate(calls):
        first = copy.deepcopy(opening)
        first["choices"][0]["delta"]["tool_calls"][0].update(index=index, id=call_id)
        first["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] = name
        events.append(_event(first))
        text = json.dumps(arguments)
        for part in (text[: len(text) // 2], text[len(text) // 2:]):
            more = copy.deepcopy(fragment)
            more["choices"][0]["delta"]["tool_calls"][0]["index"] = index
            more["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = part
            events.append(_event(more))
    events += [_event(finish), _event(usage), b"data: [DONE]\n\n"]
    return events


# -- the server ------------------------------------------------------------------------------


Plan = Callable[[int, RecordedRequest], Answer]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # load tests open hundreds of connections at once


class FaultServer:
    """Serve queued answers, else `plan(index, request)`, else a 500 saying nothing was
    queued. Every request is recorded, in arrival order."""

    def __init__(self, plan: Plan | None = None) -> None:
        self.plan = plan
        self.requests: list[RecordedRequest] = []
        self.aborted = 0  # streams the client closed before their end
        self._answers: queue.SimpleQueue[Answer] = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="fault-server")

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends every hang now
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def queue(self, *answers: Answer) -> None:
        for answer in answers:
            self._answers.put(answer)

    def wait_for_abort(self, timeout: float = 5.0) -> bool:
        """Wait until the server has seen a client close a stream early."""
        with self._lock:
            return self._lock.wait_for(lambda: self.aborted > 0, timeout)

    def _take(self, request: RecordedRequest) -> Answer:
        with self._lock:
            index = len(self.requests)
            self.requests.append(request)
        try:
            return self._answers.get_nowait()
        except queue.Empty:
            pass
        if self.plan is not None:
            return self.plan(index, request)
        return error(500, "FaultServer: no answer was queued for this request")

    def _note_abort(self) -> None:
        with self._lock:
            self.aborted += 1
            self._lock.notify_all()


def _handler_for(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            answer = server._take(RecordedRequest(
                method=self.command, path=parts.path, query=dict(parse_qsl(parts.query)),
                headers=Headers(list(self.headers.items())), body=body))
            try:
                self._answer(answer)
            except (BrokenPipeError, ConnectionResetError):
                server._note_abort()
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, answer: Answer) -> None:
            if answer.delay and server._stopping.wait(answer.delay):
                return
            if answer.fault is not None and answer.after_events < 0:  # before any byte
                self._fault(answer)
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if answer.events is None:
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
                self.wfile.flush()
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            for number, event in enumerate(answer.events):
                if answer.fault is not None and number == answer.after_events:
                    self._fault(answer)
                    return
                if number and answer.pause and server._stopping.wait(answer.pause):
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            if answer.fault is not None:
                self._fault(answer)
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def _fault(self, answer: Answer) -> None:
            self.close_connection = True
            if answer.fault == "hang":
                server._stopping.wait(answer.hang)
            elif answer.fault == "reset":
                self._reset()
            else:  # cut: end the connection without the chunked body's last chunk
                self.connection.shutdown(socket.SHUT_RDWR)

        def _reset(self) -> None:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()

    return Handler
