"""`@tool` in all its spellings, on functions, coroutines and methods."""

from __future__ import annotations

import asyncio

import pytest

from selectools.tools import Tool, tool


def test_bare_decorator() -> None:
    @tool
    def greet(name: str) -> str:
        """Say hello.

        Longer text that is not part of the summary.
        """
        return f"hello {name}"

    assert isinstance(greet, Tool)
    assert greet.name == "greet"
    assert greet.description == "Say hello."
    assert greet.is_async is False


def test_empty_call_and_keyword_options() -> None:
    @tool()
    def a(x: int) -> int:
        """First line
        continues the summary.

        Details.
        """
        return x

    @tool(name="renamed", description="Explicit description")
    def b(x: int) -> int:
        """Ignored docstring."""
        return x

    assert a.name == "a" and a.description == "First line continues the summary."
    assert b.name == "renamed" and b.description == "Explicit description"


def test_no_docstring_gives_empty_description() -> None:
    @tool
    def quiet() -> str:
        return ""

    assert quiet.description == ""


def test_decorated_function_stays_callable() -> None:
    @tool(description="Add")
    def add(a: int, b: int = 1) -> int:
        return a + b

    assert add(2) == 3
    assert add(2, b=5) == 7


async def test_async_function_is_detected_and_still_awaitable() -> None:
    @tool(description="Fetch")
    async def fetch(url: str) -> str:
        await asyncio.sleep(0)
        return url.upper()

    assert fetch.is_async is True
    assert await fetch("x") == "X"
    assert await fetch.aexecute({"url": "ab"}) == "AB"


def test_bad_name_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid tool name 'has space'"):
        Tool(name="has space", description="", function=lambda: "")


@pytest.mark.parametrize("name", ["ok\n", "ok\r\n", "\nok", "o\nk"])
def test_a_name_with_a_line_break_is_refused(name: str) -> None:
    # A provider refuses such a function name: the agent would fail on its first call.
    with pytest.raises(ValueError, match="invalid tool name"):
        Tool(name=name, description="", function=lambda: "")
    assert Tool(name="ok", description="", function=lambda: "").name == "ok"


def test_positional_string_to_tool_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="keyword options only"):
        tool("search")  # type: ignore[call-overload]


def test_generator_functions_are_refused() -> None:
    def numbers() -> object:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        tool(numbers)


def test_repr_is_helpful() -> None:
    @tool(description="Search the web")
    async def search(query: str, limit: int = 3) -> str:
        return ""

    text = repr(search)
    assert "search" in text and "Search the web" in text
    assert "['query', 'limit']" in text and "async" in text


class Account:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = 100

    @tool(description="Deposit money")
    def deposit(self, amount: int) -> str:
        """Put money in.

        Args:
            amount: How much, in cents.
        """
        self.balance += amount
        return f"{self.owner}: {self.balance}"

    @tool
    async def statement(self, month: str) -> dict[str, object]:
        """Monthly statement."""
        return {"owner": self.owner, "month": month, "balance": self.balance}

    @tool
    @staticmethod
    def rates(currency: str = "EUR") -> str:
        """Exchange rates."""
        return f"rates for {currency}"

    @tool
    @classmethod
    def bank(cls, branch: str) -> str:
        """The bank's name."""
        return f"{cls.__name__}@{branch}"


def test_method_schema_excludes_self() -> None:
    assert Account.deposit.parameters_schema["properties"] == {
        "amount": {"type": "integer", "description": "How much, in cents."}}
    assert Account.deposit.parameters_schema["required"] == ["amount"]


def test_class_access_gives_the_unbound_tool() -> None:
    unbound = Account.__dict__["deposit"]
    assert Account.deposit is unbound
    assert isinstance(unbound, Tool)


async def test_instance_access_gives_a_tool_bound_to_the_instance() -> None:
    alice, bob = Account("alice"), Account("bob")
    bound = alice.deposit
    assert isinstance(bound, Tool)
    assert bound.name == "deposit" and bound.description == "Deposit money"
    assert bound.parameters_schema == Account.deposit.parameters_schema
    assert await bound.aexecute({"amount": "5"}) == "alice: 105"
    assert alice.balance == 105 and bob.balance == 100
    assert bob.deposit(1) == "bob: 101"
    assert "bound to a Account instance" in repr(bound)


async def test_async_method() -> None:
    acct = Account("carol")
    assert acct.statement.is_async
    assert await acct.statement.aexecute({"month": "May"}) == (
        '{"owner": "carol", "month": "May", "balance": 100}')


async def test_staticmethod_and_classmethod_tools() -> None:
    assert Account.rates.parameters_schema["properties"] == {
        "currency": {"type": "string", "default": "EUR"}}
    assert await Account("x").rates.aexecute({}) == "rates for EUR"
    assert list(Account.bank.parameters_schema["properties"]) == ["branch"]
    assert await Account.bank.aexecute({"branch": "Oslo"}) == "Account@Oslo"
    assert await Account("x").bank.aexecute({"branch": "Bergen"}) == "Account@Bergen"


def test_a_plain_function_with_a_self_parameter_is_not_a_method() -> None:
    def odd(self: str) -> str:
        return self

    assert list(tool(odd).parameters_schema["properties"]) == ["self"]


def test_a_tool_stored_on_a_class_is_not_bound() -> None:
    @tool
    def ping(host: str) -> str:
        return host

    class Box:
        probe = ping

    assert Box().probe is ping
