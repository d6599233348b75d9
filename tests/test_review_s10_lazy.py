"""Review of session 10's import-time work: pathlib and base64 loaded with the first image
file read (types.py), the tool-name pattern compiled on first use (tools/base.py), cost_usd
read from UsageStats.priced (usage.py). A name loaded late must behave on its first use
as before, also when that first use happens in many threads at once, and the public
functions' annotations must still resolve."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from selectools import image_message
from selectools.usage import PRICES_PER_MILLION, UsageStats, cost_usd

REPO = Path(__file__).parent.parent
#: The smallest PNG: its signature, then an IHDR chunk is enough for the sniffing.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17

_FIRST_USE_IN_THREADS = r"""
import json, sys, threading
import selectools
from selectools import Message, Role, tool

image, count = sys.argv[1], 16
barrier = threading.Barrier(count)
seen = [None] * count

def first_use(number):
    barrier.wait()
    message = Message(role=Role.USER, content="look", image_path=image)
    part = message.content_parts[-1]
    def f() -> str:
        "A tool."
        return "x"
    good = tool(name=f"tool_{number % 3}.v-1")(f)
    refused = []
    for bad in ("1starts_with_a_digit", "has space", "x" * 65, "é"):
        try:
            tool(name=bad)(f)
        except ValueError:
            refused.append(bad)
    seen[number] = [part.type, part.media_type, part.image_base64, good.name, refused]

threads = [threading.Thread(target=first_use, args=(n,)) for n in range(count)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(seen))
"""


def test_the_first_image_read_and_tool_names_in_many_threads_at_once(tmp_path: Path) -> None:
    image = tmp_path / "tiny.png"
    image.write_bytes(PNG)
    done = subprocess.run([sys.executable, "-c", _FIRST_USE_IN_THREADS, str(image)],
                          capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    import base64

    for number, (kind, media, data, name, refused) in enumerate(seen):
        assert (kind, media) == ("image_base64", "image/png")
        assert base64.b64decode(data) == PNG
        assert name == f"tool_{number % 3}.v-1"
        assert refused == ["1starts_with_a_digit", "has space", "x" * 65, "é"]


def test_image_messages_annotations_resolve() -> None:
    # (pathlib loads with the first image read: the file parameter is an os.PathLike,
    # which a Path is.)
    hints = typing.get_type_hints(image_message)
    assert hints["prompt"] is str
    assert isinstance(Path("x"), typing.get_origin(typing.get_args(hints["image"])[1]))


def test_image_message_reads_a_file_given_as_a_path_or_a_str(tmp_path: Path) -> None:
    image = tmp_path / "tiny.png"
    image.write_bytes(PNG)
    by_path, by_str = image_message(image), image_message(str(image))
    assert by_path.content_parts == by_str.content_parts
    with pytest.raises(FileNotFoundError):
        image_message(tmp_path / "missing.png")


@pytest.mark.parametrize("model", [*list(PRICES_PER_MILLION)[:5], "gpt-4o-2024-08-06",
                                   "local-llama", ""])
def test_cost_usd_is_the_price_tables_formula(model: str) -> None:
    priced = UsageStats.priced(model=model, provider="p", prompt_tokens=1234,
                               completion_tokens=567)
    assert cost_usd(model, 1234, 567) == priced.cost_usd
    assert cost_usd(model, 0, 0) in (None, 0.0)
    if model in PRICES_PER_MILLION:
        prompt, completion = PRICES_PER_MILLION[model]
        assert cost_usd(model, 1234, 567) == (1234 * prompt + 567 * completion) / 1_000_000
    if model in ("local-llama", ""):
        assert cost_usd(model, 1234, 567) is None


class _PathLike:
    """An os.PathLike that is no pathlib.Path (its str is not its path)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


def test_image_message_takes_any_os_pathlike_its_annotation_names(tmp_path: Path) -> None:
    image = tmp_path / "tiny.png"
    image.write_bytes(PNG)
    assert image_message(_PathLike(image)).content_parts == image_message(image).content_parts
