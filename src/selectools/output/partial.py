"""An incremental parser for JSON that arrives in pieces (a model's streamed answer).

`PartialJSONParser.feed(delta)` returns the value the text fed so far describes, or
`UNCHANGED` when the delta changed nothing visible. The value is built in place and
grows: strings grow as their characters arrive, numbers and `true`/`false`/`null` appear
once complete, a member or element appears when its value begins, and open objects and
arrays stand as if closed. So each value returned is a prefix of the next: nothing
shown is ever taken back.

Every character is examined once, whatever the deltas: the total cost stays linear in
the answer. Two things make that so. Containers are updated in place, never copied: the
value returned is the same object each time, growing (copy it to keep a snapshot). And a
string that grows past `_ALWAYS_SHOWN` characters is re-shown only once it has grown by a
sixteenth, since making the grown `str` costs its whole length: short strings follow
every delta, a long one follows within 6 % of its length, and its final text is always
exact.

The parser is in four modules, each read on its own:

- partial.py (this one): the public parser, `PartialJSONParser`, and `UNCHANGED`;
- partial_short_path.py: its `feed`, which takes the plain parts of JSON inline (most of
  a model's answer) and hands anything else to the general scanner where it stopped;
- partial_scanner.py: the general scanner, `PartialScanner`, every state and error;
- partial_syntax.py: the states and patterns of JSON both paths read.

A test holds the two paths to the same values and errors
(tests/test_s9_output_short_path.py).
"""

from __future__ import annotations

from . import partial_short_path
from .partial_scanner import UNCHANGED, PartialScanner

__all__ = ["UNCHANGED", "PartialJSONParser"]


class PartialJSONParser(PartialScanner):
    """Parse one JSON value from text fed in pieces.

    `start`, when given, makes the parser lenient the way a model's answer needs: text
    before the first character in `start` (say `"{"` for an object: a code fence, a
    sentence) is skipped, and text after the value is ignored. Without it the text must
    be one JSON document, whitespace around it allowed.

    `feed(delta)` returns the value if it changed, else `UNCHANGED`; `finish()` the
    complete value; both raise PartialJSONError when the text cannot be JSON. `value`
    is the value so far, `done` whether it is complete.
    """

    __slots__ = ()

    #: Whether the short path is taken (a test's reference parser turns it off).
    _SHORT_PATH = True

    # The short path's function is the method itself: no call of ours around it on
    # every delta.
    feed = partial_short_path.feed
