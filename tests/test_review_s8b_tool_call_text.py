"""Hostile review (session 8, second): ToolCall keeps only the model's argument text and
`arguments_json` sends it back while the parameters still equal what it reads as (e202174).
`==` is blind to JSON's types (True == 1, 1.0 == 1, False == 0): a parameter changed from
the number the model wrote to a boolean still sends the model's number back to OpenAI.
For nested values that is new in e202174 (at 99ed814 only flat arguments kept their text,
so a nested edit was always encoded anew); for flat values it was so before."""

from __future__ import annotations

import json
from typing import Any

from selectools.providers._wire import tool_call


def _sent_back(text: str, edit: Any) -> Any:
    """What goes back to the model (OpenAI's `arguments`) after `edit` changed the call as
    a provider read it."""
    call = tool_call("search", text, "call_1")
    edit(call.parameters)
    sent = call.arguments_json()
    assert json.loads(sent) == call.parameters  # (equal by ==, which is the trouble)
    return json.loads(sent)


def test_an_unchanged_call_goes_back_as_the_model_wrote_it() -> None:
    text = '{"q": "x", "opts": {"exact": 1, "tags": [1, 2]}}'
    assert tool_call("search", text, "call_1").arguments_json() == text


def test_a_nested_change_of_value_goes_back() -> None:
    def edit(parameters: dict[str, Any]) -> None:
        parameters["opts"]["tags"].append(3)

    assert _sent_back('{"opts": {"tags": [1, 2]}}', edit) == {"opts": {"tags": [1, 2, 3]}}


def test_a_nested_number_changed_to_a_boolean_goes_back_as_a_boolean() -> None:
    def edit(parameters: dict[str, Any]) -> None:
        parameters["opts"]["exact"] = True

    sent = _sent_back('{"q": "x", "opts": {"exact": 1}}', edit)
    assert sent["opts"]["exact"] is True


def test_a_flat_number_changed_to_a_boolean_goes_back_as_a_boolean() -> None:
    def edit(parameters: dict[str, Any]) -> None:
        parameters["verbose"] = False

    sent = _sent_back('{"verbose": 0}', edit)
    assert sent["verbose"] is False
