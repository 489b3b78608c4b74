"""How values are written in the text inputs (CSV files, the values of JSON lines): one set of rules for
the pandas loader (``datasets.loader``) and the Spark features job (``features.build``). The patterns are
written so that Python's ``re`` and Java's regex read them alike.

- A value is trimmed of spaces and tabs; empty or ``NA`` (any case) is a missing value.
- Integers and numbers are ASCII: ``[0-9]``, never ``\\d``. Python's ``\\d`` and ``float`` also take
  Arabic-Indic or full-width digits (and ``float`` takes ``1_000``, ``nan``, ``infinity``; Java's parser
  ``1.5d`` and hexadecimal): each engine converts only what the pattern accepts.
- Booleans are TRUE or FALSE, in any case.
"""

from __future__ import annotations

PADDING = " \t"
MISSING = "NA"  # besides the empty value
# Nine digits always fit the int32 columns; longer numbers are typos.
INTEGER = r"[+-]?[0-9]{1,9}"
NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
DAY_FIRST_DATE = r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
FLAGS = {"TRUE": True, "FALSE": False}

# Why a value does not parse as its column's logical type.
PARSE_FAILURES = {
    "int": "not an integer",
    "float": "not a number",
    "date": "not a date (yyyy-mm-dd or dd/mm/yyyy)",
    "bool": "not TRUE or FALSE",
    "string": "not text",
}


def anchored(pattern: str) -> str:
    """``pattern`` as a whole-value match for Spark's ``rlike``, which searches where ``re.fullmatch``
    matches the whole value."""
    return f"^(?:{pattern})$"
