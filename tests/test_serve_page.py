"""The chat page (GET /) in a real browser against a real server.

A real uvicorn process on 127.0.0.1 serves `create_app(agent)`; the agent's OpenAIProvider
talks to a loopback model server in this process that streams scripted OpenAI chat chunks
and can hold an answer mid-stream until the test lets it go, so "the text grows" and "stop
mid-answer" are checked at fixed points, not by timing. Debian's Chromium (headless) is
driven by Playwright. Screenshots go to tests/artifacts/ (git-ignored): look at them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("SELECTOOLS_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAIT_MS = 15_000  # generous: a loaded 2-core box; every wait ends as soon as its state is seen

WEATHER_ARGUMENT_PIECES = ['{"ci', 'ty": "Pa', 'ris"}']
WEATHER_RESULT = "Sunny, 21 C in Paris"
REASONING = "The user wants the weather; the tool said sunny and 21 C."
ANSWER_TOKENS = ["It", " is", " sunny", " and", " 21", " C", " in", " Paris", ".", " Enjoy",
                 " the", " walk", " along", " the", " Seine", "!"]
STORY_TOKENS = ["Once", " upon", " a", " time", " there", " was", " a", " very", " long"]


# -- the loopback model server ---------------------------------------------------------------

@dataclass
class Turn:
    """One scripted model answer: SSE events, with an optional hold before event `hold_at`
    until `release` is set (the connection is pinged meanwhile, so a client that goes away
    is noticed at once)."""

    events: list[bytes]
    hold_at: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    cut_at: int | None = None  # drop the connection before this event: a failed stream


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {"id": "chatcmpl-page", "object": "chat.completion.chunk", "created": 1767225600,
            "model": "test-model",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _end(finish: str) -> list[bytes]:
    usage = {"id": "chatcmpl-page", "object": "chat.completion.chunk", "created": 1767225600,
             "model": "test-model", "choices": [],
             "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}
    return [_chunk({}, finish), b"data: " + json.dumps(usage).encode() + b"\n\n",
            b"data: [DONE]\n\n"]


def tool_turn(call_id: str, name: str, pieces: list[str], hold_at: int | None = None) -> Turn:
    events = [_chunk({"role": "assistant", "content": None, "tool_calls": [{
        "index": 0, "id": call_id, "type": "function",
        "function": {"name": name, "arguments": ""}}]})]
    events += [_chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
               for piece in pieces]
    return Turn(events + _end("tool_calls"), hold_at)


def text_turn(tokens: list[str], hold_at: int | None = None, reasoning: str = "") -> Turn:
    """A text answer, after streamed reasoning if any; `hold_at`: hold before that token."""
    head = [_chunk({"role": "assistant", "content": ""})]
    # Reasoning as DeepSeek, vLLM and llama.cpp's server stream it, a word per chunk.
    head += [_chunk({"reasoning_content": piece}) for piece in re.findall(r"\S+\s*", reasoning)]
    events = head + [_chunk({"content": token}) for token in tokens] + _end("stop")
    return Turn(events, None if hold_at is None else len(head) + hold_at)


class ModelServer:
    """Plays queued turns, one per request, and counts requests open and dropped."""

    def __init__(self) -> None:
        self.turns: list[Turn] = []
        self.requests: list[dict[str, Any]] = []
        self.open = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def queue(self, *turns: Turn) -> None:
        with self._lock:
            self.turns.extend(turns)

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.open, self.dropped

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for turn in self.turns:
                turn.release.set()
        self._http.shutdown()
        self._http.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append(body)
                    turn = server.turns.pop(0) if server.turns else None
                    server.open += 1
                try:
                    self._play(turn)
                except (BrokenPipeError, ConnectionResetError):
                    with server._lock:
                        server.dropped += 1
                finally:
                    with server._lock:
                        server.open -= 1

            def _play(self, turn: Turn | None) -> None:
                if turn is None:
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, event in enumerate(turn.events):
                    if i == turn.cut_at:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if i == turn.hold_at:
                        while not turn.release.wait(0.05):
                            self._write(b": ping\n\n")  # fails once the client is gone
                    self._write(event)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                self.close_connection = True

            def _write(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

        return Handler


# -- the app, in its own uvicorn process ------------------------------------------------------

_APP_SCRIPT = """
import asyncio, os, socket, sys
import uvicorn
from selectools import Agent, OpenAIProvider, tool
from selectools.serve import create_app

def get_weather(city: str) -> str:
    \"\"\"The current weather in a city.\"\"\"
    if city == "Atlantis":
        raise ValueError("no weather station in Atlantis")
    return f"Sunny, 21 C in {city}"

provider = OpenAIProvider(base_url=sys.argv[2] + "/v1", api_key="test-key", model="test-model")
# Options: "typed": every answer is validated as this schema (and streamed partially);
# "token=<t>": requests need the bearer token <t>; "fallback": a FallbackProvider whose
# first provider (no retries) hands a stream that fails midway to the second;
# "approval=<file>": see below.
options = sys.argv[3:]
if "fallback" in options:
    from selectools import AgentConfig, FallbackProvider
    first = OpenAIProvider(base_url=sys.argv[2] + "/v1", api_key="test-key", model="first",
                           max_retries=0)
    provider = FallbackProvider([first, provider])
config = None
approvals = [o.split("=", 1)[1] for o in options if o.startswith("approval=")]
if approvals:  # "approval=<file>": get_weather waits for approval; sessions in that file
    from selectools import AgentConfig
    from selectools.sessions import SQLiteSessionStore
    config = AgentConfig(session_store=SQLiteSessionStore(approvals[0]),
                         approval_policy=lambda call: call.tool_name == "get_weather")
agent = Agent([tool(get_weather)], provider=provider, config=config)
tokens = [o.split("=", 1)[1] for o in options if o.startswith("token=")]
schema = {"type": "object", "properties": {"city": {"type": "string"},
                                           "temperature": {"type": "number"}},
          "required": ["city", "temperature"]}
app = create_app(agent, response_format=schema if "typed" in options else None,
                 auth_token=tokens[0] if tokens else None)
listener = socket.socket(fileno=int(sys.argv[1]))
server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
asyncio.run(server.serve(sockets=[listener]))
"""


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    server = ModelServer().start()
    yield server
    server.stop()


@contextlib.contextmanager
def serving(model: ModelServer, *options: str) -> Iterator[str]:
    """The app in a uvicorn process; yields its URL, stops the process by its pid."""
    # The test binds the port and hands the socket to uvicorn: no race for a free port.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    process = subprocess.Popen([sys.executable, "-c", _APP_SCRIPT, str(listener.fileno()),
                                model.url, *options], pass_fds=[listener.fileno()], env=env)
    listener.close()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def app_url(model: ModelServer) -> Iterator[str]:
    with serving(model) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    with playwright_sync.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 760})
        yield context
        context.close()


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(url + "/")
    page.evaluate("localStorage.clear()")  # each test starts with no conversations
    page.reload()
    return page


@pytest.fixture()
def page(browser: Any, app_url: str) -> Iterator[Any]:
    page = open_page(browser, app_url)
    yield page
    page.close()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"page_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def ask(page: Any, text: str) -> None:
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("textbox", name="Message").press("Enter")


def wait_until(check: Any, what: str, seconds: float = WAIT_MS / 1000) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def answer_text(page: Any) -> str:
    """The text of the last assistant message's last text part ("" when it has none)."""
    texts = page.locator("article.msg.assistant").last.locator(".body > .text")
    return str(texts.last.inner_text()) if texts.count() else ""


# -- the tests --------------------------------------------------------------------------------

def test_page_is_served_whole_and_offline(app_url: str) -> None:
    with urllib.request.urlopen(app_url + "/", timeout=5) as answer:
        html = answer.read().decode()
        assert answer.headers["Content-Type"].startswith("text/html")
    assert "<script" in html and "api/chat" in html
    # Nothing is fetched from anywhere else: no CDN, no web fonts.
    assert "http://" not in html and "https://" not in html and "@import" not in html


def test_streams_text_and_the_tool_card_with_its_result(page: Any, model: ModelServer) -> None:
    call = tool_turn("call_weather_1", "get_weather", WEATHER_ARGUMENT_PIECES, hold_at=2)
    answer = text_turn(ANSWER_TOKENS, hold_at=8, reasoning=REASONING)
    model.queue(call, answer)
    ask(page, "What is the weather in Paris?")

    card = page.locator("section.tool")
    # The arguments are shown as they stream: the first piece while the model is held.
    card.locator(".args").filter(has_text='{"ci').wait_for()
    assert "get_weather" in card.locator(".name").inner_text()
    assert "ris" not in card.locator(".args").inner_text()
    shot(page, "1_tool_arguments_streaming")
    call.release.set()

    card.locator(".result pre").filter(has_text=WEATHER_RESULT).wait_for()
    assert card.locator(".state").inner_text() == "done"
    assert json.loads(card.locator(".args").inner_text()) == {"city": "Paris"}

    # The answer's text grows: half of it while the model is held, then all of it.
    first_half = "".join(ANSWER_TOKENS[:8])
    page.locator("article.msg.assistant .body > .text").filter(has_text=first_half).wait_for()
    assert answer_text(page) == first_half
    shot(page, "2_answer_streaming")
    answer.release.set()
    whole = "".join(ANSWER_TOKENS)
    page.locator("article.msg.assistant .body > .text").filter(has_text=whole).wait_for()
    page.locator("article.msg.assistant[aria-busy=false]").wait_for()
    assert answer_text(page) == whole

    # Reasoning is folded: a closed <details> holding the whole reasoning text.
    fold = page.locator("details.reasoning")
    assert fold.count() == 1
    assert fold.get_attribute("open") is None
    fold.locator("summary").click()
    assert fold.locator(".text").inner_text().strip() == REASONING
    shot(page, "3_answer_done_light")
    page.emulate_media(color_scheme="dark")
    shot(page, "4_answer_done_dark")
    page.emulate_media(color_scheme="light")

    # What the model saw on its second call: the tool's result, in the same run.
    tool_messages = [m for m in model.requests[-1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == [WEATHER_RESULT]


def test_stop_cancels_the_run_on_the_server(page: Any, model: ModelServer) -> None:
    story = text_turn(STORY_TOKENS, hold_at=4)  # held forever: only stop ends it
    model.queue(story)
    _, dropped = model.counts()
    ask(page, "Tell me a long story")
    page.locator("article.msg.assistant .body > .text").filter(
        has_text="".join(STORY_TOKENS[:4])).wait_for()
    assert model.counts() == (1, dropped)  # the model's answer is open, held mid-stream
    stop = page.get_by_role("button", name="Stop")
    assert stop.is_visible()
    stop.click()

    # The server cancels the run and its stream to the model: the model sees it drop.
    wait_until(lambda: model.counts() == (0, dropped + 1), "the model's stream to be dropped")
    page.locator("article.msg.assistant .notice").filter(has_text="Stopped").wait_for()
    assert not stop.is_visible()
    assert page.get_by_role("button", name="Send").is_enabled()
    assert answer_text(page) == "".join(STORY_TOKENS[:4])
    shot(page, "5_stopped")
    story.release.set()


def test_a_failed_tool_and_a_failed_model_stream_are_shown(page: Any,
                                                           model: ModelServer) -> None:
    broken = text_turn(["The", " weather", " in", " Atlantis"])
    broken.cut_at = 3  # two tokens, then the model's connection drops
    model.queue(tool_turn("call_atlantis", "get_weather", ['{"city": "Atlantis"}']), broken)
    ask(page, "What is the weather in Atlantis?")
    card = page.locator("section.tool")
    card.locator(".result.is-error pre").filter(has_text="no weather station").wait_for()
    assert card.locator(".state").inner_text() == "failed"
    error = page.locator("article.msg.assistant p.error")
    error.wait_for()
    assert error.inner_text().startswith("Error: ")
    assert "Traceback" not in error.inner_text()
    assert answer_text(page) == "The weather"
    assert page.get_by_role("button", name="Send").is_enabled()
    shot(page, "9_errors")


def test_conversations_are_kept_by_id_and_can_be_switched(page: Any, model: ModelServer,
                                                          app_url: str) -> None:
    model.queue(text_turn(["Paris", " is", " the", " capital", "."]))
    ask(page, "What is the capital of France?")
    page.locator("article.msg.assistant[aria-busy=false]").wait_for()
    assert answer_text(page) == "Paris is the capital."

    page.get_by_role("button", name="+ New chat").click()
    assert page.locator("article.msg").count() == 0
    model.queue(text_turn(["Rome", "."]))
    ask(page, "And of Italy?")
    page.locator("article.msg.assistant .body > .text").filter(has_text="Rome.").wait_for()
    page.locator("article.msg.assistant[aria-busy=false]").wait_for()
    # A new conversation starts a new history: the model saw only its own question.
    assert [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "user"] \
        == ["And of Italy?"]

    chats = page.locator("#chats li")
    assert chats.count() == 2
    assert chats.nth(0).inner_text().startswith("And of Italy?")
    chats.nth(1).get_by_role("button").first.click()  # back to the first conversation
    page.locator("article.msg.assistant .body > .text").filter(
        has_text="Paris is the capital.").wait_for()
    assert page.locator("article.msg.user").inner_text().endswith(
        "What is the capital of France?")
    shot(page, "6_switched_back")

    # A follow-up in the first conversation sends its whole history, under its own id.
    model.queue(text_turn(["Yes", "."]))
    ask(page, "Are you sure?")
    page.locator("article.msg.assistant .body > .text").filter(has_text="Yes.").wait_for()
    users = [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "user"]
    assert users == ["What is the capital of France?", "Are you sure?"]

    # The conversations outlive a reload (localStorage), each kept under its own id.
    page.reload()
    assert page.locator("#chats li").count() == 2
    stored = page.evaluate("JSON.parse(localStorage.getItem('selectools.chats.v1'))")
    assert len(set(stored["order"])) == 2
    assert page.locator("article.msg").count() == 4


def test_a_typed_answer_is_shown_as_it_streams_then_validated(browser: Any,
                                                              model: ModelServer) -> None:
    pieces = ['{"ci', 'ty": "Par', 'is", "temp', 'erature": 21}']
    answer = text_turn(pieces, hold_at=2)
    model.queue(answer)
    with serving(model, "typed") as url:
        page = open_page(browser, url)
        try:
            ask(page, "Weather in Paris, as data?")
            typed = page.get_by_role("region", name="Typed answer")
            typed.locator(".label").filter(has_text="streaming").wait_for()
            assert json.loads(typed.locator("pre").inner_text()) == {"city": "Par"}
            shot(page, "7_typed_partial")
            answer.release.set()
            typed.locator(".label").filter(has_text=re.compile("^Typed answer$")).wait_for()
            assert json.loads(typed.locator("pre").inner_text()) == {
                "city": "Paris", "temperature": 21}
            shot(page, "8_typed_done")
        finally:
            page.close()


def test_a_server_with_a_token_asks_for_it_and_then_answers(browser: Any,
                                                            model: ModelServer) -> None:
    with serving(model, "token=s3cret-page-token") as url:
        page = open_page(browser, url)
        try:
            token_box = page.get_by_label("Access token")
            assert not token_box.is_visible()
            requests_before = len(model.requests)
            ask(page, "Hello?")
            error = page.locator("article.msg.assistant p.error")
            error.filter(has_text="access token").wait_for()
            assert token_box.is_visible()
            token_box.fill("s3cret-page-token")
            token_box.press("Tab")  # the token is kept when the field changes
            model.queue(text_turn(["Hello", "!"]))
            ask(page, "Hello again?")
            page.locator("article.msg.assistant .body > .text").filter(has_text="Hello!").wait_for()
            # The refused request never reached the model; the one with the token did.
            assert len(model.requests) == requests_before + 1
            shot(page, "10_token")
        finally:
            page.close()


def test_an_answer_restarted_by_a_fallback_provider_drops_what_it_had_shown(
        browser: Any, model: ModelServer) -> None:
    # The first provider streams two words and is held; released, it sends one more and its
    # connection drops: the FallbackProvider asks the second, whose answer replaces them.
    void = text_turn(["Wrong", " answer", " here"], hold_at=2)
    void.cut_at = 4  # events: the role, "Wrong", " answer", (held) " here", then the cut
    model.queue(void, text_turn(["Right", " answer", "."]))
    with serving(model, "fallback") as url:
        page = open_page(browser, url)
        try:
            ask(page, "Which answer?")
            page.locator("article.msg.assistant .body > .text").filter(
                has_text="Wrong answer").wait_for()
            shot(page, "11_before_fallback")
            void.release.set()
            page.locator("article.msg.assistant[aria-busy=false]").wait_for()
            assistant = page.locator("article.msg.assistant")
            assert assistant.locator(".body > .text").all_inner_texts() == ["Right answer."]
            assert "Wrong" not in assistant.inner_text()
            assert assistant.locator("p.error").count() == 0
            shot(page, "12_after_fallback")
            # What the page keeps (and sends back next turn) has no trace of the void answer.
            stored = page.evaluate("JSON.parse(localStorage.getItem('selectools.chats.v1'))")
            kept = stored["chats"][stored["active"]]["messages"][-1]["parts"]
            assert [p["text"] for p in kept if p["type"] == "text"] == ["Right answer."]
            assert [m["model"] for m in model.requests[-2:]] == ["first", "test-model"]
        finally:
            page.close()


def test_a_call_waiting_for_approval_runs_once_approved_and_not_when_denied(
        browser: Any, model: ModelServer, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions.db"
    with serving(model, f"approval={sessions}") as url:
        page = open_page(browser, url)
        try:
            model.queue(tool_turn("call_ok", "get_weather", WEATHER_ARGUMENT_PIECES),
                        text_turn(ANSWER_TOKENS))
            ask(page, "What is the weather in Paris?")
            card = page.locator("section.tool")
            card.locator(".state").filter(has_text="waiting for your approval").wait_for()
            page.locator("article.msg.assistant[aria-busy=false]").wait_for()
            assert json.loads(card.locator(".args").inner_text()) == {"city": "Paris"}
            requests_before = len(model.requests)
            shot(page, "13_approval_asked")
            card.get_by_role("button", name="Approve").click()
            card.locator(".result pre").filter(has_text=WEATHER_RESULT).wait_for()
            whole = "".join(ANSWER_TOKENS)
            page.locator("article.msg.assistant .body > .text").filter(has_text=whole).wait_for()
            page.locator("article.msg.assistant[aria-busy=false]").wait_for()
            assert card.locator(".state").inner_text() == "done"
            assert not card.get_by_role("button", name="Approve").is_visible()
            # One message: the call, its result, the answer; the model was asked once more,
            # with the tool's result.
            assert page.locator("article.msg.assistant").count() == 1
            assert len(model.requests) == requests_before + 1
            tool_messages = [m for m in model.requests[-1]["messages"] if m["role"] == "tool"]
            assert [m["content"] for m in tool_messages] == [WEATHER_RESULT]
            shot(page, "14_approved")

            page.get_by_role("button", name="+ New chat").click()
            model.queue(tool_turn("call_no", "get_weather", ['{"city": "Oslo"}']),
                        text_turn(["I", " may", " not", " look", "."]))
            ask(page, "And in Oslo?")
            card = page.locator("section.tool")
            card.get_by_role("button", name="Deny").click()
            page.locator("article.msg.assistant .body > .text").filter(
                has_text="I may not look.").wait_for()
            page.locator("article.msg.assistant[aria-busy=false]").wait_for()
            assert card.locator(".state").inner_text() == "denied"
            assert card.locator(".result").is_hidden()
            denied = [m for m in model.requests[-1]["messages"] if m["role"] == "tool"]
            assert len(denied) == 1 and "Sunny" not in denied[0]["content"]
            shot(page, "15_denied")
        finally:
            page.close()
