"""Every kind of bad input through every pure entry point: nothing is lost, every reject says why, and
nothing but DataFileError escapes (the corpus and its table: tests/bad_inputs.py, tests/bad_inputs.md)."""

from __future__ import annotations

import pytest

import bad_inputs
from bad_inputs import ENTRY_POINTS, KINDS, Expected, Outcome


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Outcome | None]]:
    return bad_inputs.outcomes()


def test_the_corpus_is_broad_and_named_once():
    assert len(KINDS) >= 40
    assert len({kind.name for kind in KINDS}) == len(KINDS)
    assert {"sales", "stores", "features", "store_traffic"} == {kind.dataset for kind in KINDS}


def _expected_of_prepare(expected: Expected) -> Expected:
    """A real file is loaded strictly: its first problem (of the file or of a row) stops the split."""
    if expected.clean:
        return expected
    return Expected(expected.rows, file=expected.file or expected.rejects[0], exact=expected.exact)


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
def test_every_entry_point_accounts_for_every_row_and_gives_reasons(kind, results):
    for entry_point in ENTRY_POINTS:
        outcome = results[kind.name][entry_point]
        if outcome is None:
            continue
        expected = bad_inputs.expected(kind, entry_point)
        if entry_point == "prepare":
            expected = _expected_of_prepare(expected)
        where = f"{kind.name} through {entry_point}: {outcome}"
        if expected.file is not None:
            assert outcome.file is not None and expected.file in outcome.file, where
            assert not outcome.rejects and outcome.exact == expected.exact, where
            # A file read only in part is counted up to where it could be read.
            assert outcome.rows == expected.rows if expected.exact else outcome.rows <= expected.rows, where
            continue
        assert outcome.file is None, where
        assert outcome.rows == expected.rows == outcome.valid + len(outcome.rejects), where
        assert len(outcome.rejects) == len(expected.rejects), where
        for wanted, reason in zip(expected.rejects, outcome.rejects, strict=True):
            assert wanted in reason and len(reason) < 200, where


def test_the_table_is_current(results):
    assert bad_inputs.TABLE.read_text() == bad_inputs.table(results), (
        "regenerate: PYTHONPATH=pipeline python tests/bad_inputs.py"
    )
