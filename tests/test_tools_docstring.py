"""Reading summaries and parameter descriptions out of docstrings."""

from __future__ import annotations

import inspect

from hypothesis import given, settings
from hypothesis import strategies as st

from selectools.tools import docstring
from selectools.tools.docstring import parse_docstring


def test_empty_docstrings() -> None:
    assert parse_docstring(None).summary == ""
    assert parse_docstring("   ").params == {}


def test_summary_is_the_first_paragraph_joined() -> None:
    doc = parse_docstring("""Look up
    a word.

    Second paragraph.
    """)
    assert doc.summary == "Look up a word."


def test_summary_stops_at_a_section_without_a_blank_line() -> None:
    doc = parse_docstring("""Add numbers.
    Args:
        a: first
    """)
    assert doc.summary == "Add numbers."
    assert doc.params == {"a": "first"}


def test_google_args_with_types_optional_and_continuations() -> None:
    doc = parse_docstring("""Book a table.

    Args:
        name: Who books.
        when (str): ISO date,
            like 2024-05-01.

            Blank lines inside an entry are fine.
        seats (int, optional): How many. Defaults to 2.
        *extras: Ignored extras.

    Returns:
        confirmation: not a parameter.
    """)
    assert doc.params == {
        "name": "Who books.",
        "when": "ISO date, like 2024-05-01. Blank lines inside an entry are fine.",
        "seats": "How many. Defaults to 2.",
        "extras": "Ignored extras.",
    }


def test_google_description_on_the_next_line() -> None:
    doc = parse_docstring("""Do.

    Arguments:
        query:
            The text to find.
    """)
    assert doc.params == {"query": "The text to find."}


def test_sphinx_fields() -> None:
    doc = parse_docstring("""Convert money.

    :param amount: How much,
        in cents.
    :param str currency: ISO code.
    :returns: the converted amount
    """)
    assert doc.summary == "Convert money."
    assert doc.params == {"amount": "How much, in cents.", "currency": "ISO code."}


def test_numpy_sections() -> None:
    doc = parse_docstring("""Scale a vector.

    Parameters
    ----------
    vector : list of float
        The values
        to scale.
    factor : float, optional
        Multiplier.

    Returns
    -------
    list of float
    """)
    assert doc.summary == "Scale a vector."
    assert doc.params == {"vector": "The values to scale.", "factor": "Multiplier."}


# Docstrings with no colon and no "---": words that name sections (Args, Parameters,
# Returns, param), dashes, stars, brackets, indents and blank lines, in any order.
_NO_SECTION_TEXT = st.lists(
    st.sampled_from(["Args", "Parameters", "Returns", "param", "Look", "up", "a", "word.",
                     "-", "--", "*", "**", "(int)", "x_1", " ", "  ", "\t", "\n", "\n\n",
                     "\n    ", "\n\t"]), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_NO_SECTION_TEXT)
def test_a_docstring_without_sections_reads_as_the_general_parser_reads_it(doc: str) -> None:
    # parse_docstring takes such a docstring without any pattern: the same summary and
    # (no) parameters as the general parser finds in it.
    text = doc.strip()
    mine = parse_docstring(doc)
    if not text:
        assert (mine.summary, mine.params) == ("", {})
        return
    general = docstring._parsed(inspect.cleandoc(doc).splitlines())
    assert (mine.summary, mine.params) == (general.summary, general.params)
    assert mine.params == {}


def test_one_colon_or_underline_takes_the_general_path() -> None:
    assert parse_docstring("Add.\n\nArgs:\n    a: first").params == {"a": "first"}
    assert parse_docstring("Scale.\n\nParameters\n---\nfactor\n    Multiplier.").params == {
        "factor": "Multiplier."}
    assert parse_docstring("Add.\nReturns:\n    the sum").summary == "Add."
