"""`selectools batch` and the files it is given, run as a user runs it (a subprocess, real
files, LocalProvider, which answers with the prompt): a failure at any point leaves a
results file as it was, a result's text never splits its line, and an --out that is a
stream (a pipe, /dev/null) takes results without being read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

AGENT_MODULE = '''
from selectools import Agent
from selectools.providers.stubs import LocalProvider

agent = Agent(tools=[], provider=LocalProvider())


def agent_for(tenant):
    return agent
'''

#: A results file from an earlier run, killed while writing its second line.
EARLIER = (json.dumps({"id": 1, "ok": True, "output": "first"}) + "\n").encode() + \
    b'{"id": 2, "ok": tr'


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "echo_agent.py").write_text(AGENT_MODULE)
    (tmp_path / "in.jsonl").write_text('"first"\n"second"\n')
    return tmp_path


def batch(workdir: Path, *arguments: str, prefix: tuple[str, ...] = ()
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "selectools.cli.batch", *arguments,
                           "--plain"], cwd=workdir, capture_output=True, text=True, timeout=120)


#: Runs a command bound by file permissions: as root (CI), without the capabilities that
#: let root write any file (util-linux's setpriv drops them from what it executes).
AS_A_USER = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--") \
    if os.name == "posix" and os.geteuid() == 0 else ()


def clear_error(done: subprocess.CompletedProcess[str], says: str) -> None:
    """The command's last line is `error: {says}...` (after progress lines, when it ran),
    and it exits with 2."""
    assert "Traceback" not in done.stderr, done.stderr[-400:]
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(f"error: {says}"), done.stderr


@pytest.mark.parametrize(("arguments", "says"), [
    (["echo_agent:agent_for", "in.jsonl"],
     "batch echo_agent:agent_for: calling it with no arguments failed"),
    (["echo_agent:nothing", "in.jsonl"], "batch echo_agent:nothing: module"),
    (["echo_agent:agent", "latin1.jsonl"], "latin1.jsonl:2: not UTF-8 (byte 0xe9 at byte "
                                           "offset 12)"),
    (["echo_agent:agent", "in.jsonl", "--response-format", "echo_agent:Nope"],
     "--response-format echo_agent:Nope"),
], ids=["factory-needing-arguments", "no-such-agent", "inputs-not-utf8", "no-such-type"])
def test_a_failure_before_running_leaves_the_results_file_as_it_was(
        workdir: Path, arguments: list[str], says: str) -> None:
    """Even its cut last line, which a run that goes ahead removes."""
    (workdir / "latin1.jsonl").write_bytes(b'"first"\n"caf\xe9"\n')
    (workdir / "out.jsonl").write_bytes(EARLIER)
    clear_error(batch(workdir, *arguments, "--out", "out.jsonl"), says)
    assert (workdir / "out.jsonl").read_bytes() == EARLIER


def test_a_factory_failing_inside_keeps_its_traceback(workdir: Path) -> None:
    """Only a factory that needs arguments is the command's to explain: a TypeError from
    inside one that takes none is a bug in the user's code, shown where it is."""
    (workdir / "broken_agent.py").write_text("def make():\n    return len(1)\n")
    done = batch(workdir, "broken_agent:make", "in.jsonl", "--out", "out.jsonl")
    assert done.returncode == 1
    assert 'broken_agent.py", line 2, in make' in done.stderr, done.stderr[-400:]
    assert "calling it with no arguments" not in done.stderr


def test_a_file_that_is_no_results_file_is_left_as_it_was(workdir: Path) -> None:
    """Its last line looks cut short, but the file is not ours (the inputs named twice,
    say): it was truncated before its first line was found to be no result."""
    notes = b"my notes\nthe last line, without its newline"
    (workdir / "notes.txt").write_bytes(notes)
    clear_error(batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "notes.txt"),
                "notes.txt:1 is not a result line")
    assert (workdir / "notes.txt").read_bytes() == notes


@pytest.mark.skipif(os.name != "posix", reason="POSIX file permissions")
def test_a_results_file_it_cannot_write_is_a_clear_error_and_left_as_it_was(
        workdir: Path) -> None:
    out = workdir / "out.jsonl"
    whole = EARLIER[:EARLIER.index(b"\n") + 1]
    # A cut last line to remove (refused at the repair), then none (refused at the open).
    for earlier in (EARLIER, whole):
        out.write_bytes(earlier)
        out.chmod(0o444)
        clear_error(batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "out.jsonl",
                          prefix=AS_A_USER),
                    "--out out.jsonl: cannot write it (Permission denied)")
        assert out.read_bytes() == earlier
        out.chmod(0o644)


def test_a_missing_directory_is_named_and_not_made(workdir: Path) -> None:
    clear_error(batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "no/such/out.jsonl"),
                "--out no/such/out.jsonl: the directory no/such does not exist")
    assert not (workdir / "no").exists()


def test_a_file_named_as_a_directory_is_a_clear_error(workdir: Path) -> None:
    clear_error(batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "in.jsonl/out"),
                "--out in.jsonl/out: Not a directory")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_result_holding_a_unicode_line_separator_is_one_line_for_splitlines(
        workdir: Path, separator: str) -> None:
    """json.dumps(ensure_ascii=False) leaves U+2028/U+2029/U+0085 raw, and a reader
    splitting with str.splitlines() got half a result on each of two lines."""
    prompt = f"first paragraph{separator}second paragraph"
    (workdir / "in.jsonl").write_text(json.dumps({"id": "p", "input": prompt},
                                                 ensure_ascii=False) + "\n", encoding="utf-8")
    done = batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "out.jsonl")
    assert done.returncode == 0, done.stderr
    lines = (workdir / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["output"] for line in lines] == [prompt]
    again = batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "out.jsonl")
    assert "1 of 1 inputs already in out.jsonl: skipped" in again.stderr, again.stderr


def test_inputs_with_a_byte_order_mark_and_crlf_line_ends_are_read(workdir: Path) -> None:
    """As Windows PowerShell 5 and Notepad save UTF-8."""
    (workdir / "in.jsonl").write_bytes(b'\xef\xbb\xbf"first"\r\n{"id": "b", "input": '
                                       b'"caf\xc3\xa9"}\r\n\r\n')
    done = batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "out.jsonl")
    assert done.returncode == 0, done.stderr
    got = {r["id"]: r["output"] for r in map(json.loads, (workdir / "out.jsonl").open())}
    assert got == {1: "first", "b": "caf\u00e9"}


def test_not_utf8_after_a_byte_order_mark_names_the_offset_in_the_file(workdir: Path
                                                                        ) -> None:
    (workdir / "in.jsonl").write_bytes(b'\xef\xbb\xbf"caf\xe9"\n')
    clear_error(batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "out.jsonl"),
                "in.jsonl:1: not UTF-8 (byte 0xe9 at byte offset 7)")
    assert not (workdir / "out.jsonl").exists()


def test_results_to_stdout_are_streamed_without_reading_it(workdir: Path) -> None:
    done = batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["output"] for line in done.stdout.splitlines()] == \
        ["first", "second"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_disk_is_a_clear_error(workdir: Path) -> None:
    clear_error(batch(workdir, "echo_agent:agent", "in.jsonl", "--out", "/dev/full"),
                "--out /dev/full: cannot write a result (No space left on device)")
