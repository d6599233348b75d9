"""A child process a test stops with SIGINT (Ctrl-C) must hear it, however the test run was
started: a shell that runs a command in the background without job control (`cmd &` in a
script) starts it with SIGINT ignored, children inherit that, and Python then installs no
KeyboardInterrupt handler. The child gets SIGINT's default back before it starts, as a
terminal's foreground process has it."""

from __future__ import annotations

import signal


def heard() -> None:
    """`preexec_fn` for such a child: SIGINT back to its default."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
