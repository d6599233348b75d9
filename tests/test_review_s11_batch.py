"""Review s11: `selectools batch` given files a user has, run as a user runs it (a
subprocess, real files, LocalProvider).

- A JSONL line whose string holds U+2028 (LINE SEPARATOR) or U+0085 as the character
  itself: valid JSON (only the C0 controls must be escaped), and exactly what
  `json.dumps(..., ensure_ascii=False)` writes for text pasted from the web.
- Files the command cannot use: a clear `error: ...` and exit status 2, as for a missing
  file or a line that is no JSON, never a traceback.
"""

from __future__ import annotations

import json
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


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "echo_agent.py").write_text(AGENT_MODULE)
    (tmp_path / "in.jsonl").write_text('"first"\n"second"\n')
    return tmp_path


def batch(workdir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "selectools.cli.batch", *arguments, "--plain"],
                          cwd=workdir, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_line_whose_text_holds_a_unicode_line_separator_is_one_input(
        workdir: Path, separator: str) -> None:
    prompt = f"first paragraph{separator}second paragraph"
    lines = [json.dumps({"id": "pasted", "input": prompt}, ensure_ascii=False),
             json.dumps({"id": "plain", "input": "hello"})]
    (workdir / "pasted.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = batch(workdir, "echo_agent:agent", "pasted.jsonl", "--out", "out.jsonl")
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in (workdir / "out.jsonl").read_text().splitlines()]
    assert sorted(result["id"] for result in results) == ["pasted", "plain"]


def test_a_line_that_is_no_json_is_a_clear_error(workdir: Path) -> None:
    """Guard: the behaviour the cases below should share."""
    (workdir / "broken.jsonl").write_text('"fine"\n{"input": \n')
    done = batch(workdir, "echo_agent:agent", "broken.jsonl", "--out", "out.jsonl")
    assert (done.returncode, done.stderr.startswith("error: broken.jsonl:2: not JSON")) == \
        (2, True)


def inputs_not_utf8(workdir: Path) -> list[str]:
    (workdir / "latin1.jsonl").write_bytes(b'"caf\xe9"\n')  # saved by an editor as Latin-1
    return ["echo_agent:agent", "latin1.jsonl", "--out", "out.jsonl"]


def out_is_a_directory(workdir: Path) -> list[str]:
    (workdir / "results").mkdir()
    return ["echo_agent:agent", "in.jsonl", "--out", "results"]


def out_in_a_missing_directory(workdir: Path) -> list[str]:
    return ["echo_agent:agent", "in.jsonl", "--out", "no/such/dir/out.jsonl"]


def factory_needing_arguments(workdir: Path) -> list[str]:
    # `selectools mcp serve` says "calling it with no arguments failed: ..." for the same.
    return ["echo_agent:agent_for", "in.jsonl", "--out", "out.jsonl"]


@pytest.mark.parametrize("case", [
    pytest.param(inputs_not_utf8, id="inputs-not-utf8"),
    pytest.param(out_is_a_directory, id="out-is-a-directory"),
    pytest.param(out_in_a_missing_directory, id="out-in-a-missing-directory"),
    pytest.param(factory_needing_arguments, id="factory-needing-arguments"),
])
def test_a_file_or_agent_the_command_cannot_use_is_a_clear_error(workdir: Path, case: object
                                                                 ) -> None:
    assert callable(case)
    done = batch(workdir, *case(workdir))
    assert "Traceback" not in done.stderr, done.stderr[-400:]
    assert done.returncode == 2
    assert done.stderr.startswith("error: ")
