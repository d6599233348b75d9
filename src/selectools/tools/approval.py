"""Which tool calls wait for a person: a tool's `requires_approval`, and the agent's policy.

A call needs approval when its tool says so (`requires_approval=True`, or a function of the
call's arguments that returns True for this call) or when `AgentConfig.approval_policy`
(a function of the ToolCall) returns True for it. A rule that raises is taken as "yes":
when in doubt, a person decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .._log import logger

if TYPE_CHECKING:
    from ..types import ToolCall
    from .base import Tool

#: A tool's rule: a bool, or a function of the call's arguments.
ApprovalRule = bool | Callable[[dict[str, Any]], bool]
#: The agent's rule for every call: a function of the ToolCall.
ApprovalPolicy = Callable[["ToolCall"], bool]


def check_rule(tool_name: str, rule: object) -> ApprovalRule:
    if type(rule) is bool or (callable(rule) and not isinstance(rule, type)):
        return rule
    raise TypeError(f"tool {tool_name!r}: requires_approval must be True, False or a "
                    f"function of the call's arguments, got {rule!r}")


def approval_check(tools: Mapping[str, Tool], policy: ApprovalPolicy | None
                   ) -> Callable[[ToolCall], bool] | None:
    """The function telling whether a call needs approval, or None when no call can (the
    engine then checks nothing, at no cost per call)."""
    if policy is None and not any(t.requires_approval is not False for t in tools.values()):
        return None

    def needs_approval(call: ToolCall) -> bool:
        tool = tools.get(call.tool_name)
        if tool is None:  # an unknown tool only gets an error back; it runs nothing
            return False
        rule = tool.requires_approval
        if rule is True or (rule is not False and _asks(rule, call.parameters, call)):
            return True
        return policy is not None and _asks(policy, call, call)

    return needs_approval


def _asks(rule: Callable[[Any], bool], argument: Any, call: ToolCall) -> bool:
    try:
        return bool(rule(argument))
    except Exception:  # a broken rule must not let a call through unapproved
        logger().exception(
            "the approval rule for tool %r raised; the call waits for approval", call.tool_name)
        return True
