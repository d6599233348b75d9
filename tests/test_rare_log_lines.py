"""The log lines of the rare paths, now that `logging` is imported where they are logged
(not at `import selectools`): each still reaches the `selectools` logger."""

from __future__ import annotations

import logging

import pytest

from selectools import LoggingObserver, ToolCall, tool
from selectools.observer import ObserverHub
from selectools.tools.approval import approval_check


def _broken_rule(arguments: dict[str, object]) -> bool:
    raise RuntimeError("rule broke")


@tool(requires_approval=_broken_rule)
def pay(amount: int) -> str:
    """Pay an amount."""
    return "paid"


def test_a_broken_approval_rule_is_logged_and_the_call_waits(
        caplog: pytest.LogCaptureFixture) -> None:
    needs_approval = approval_check({"pay": pay}, None)
    assert needs_approval is not None
    with caplog.at_level(logging.ERROR, logger="selectools"):
        assert needs_approval(ToolCall("pay", {"amount": 3})) is True
    assert [record.getMessage() for record in caplog.records] == [
        "the approval rule for tool 'pay' raised; the call waits for approval"]


def test_an_observer_that_raises_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def on_usage(self, run_id: str, usage: object) -> None:
            raise RuntimeError("observer broke")

    hub = ObserverHub([Broken()])
    with caplog.at_level(logging.ERROR, logger="selectools"):
        hub.emit_sync("on_usage", "r1", None)
        hub.emit_sync("on_usage", "r1", None)
    assert [record.getMessage() for record in caplog.records] == [
        "observer Broken raised in on_usage; further errors of it there are not logged"]


def test_logging_observer_logs_at_info_on_the_selectools_logger(
        caplog: pytest.LogCaptureFixture) -> None:
    observer = LoggingObserver()
    assert (observer.level, observer.log) == (logging.INFO, logging.getLogger("selectools"))
    with caplog.at_level(logging.INFO, logger="selectools"):
        observer.on_usage("r1", None)
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.INFO, "usage run=r1 usage=None")]
