"""Typed output: a schema from a type, validation of the answer, partial values while it
streams.

    output = output_schema(Person)          # a pydantic model, dataclass, TypedDict,
                                            # list[...], or a JSON-schema dict
    output.schema, output.strict_schema     # what to send (plain, or OpenAI strict)
    person = output.validate(answer_text)   # a Person, or OutputValidationError
    stream = output.stream()                # stream.feed(delta) -> partial value | UNCHANGED

Importing this package imports no pydantic; describing a type does.
"""

from .errors import OutputValidationError, PartialJSONError, Problem
from .extract import find_json
from .partial import UNCHANGED, PartialJSONParser
from .schema import OutputSchema, OutputStream, ResponseFormat, output_schema
from .strict import WRAPPER_KEY

__all__ = [
    "UNCHANGED", "WRAPPER_KEY", "OutputSchema", "OutputStream", "OutputValidationError",
    "PartialJSONError", "PartialJSONParser", "Problem", "ResponseFormat", "find_json",
    "output_schema",
]
