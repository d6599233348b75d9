"""What the serving tests share (no tests here): a real `selectools serve` process on a free
port of 127.0.0.1, stopped by its pid; the agents it serves (factories named on its command
line); a loopback OpenAI-compatible model server that counts its open requests; the Node
client of the Vercel AI SDK.

The served agents read their settings from the environment the test gives the process:
SERVE_TRANSCRIPTS (recorded streams, os.pathsep-separated) and SERVE_PROTOCOL for
`recorded_agent`; SERVE_MODEL_URL and SERVE_MODEL_KEY for `wire_agent`.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from selectools import Agent, AgentConfig, tool

TESTS = Path(__file__).parent
WIRE = TESTS / "fixtures" / "wire"
JS = TESTS / "js"
REPO = TESTS.parent

#: The recorded Anthropic run (anthropic-sdk-python's snapshot): a get_weather call whose
#: arguments stream in fragments, then the answer written from its result.
TOOL_RUN = [WIRE / "anthropic_messages_stream_tool_use_recorded.sse",
            WIRE / "anthropic_messages_stream_text_recorded.sse"]
#: A recorded Anthropic answer that thinks (streamed thinking_delta) before it answers.
THINKING = [WIRE / "anthropic_thinking_stream_recorded.sse"]


@tool
def get_weather(location: str, units: str = "f") -> str:
    """The current weather in a place (as the recorded run's tool had it).

    Args:
        location: The city and state, e.g. San Francisco, CA
        units: "c" for celsius, "f" for fahrenheit
    """
    return json.dumps({"location": location, "temperature": 68, "units": units,
                       "condition": "Sunny"})


def recorded_agent() -> Agent:
    from selectools.testing import TranscriptProvider

    transcripts = os.environ["SERVE_TRANSCRIPTS"].split(os.pathsep)
    protocol: Any = os.environ.get("SERVE_PROTOCOL", "anthropic")
    return Agent(tools=[get_weather], provider=TranscriptProvider(transcripts, protocol))


def wire_agent() -> Agent:
    from selectools.providers.openai import OpenAIProvider

    provider = OpenAIProvider(model="gpt-test", api_key=os.environ["SERVE_MODEL_KEY"],
                              base_url=os.environ["SERVE_MODEL_URL"], max_retries=0)
    return Agent(tools=[get_weather], provider=provider, config=AgentConfig(max_retries=0))


def approval_agent() -> Agent:
    """The recorded tool run, its get_weather calls waiting for a person's approval, the
    conversations in a SQLite session store at SERVE_SESSIONS (with SERVE_STORE=json, a
    JSON files store in that directory)."""
    from selectools.sessions import JsonFileSessionStore, SessionStore, SQLiteSessionStore
    from selectools.testing import TranscriptProvider

    transcripts = os.environ["SERVE_TRANSCRIPTS"].split(os.pathsep)
    store: SessionStore = JsonFileSessionStore(os.environ["SERVE_SESSIONS"]) \
        if os.environ.get("SERVE_STORE") == "json" \
        else SQLiteSessionStore(os.environ["SERVE_SESSIONS"])
    return Agent(tools=[get_weather], provider=TranscriptProvider(transcripts, "anthropic"),
                 config=AgentConfig(session_store=store,
                                    approval_policy=lambda call: call.tool_name
                                    == "get_weather"))


class BreaksMidStream:
    """A provider that streams two words, then fails as one does when its connection drops."""

    name = "flaky"
    supports_streaming = True
    supports_async = True
    supports_native_tools = True
    default_model = "flaky"

    async def astream(self, **kwargs: Any) -> Any:
        from selectools.providers.errors import ServerError

        yield "Half "
        yield "an "
        raise ServerError("the stream broke", provider="flaky", status=502)


def fallback_agent() -> Agent:
    """An agent whose first provider fails mid-answer; the next answers from the start."""
    from selectools.providers.fallback import FallbackProvider
    from selectools.testing import ScriptedProvider

    return Agent(tools=[], provider=FallbackProvider([
        BreaksMidStream(), ScriptedProvider(["A whole answer."] * 10)]))


class Forecast(BaseModel):
    city: str
    days: int


def typed_agent() -> Agent:
    """Answers one JSON forecast (serve it with --response-format test_serve_support:Forecast)."""
    from selectools.testing import ScriptedProvider

    return Agent(tools=[], provider=ScriptedProvider(['{"city": "Paris", "days": 3}']))


# -- the served process ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serving(factory: str, tmp_path: Path, env: dict[str, str] | None = None,
            args: Sequence[str] = ()) -> Iterator[Served]:
    """`selectools serve test_serve_support:<factory>` on a free port, until the block ends."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    environment = {**os.environ, **(env or {}),
                   "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO / "src"),
                                                  os.environ.get("PYTHONPATH", "")])}
    environment.pop("SELECTOOLS_AUTH_TOKEN", None)
    environment.update(env or {})
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "selectools", "serve", f"test_serve_support:{factory}",
             "--port", str(port), *args],
            stdout=sink, stderr=subprocess.STDOUT, env=environment, cwd=tmp_path)
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_up(served)
        yield served
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


_APP_SCRIPT = """
import asyncio, importlib, json, socket, sys
import uvicorn
from selectools.serve import create_app

module, _, factory = sys.argv[2].rpartition(":")
agent = getattr(importlib.import_module(module or "test_serve_support"), factory)()
app = create_app(agent, **json.loads(sys.argv[3]))
listener = socket.socket(fileno=int(sys.argv[1]))
server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
asyncio.run(server.serve(sockets=[listener]))
"""


@contextmanager
def serving_app(factory: str, tmp_path: Path, env: dict[str, str] | None = None,
                **options: Any) -> Iterator[Served]:
    """`create_app(test_serve_support.<factory>(), **options)` (options the command line
    does not take; `factory` may be `<module>:<factory>` of another test module) in a
    uvicorn process on a socket bound here, until the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    log = tmp_path / f"app-{port}.log"
    environment = {**os.environ, **(env or {}),
                   "PYTHONPATH": os.pathsep.join([str(TESTS), str(REPO / "src"),
                                                  os.environ.get("PYTHONPATH", "")])}
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", _APP_SCRIPT, str(listener.fileno()), factory,
             json.dumps(options)], pass_fds=[listener.fileno()], stdout=sink,
            stderr=subprocess.STDOUT, env=environment, cwd=tmp_path)
    listener.close()
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_up(served)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wait_until_up(served: Served, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"selectools serve exited with {served.process.returncode}:\n"
                        f"{served.output()}")
        try:
            with urllib.request.urlopen(served.url + "/healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"selectools serve did not answer /healthz in {timeout} s:\n{served.output()}")


def post(url: str, body: bytes | str | Any, headers: dict[str, str] | None = None,
         timeout: float = 20.0) -> tuple[int, dict[str, str], bytes]:
    """A POST over a real socket; returns status, headers (lower-case names), body."""
    data = body if isinstance(body, bytes) else (
        body.encode() if isinstance(body, str) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def sse_data(body: bytes) -> list[str]:
    """The `data:` payloads of an SSE body, in order."""
    text = body.decode().replace("\r\n", "\n")
    return [line[len("data:"):].strip() for block in text.split("\n\n")
            for line in block.split("\n") if line.startswith("data:")]


# -- the Vercel AI SDK, in Node --------------------------------------------------------------


def node_client() -> Path:
    """tests/js with its pinned packages installed (`npm ci`), or a failure saying why."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed (.ci/run installs them)")
    if not all((JS / "node_modules" / name / "package.json").is_file()
               for name in ("ai", "@ag-ui/client")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(JS)],
                       check=True, capture_output=True, timeout=300)
    return JS / "read_ui_stream.mjs"


def read_with_sdk(url: str, chat_id: str, messages: list[dict[str, Any]],
                  token: str | None = None, continued: bool = False) -> dict[str, Any]:
    """/api/chat read by the SDK: {"chunks", "message", "errors"} (see read_ui_stream.mjs);
    `continued`: the stream continues the last (assistant) message, as after approvals."""
    script = node_client()
    request = {"chatId": chat_id, "messages": messages, "token": token,
               "continue": continued}
    done = subprocess.run(["node", str(script), url + "/api/chat"], input=json.dumps(request),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_with_agui_client(url: str, messages: list[dict[str, Any]], thread_id: str = "thread-1",
                         run_id: str = "run-1", token: str | None = None) -> dict[str, Any]:
    """/agui run by AG-UI's own client (@ag-ui/client's HttpAgent, see read_agui.mjs):
    {"events", "messages", "newMessages", "result", "error"}."""
    node_client()
    request = {"threadId": thread_id, "runId": run_id, "messages": messages, "token": token}
    done = subprocess.run(["node", str(JS / "read_agui.mjs"), url + "/agui"],
                          input=json.dumps(request), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def user_message(text: str, message_id: str = "u1") -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


# -- AG-UI's own checks ----------------------------------------------------------------------


def validate_agui(events: list[dict[str, Any]]) -> None:
    """Every event parses as AG-UI's own model of its type (ag-ui-protocol), and the stream
    passes AG-UI's conformance validator (ag-ui-validate) without an error or a warning."""
    from ag_ui.core import Event
    from ag_ui_validate import create_validator

    adapter: TypeAdapter[Any] = TypeAdapter(Event)
    validator = create_validator()
    for event in events:
        parsed = adapter.validate_python(event)
        assert parsed.type.value == event["type"]
        validator.feed(event)
    validator.finalize()
    report = validator.report()
    found = [(d.rule, d.message) for d in report.diagnostics if d.severity != "info"]
    assert not found and not report.internal_errors, found or report.internal_errors


# -- a loopback model server that counts its open requests ----------------------------------


@dataclass
class ModelAnswer:
    """Chat Completions SSE events, sent `pause` seconds apart; with `cut`, the connection
    is dropped after that many events (a provider failing mid-stream); with `hold`, the
    server goes silent after that many events (a model thinking) until the client leaves.
    A `status` other than 200 answers `body` as JSON instead."""

    events: list[bytes]
    pause: float = 0.0
    cut: int | None = None
    hold: int | None = None
    status: int = 200
    body: bytes = b""


@dataclass
class CountingModelServer:
    answers: list[ModelAnswer] = field(default_factory=list)
    open_requests: int = 0
    requests: int = 0
    bodies: list[Any] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _counting_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> CountingModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, condition: Any, timeout: float = 10.0) -> bool:
        with self._lock:
            return bool(self._lock.wait_for(lambda: condition(self), timeout))

    def _enter(self, body: Any) -> ModelAnswer:
        with self._lock:
            self.requests += 1
            self.open_requests += 1
            self.bodies.append(body)
            self._lock.notify_all()
            return self.answers.pop(0) if self.answers else ModelAnswer([])

    def _leave(self) -> None:
        with self._lock:
            self.open_requests -= 1
            self._lock.notify_all()


def _counting_handler(server: CountingModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            answer = server._enter(json.loads(self.rfile.read(length) or b"null"))
            try:
                if answer.status != 200:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for number, event in enumerate(answer.events):
                    if answer.cut is not None and number == answer.cut:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if answer.hold is not None and number == answer.hold:
                        self._wait_for_the_client_to_leave()
                        return
                    if number and answer.pause:
                        time.sleep(answer.pause)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError:  # the client went away: this request is over
                self.close_connection = True
            finally:
                server._leave()

        def _wait_for_the_client_to_leave(self, limit: float = 30.0) -> None:
            """Silence, noticing (without writing) when the client closes its end."""
            deadline = time.monotonic() + limit
            while time.monotonic() < deadline:
                readable, _, _ = select.select([self.connection], [], [], 0.05)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    break
            self.close_connection = True

    return Handler


@contextmanager
def uvicorn_in_process(app: Any) -> Iterator[str]:
    """A real uvicorn serving `app` in a thread of this process; yields host:port."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        threading.Event().wait(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
