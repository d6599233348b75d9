"""`selectools batch module:agent inputs.jsonl --out results.jsonl`: one agent over a file.

Each line of the inputs is a JSON string (the prompt) or an object with `input` (a string,
or a list of messages as `Message.to_dict` writes them) and optionally `id` (a string or an
integer; the line's number when absent). Each result is one JSON line appended to `--out` the
moment it finishes (one write each, so a killed batch leaves whole lines); running the same
command again skips every id already in `--out` (`--retry-failed`: except those that
failed), so a stopped batch resumes where it was. Ctrl-C stops the runs in flight; every
result finished before it is in `--out` already. `--out` is only ever appended to; an
`--out` that is a stream (`/dev/stdout`, a pipe) gets the results, with nothing to resume.

    {"id": 3, "ok": true, "output": "...", "stop_reason": "completed",
     "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16,
               "cost_usd": 4.2e-06}}
    {"id": 4, "ok": false, "error": {"type": "InvalidRequestError", "message": "..."}}

With `--ray ADDRESS` the inputs run on a Ray cluster (selectools.ray): `auto` joins the
cluster this machine belongs to, `local` starts one here, else `host:port`. Each actor
imports `module:agent` itself, with this directory on its PYTHONPATH and the environment
variables named by `--ray-env` (an API key the module reads, say) set from this one.
"""

from __future__ import annotations

import argparse
import codecs
import inspect
import json
import os
import stat
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._loading import UsageError, _import_attribute

if TYPE_CHECKING:
    from ..agent.core import Agent, Messages
    from ..batch import BatchResult

Key = str | int


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selectools batch", description="Run an agent on every line of a JSONL file.")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("agent", metavar="MODULE:AGENT",
                        help="the Agent to run (or a function returning one)")
    parser.add_argument("inputs", metavar="INPUTS.jsonl", help="one input per line")
    parser.add_argument("--out", required=True, metavar="RESULTS.jsonl",
                        help="where results are appended; ids already there are skipped")
    parser.add_argument("--concurrency", type=int, default=10, metavar="N",
                        help="runs at once (per actor with --ray; default: 10)")
    parser.add_argument("--ray", default=None, metavar="ADDRESS",
                        help="run on a Ray cluster: auto, local, or host:port")
    parser.add_argument("--actors", type=int, default=2, metavar="N",
                        help="Ray actors, each with one Agent (default: 2)")
    parser.add_argument("--ray-env", action="append", default=[], metavar="NAME",
                        help="an environment variable to give the Ray actors, from this "
                             "one (repeatable; e.g. the API key the agent's module reads)")
    parser.add_argument("--response-format", default=None, metavar="MODULE:TYPE",
                        help="a type every final answer is validated as (typed output)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="run again the inputs whose result in --out is a failure")
    parser.add_argument("--plain", action="store_true",
                        help="plain progress lines even on a terminal")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_batch_command(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


# -- reading ----------------------------------------------------------------------------------

def read_inputs(path: Path) -> list[tuple[Key, Messages]]:
    """The inputs file as (id, input) pairs; a bad line is a UsageError naming it."""
    from ..agent.core import _prepare
    from ..types import Message

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    pairs: list[tuple[Key, Messages]] = []
    seen: set[Key] = set()
    # Lines end at "\n" only (a "\r" before it is JSON whitespace): str.splitlines() also
    # ends them at U+2028, U+2029 and U+0085, which JSON lets a string hold unescaped.
    for number, line in enumerate(utf8_text(path, data).split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise UsageError(f"{where}: not JSON ({exc})") from None
        key: Key = number
        item: Messages
        if isinstance(value, str):
            item = value
        elif isinstance(value, dict) and "input" in value:
            raw = value["input"]
            if "id" in value:
                key = value["id"]
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise UsageError(f"{where}: id must be a string or an integer")
            try:
                item = raw if isinstance(raw, str) else [Message.from_dict(m) for m in raw]
            except (TypeError, ValueError, KeyError) as exc:
                raise UsageError(f"{where}: input is not a list of messages ({exc})") from None
        else:
            raise UsageError(f'{where}: expected a JSON string or {{"input": ...}}')
        try:
            _prepare(item)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"{where}: {exc}") from None
        if key in seen:
            raise UsageError(f"{where}: the id {key!r} appears twice")
        seen.add(key)
        pairs.append((key, item))
    return pairs


def utf8_text(path: Path, data: bytes) -> str:
    """`data` (the file at `path`) as text; bytes that are no UTF-8 (a file saved as
    Latin-1 or UTF-16) are a UsageError naming the line and the byte offset. A UTF-8 byte
    order mark (Windows editors and PowerShell write one) is left out."""
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        line = data.count(b"\n", 0, offset) + 1
        raise UsageError(f"{path}:{line}: not UTF-8 (byte 0x{data[offset]:02x} at byte offset "
                         f"{offset}): save the file as UTF-8") from None


def read_finished(path: Path, retry_failed: bool) -> set[Key]:
    """The ids with a result in `path` (with `retry_failed`, a successful one). A last line
    cut short (the process was killed while writing it) is removed, so appending goes on
    from a whole line; a last line that is whole but for its newline (a file saved by an
    editor that leaves it out) is a result, and gets its newline. Either is done only once
    every other line is known to be a result: a file that is not ours is left as it is."""
    data = read_results(path)
    if data is None:
        return set()
    whole = data.rfind(b"\n") + 1
    finished: dict[Key, bool] = {}
    for number, line in enumerate(data[:whole].split(b"\n"), 1):
        if not line.strip():
            continue
        found = _result_line(line)
        if found is None:
            raise UsageError(f"{path}:{number} is not a result line of selectools batch")
        key, ok = found
        finished[key] = ok or finished.get(key, False)
    if whole < len(data):
        last = _result_line(data[whole:])
        try:
            with open(path, "r+b") as out:
                if last is not None:
                    out.seek(0, os.SEEK_END)
                    out.write(b"\n")
                    key, ok = last
                    finished[key] = ok or finished.get(key, False)
                else:
                    out.truncate(whole)
        except OSError as exc:
            raise UsageError(f"--out {path}: cannot write it ({exc.strerror or exc})") from None
    return {key for key, ok in finished.items() if ok or not retry_failed}


def check_results_path(path: Path) -> bool:
    """Whether `--out` is a file with results to read: False when it does not exist yet
    (its directory does) or is a stream (a pipe, /dev/stdout, /dev/null: nothing to resume,
    and reading one to its end may never end). A path that cannot be one (a directory, a
    missing directory) is a UsageError saying why, before anything is written."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():  # not made for the user: a typo would grow a tree
            raise UsageError(f"--out {path}: the directory {path.parent} does not exist"
                             ) from None
        return False
    except OSError as exc:  # (a file where a directory was named: "Not a directory")
        raise UsageError(f"--out {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"--out {path}: is a directory; name a file in it, e.g. "
                         f"{path / 'results.jsonl'}")
    return stat.S_ISREG(mode)


def read_results(path: Path) -> bytes | None:
    """What `--out` holds, None when it has nothing to read (check_results_path)."""
    if not check_results_path(path):
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot read it ({exc.strerror or exc})") from None


def _result_line(line: bytes) -> tuple[Key, bool] | None:
    """A result line's id and whether it succeeded; None for a line that is none (an id
    that is no string or integer included: the inputs' ids are those)."""
    try:
        record = json.loads(line)
        key, ok = record["id"], bool(record["ok"])
    except (ValueError, KeyError, TypeError):
        return None
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        return None
    return key, ok


# -- writing ----------------------------------------------------------------------------------

def result_record(key: Key, outcome: BatchResult) -> dict[str, Any]:
    if outcome.error is not None:
        return {"id": key, "ok": False, "error": {"type": type(outcome.error).__name__,
                                                   "message": str(outcome.error)}}
    result = outcome.result
    assert result is not None
    record: dict[str, Any] = {"id": key, "ok": True, "output": result.content,
                              "stop_reason": result.stop_reason}
    if result.structured_status is not None:
        from ..types import plain_data

        record["parsed"] = plain_data(result.parsed)
        record["structured_status"] = result.structured_status
    if result.usage is not None:
        usage = result.usage
        record["usage"] = {"prompt_tokens": usage.prompt_tokens,
                           "completion_tokens": usage.completion_tokens,
                           "total_tokens": usage.total_tokens, "cost_usd": usage.cost_usd}
    return record


@dataclass
class Tally:
    """What this run has done so far, for the progress display."""

    total: int
    skipped: int
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    failed: int = 0
    tokens: int = 0
    cost: float = 0.0

    def add(self, outcome: BatchResult) -> None:
        self.done += 1
        if outcome.error is not None:
            self.failed += 1
        elif outcome.result is not None and outcome.result.usage is not None:
            self.tokens += outcome.result.usage.total_tokens
            self.cost += outcome.result.usage.cost_usd

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        rate = self.rate()
        left = self.total - self.done
        eta = f"{left / rate:.0f} s" if rate > 0 else "-"
        return (f"{self.done}/{self.total} done, {self.failed} failed, {rate:.1f}/s, "
                f"ETA {eta}, {self.tokens} tokens, {dollars(self.cost)}")


def dollars(cost: float) -> str:
    """A cost readable at both ends: cents for big batches, micro-dollars for tests."""
    return f"${cost:.2f}" if cost >= 1 else f"${cost:.6f}"


#: The line ends str.splitlines() knows that json.dumps(ensure_ascii=False) leaves raw in
#: a string (it escapes the C0 ones): escaped, so a reader splitting with splitlines() (as
#: most Python does) gets one result per line.
_LINE_ENDS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class ResultsFile:
    """`--out`, appended one whole line per write (O_APPEND), in the order results come.
    Opened for appending only, never truncated: what was there stays."""

    def __init__(self, path: Path, keys: Sequence[Key], tally: Tally,
                 on_step: Any = None) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(f"--out {path}: cannot write it ({exc.strerror or exc})") from None
        self._keys = keys
        self.tally = tally
        self._on_step = on_step

    def write(self, outcome: BatchResult) -> None:
        record = result_record(self._keys[outcome.index], outcome)
        text = json.dumps(record, ensure_ascii=False, default=str).translate(_LINE_ENDS)
        try:
            line = (text + "\n").encode()
        except UnicodeEncodeError:  # half a surrogate pair in an answer: no UTF-8 for it,
            line = (json.dumps(record, default=str) + "\n").encode()  # but a JSON escape
        try:
            written = os.write(self._fd, line)
        except OSError as exc:  # (a full disk: the batch ends; a rerun resumes it)
            raise UsageError(f"--out {self.path}: cannot write a result "
                             f"({exc.strerror or exc}); run again to resume") from None
        if written < len(line):  # the disk filled mid-line: the line is cut, the next
            # would be glued to it; a rerun removes the cut last line and resumes
            raise UsageError(f"--out {self.path}: a result was cut short ({written} of "
                             f"{len(line)} bytes written); run again to resume")
        self.tally.add(outcome)
        if self._on_step is not None:
            self._on_step()

    def close(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError:
            pass  # (a pipe or /dev/full: nothing to sync, and a write's error says more)
        finally:
            os.close(self._fd)


# -- progress ---------------------------------------------------------------------------------

class PlainProgress:
    """A progress line on stderr at most every `every` seconds, and at the end."""

    def __init__(self, tally: Tally, stream: TextIO = sys.stderr, every: float = 2.0) -> None:
        self.tally, self._stream, self._every = tally, stream, every
        self._last = 0.0

    def __enter__(self) -> PlainProgress:
        return self

    def step(self) -> None:
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            print(self.tally.line(), file=self._stream, flush=True)

    def __exit__(self, *exc: object) -> None:
        print(self.tally.line(), file=self._stream, flush=True)


class RichProgress:
    """rich's progress bar with the rate, the ETA, failures and tokens/cost so far."""

    def __init__(self, tally: Tally) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.tally = tally
        self._progress = Progress(
            TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}/s"), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("{task.fields[tokens]} tokens {task.fields[cost]}"),
            TimeElapsedColumn(), console=Console(stderr=True), refresh_per_second=4)
        self._task = self._progress.add_task("batch", total=tally.total, **self._fields())

    def _fields(self) -> dict[str, Any]:
        return {"rate": f"{self.tally.rate():.1f}", "failed": str(self.tally.failed),
                "tokens": str(self.tally.tokens), "cost": dollars(self.tally.cost)}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def step(self) -> None:
        self._progress.update(self._task, completed=self.tally.done, **self._fields())

    def __exit__(self, *exc: object) -> None:
        self.step()
        self._progress.stop()


# -- running ----------------------------------------------------------------------------------

def load_agent(spec: str) -> Agent:
    from ..agent.core import Agent

    found = _import_attribute(spec, "batch")
    if not isinstance(found, Agent) and callable(found):
        try:
            # Bound first: a TypeError from inside a factory that takes no arguments is
            # its own bug, and keeps its traceback.
            inspect.signature(found).bind()
        except TypeError as exc:  # a function that needs arguments is no agent factory
            raise UsageError(f"batch {spec}: calling it with no arguments failed: {exc}"
                             ) from None
        except ValueError:
            pass  # (no signature to read, a builtin's: called as it is)
        found = found()
    if not isinstance(found, Agent):
        raise UsageError(f"batch {spec}: expected an Agent (or a function returning one), "
                         f"got {type(found).__name__}")
    return found


def run_batch_command(args: argparse.Namespace) -> int:
    from ..batch import check_agent

    if args.concurrency < 1 or args.actors < 1:
        raise UsageError("--concurrency and --actors must be at least 1")
    pairs = read_inputs(Path(args.inputs))
    out = Path(args.out)
    check_results_path(out)  # (an --out it cannot use is named before the agent loads)
    agent = load_agent(args.agent)
    try:
        check_agent(agent)
    except ValueError as exc:
        raise UsageError(f"batch {args.agent}: {exc}") from None
    answer_type = _import_attribute(args.response_format, "--response-format") \
        if args.response_format else None
    # Only now, every argument usable, is --out touched (a cut last line removed); opened
    # to append, never truncated, so a failure at any point loses no result in it.
    finished = read_finished(out, args.retry_failed)
    todo = [(key, item) for key, item in pairs if key not in finished]
    tally = Tally(total=len(todo), skipped=len(pairs) - len(todo))
    if tally.skipped:
        print(f"{tally.skipped} of {len(pairs)} inputs already in {out}: skipped",
              file=sys.stderr)
    use_rich = not args.plain and sys.stderr.isatty() and _has_rich()
    display = RichProgress(tally) if use_rich else PlainProgress(tally)
    results = ResultsFile(out, [key for key, _ in todo], tally, display.step)
    items = [item for _, item in todo]
    stopped = False
    try:
        with display:
            if args.ray is not None:
                _run_on_ray(args, items, answer_type, results)
            else:
                import asyncio

                asyncio.run(_run_here(agent, items, args.concurrency, answer_type, results))
    except KeyboardInterrupt:
        stopped = True
    finally:
        results.close()
    if stopped:
        print(f"stopped: {tally.done} results written to {out} ({tally.total - tally.done} "
              "not finished); run the same command again to resume", file=sys.stderr)
        return 130
    print(f"done: {tally.done - tally.failed} ok, {tally.failed} failed, "
          f"{tally.tokens} tokens, {dollars(tally.cost)}; results in {out}", file=sys.stderr)
    return 1 if tally.failed else 0


async def _run_here(agent: Agent, items: list[Messages], concurrency: int,
                    answer_type: Any, results: ResultsFile) -> None:
    from ..batch import abatch

    try:
        # Each result is on disk once written: holding them all would grow with the file.
        await abatch(agent, items, max_concurrency=concurrency, response_format=answer_type,
                     on_result=results.write, keep_results=False)
    finally:
        close = getattr(agent.provider, "aclose", None)
        if close is not None:
            await close()


def _run_on_ray(args: argparse.Namespace, items: list[Messages], answer_type: Any,
                results: ResultsFile) -> None:
    try:
        import ray

        from ..ray import ray_batch
    except ImportError:
        raise UsageError("--ray needs the ray extra: pip install 'selectools[ray]'") from None
    if not ray.is_initialized():
        here = os.getcwd()
        path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
        missing = [name for name in args.ray_env if name not in os.environ]
        if missing:
            raise UsageError(f"--ray-env {missing[0]}: not set in this environment")
        # Only the variables named: an actor's environment is shown by Ray's dashboard
        # and state API, so nothing (no API key) goes there unasked.
        variables = {"PYTHONPATH": path, **{name: os.environ[name] for name in args.ray_env}}
        options: dict[str, Any] = {"runtime_env": {"env_vars": variables},
                                   "log_to_driver": False}
        if args.ray == "local":  # a cluster of our own: no dashboard to serve
            ray.init(include_dashboard=False, **options)
        else:
            ray.init(address=args.ray, **options)
    ray_batch(args.agent, items, num_actors=args.actors, concurrency_per_actor=args.concurrency,
              response_format=answer_type, on_result=results.write, keep_results=False)


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
