"""Routing mode: the model picks a tool, nothing runs. One model call, then the decision.

An observer shows which events fire; the trace records the call and the selection.
"""

from selectools import Agent, AgentConfig, AgentObserver, ToolCall, tool
from selectools.providers.stubs import LocalProvider

ran: list[str] = []


@tool(description="Questions about prices, plans and demos")
def sales(question: str) -> str:
    ran.append("sales")
    return "sales"


@tool(description="Something is broken or does not work")
def support(problem: str) -> str:
    ran.append("support")
    return "support"


class ShowEvents(AgentObserver):
    def on_iteration_start(self, run_id, iteration, messages):  # type: ignore[no-untyped-def]
        print(f"event: iteration {iteration} starts")

    def on_llm_end(self, run_id, response, usage):  # type: ignore[no-untyped-def]
        print("event: one model call ended")

    def on_tool_start(self, run_id, call_id, tool_name, tool_args):  # type: ignore[no-untyped-def]
        print("event: a tool started (this must not happen in routing mode)")


classifier = LocalProvider(responses=[ToolCall("support", {"problem": "the app crashes"})])
agent = Agent(tools=[sales, support], provider=classifier,
              config=AgentConfig(routing_only=True, observers=[ShowEvents()]))

intent = agent.run("The app crashes when I open it")
print(f"route to: {intent.tool_name} {intent.tool_args}")
print(f"iterations: {intent.iterations}, tools run: {ran}, stop reason: {intent.stop_reason}")
print("trace:", [step.type for step in intent.trace.steps])
