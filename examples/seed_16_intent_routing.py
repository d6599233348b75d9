"""Seed sample: intent routing to teams. A scripted LocalProvider plays the classifier."""

# --- preamble: names the sample leaves undefined ---
from selectools import Agent, AgentConfig, Message, Role, ToolCall, tool
from selectools.providers.stubs import LocalProvider


@tool(description="A sales question: pricing, plans, demos")
def sales_tool(topic: str) -> str:
    return "sales"


@tool(description="A support question: something does not work")
def support_tool(problem: str) -> str:
    return "support"


@tool(description="A billing question: invoices, charges, refunds")
def billing_tool(invoice_question: str) -> str:
    return "billing"


provider = LocalProvider(responses=[ToolCall("support_tool", {"problem": "login fails"})])
user_message = "I cannot log in since this morning"


def route_to_sales_team(args: dict) -> None:
    print("to sales:", args)


def create_support_ticket(args: dict) -> None:
    print("support ticket:", args)


def forward_to_billing(args: dict) -> None:
    print("to billing:", args)

# --- the seed's sample, unchanged ---
config = AgentConfig(routing_only=True)
agent = Agent(
    tools=[sales_tool, support_tool, billing_tool],
    provider=provider,
    config=config,
)

intent = agent.run([Message(role=Role.USER, content=user_message)])

if intent.tool_name == "sales_tool":
    route_to_sales_team(intent.tool_args)
elif intent.tool_name == "support_tool":
    create_support_ticket(intent.tool_args)
else:
    forward_to_billing(intent.tool_args)
