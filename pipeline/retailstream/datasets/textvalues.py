"""How values are written in the text inputs (CSV files, the values of JSON lines): one set of rules for
the pandas loader (``datasets.loader``) and the Spark features job (``features.build``). The patterns are
written so that Python's ``re`` and Java's regex read them alike.

- A value is trimmed of spaces and tabs; empty or ``NA`` (any case) is a missing value.
- Integers and numbers are ASCII: ``[0-9]``, never ``\\d``. Python's ``\\d`` and ``float`` also take
  Arabic-Indic or full-width digits (and ``float`` takes ``1_000``, ``nan``, ``infinity``; Java's parser
  ``1.5d`` and hexadecimal): each engine converts only what the pattern accepts.
- Booleans are TRUE or FALSE, in any case.
- Dates: one format per file, yyyy-mm-dd, dd/mm/yyyy or mm/dd/yyyy, decided from all of its dates
  (``decide_date_format``); a file mixing formats is rejected as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

PADDING = " \t"
MISSING = "NA"  # besides the empty value
# Nine digits always fit the int32 columns; longer numbers are typos.
INTEGER = r"[+-]?[0-9]{1,9}"
NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
FLAGS = {"TRUE": True, "FALSE": False}


@dataclass(frozen=True)
class DateFormat:
    name: str  # as messages write it
    pattern: str  # the shape of a value written in it
    strptime: str  # Python's format
    spark: str  # Spark's datetime pattern


# The two fields of a slash date are the groups of this pattern.
SLASH_DATE = r"([0-9]{1,2})/([0-9]{1,2})/[0-9]{4}"
ISO = DateFormat("yyyy-mm-dd", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "%Y-%m-%d", "yyyy-MM-dd")
DAY_FIRST = DateFormat("dd/mm/yyyy", SLASH_DATE, "%d/%m/%Y", "d/M/yyyy")
MONTH_FIRST = DateFormat("mm/dd/yyyy", SLASH_DATE, "%m/%d/%Y", "M/d/yyyy")
DATE_FORMATS = (ISO, DAY_FIRST, MONTH_FIRST)
# What a file with no value shaped like a date was expected to hold.
ANY_DATE_FORMAT = "yyyy-mm-dd, dd/mm/yyyy or mm/dd/yyyy"

# Why a value does not parse as its column's logical type; dates name the file's format (%s).
PARSE_FAILURES = {
    "int": "not an integer",
    "float": "not a number",
    "date": "not a date (%s)",
    "bool": "not TRUE or FALSE",
    "string": "not text",
}


@dataclass(frozen=True)
class DateEvidence:
    """What the dates of one file show. Examples name a value (and where the engine can, its line)."""

    iso: str | None = None  # a yyyy-mm-dd value
    slash: str | None = None  # a slash date
    day_first: str | None = None  # a slash date whose first field is over 12: only dd/mm/yyyy reads it
    month_first: str | None = None  # a slash date whose second field is over 12: only mm/dd/yyyy
    day_first_fridays: int = 0  # slash dates that are Fridays read as dd/mm/yyyy
    month_first_fridays: int = 0  # ... read as mm/dd/yyyy


class MixedDateFormats(ValueError):
    """The dates of one file are written in more than one format."""


def decide_date_format(evidence: DateEvidence) -> DateFormat | None:
    """The one date format of a file, decided from all of its dates, never value by value (that would
    read the US date 03/12/2010 as 3 December whenever that is a Friday too, and reject 03/19/2010):

    - yyyy-mm-dd values: yyyy-mm-dd; together with slash dates the file mixes formats;
    - slash dates: a first field over 12 proves dd/mm/yyyy, a second field over 12 proves mm/dd/yyyy (both
      proven: mixed); unproven, the reading under which more of them are Fridays (every week date is a
      Friday), and on a tie dd/mm/yyyy, as in the Kaggle files;
    - None when no value looks like a date (each one is then rejected as not a date).

    Raises ``MixedDateFormats`` naming two example values.
    """
    if evidence.iso is not None and evidence.slash is not None:
        raise MixedDateFormats(
            f"mixed date formats: {evidence.iso} is {ISO.name}, {evidence.slash} is "
            f"{DAY_FIRST.name} or {MONTH_FIRST.name}"
        )
    if evidence.iso is not None:
        return ISO
    if evidence.slash is None:
        return None
    if evidence.day_first is not None and evidence.month_first is not None:
        raise MixedDateFormats(
            f"mixed date formats: {evidence.day_first} can only be {DAY_FIRST.name}, "
            f"{evidence.month_first} only {MONTH_FIRST.name}"
        )
    if evidence.day_first is not None:
        return DAY_FIRST
    if evidence.month_first is not None:
        return MONTH_FIRST
    return MONTH_FIRST if evidence.month_first_fridays > evidence.day_first_fridays else DAY_FIRST


def anchored(pattern: str) -> str:
    """``pattern`` as a whole-value match for Spark's ``rlike``, which searches where ``re.fullmatch``
    matches the whole value."""
    return f"^(?:{pattern})$"
