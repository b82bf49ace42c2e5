"""Every card's reference data is deterministic by seed: the same seed gives the same frames (and fixed
test set, where the family has one), another seed gives other data. One test for all families, so a new
card or family is covered without a copy of it."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import cards
from pipelines.simulate import simulate

CARDS = [c for c in cards.list_cards() if c.reference_data.simulator is not None]
ROWS = 3000  # enough for run-to-failure families to finish several units


def _frames(card, seed=None):
    sim = card.reference_data.simulator
    return simulate(sim.family, rows=min(ROWS, sim.rows), seed=sim.seed if seed is None else seed, params=sim.params)


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.id)
def test_deterministic_by_seed(card):
    a, a_test = _frames(card)
    b, b_test = _frames(card)
    pd.testing.assert_frame_equal(a, b)
    if a_test is not None:
        pd.testing.assert_frame_equal(a_test, b_test)
    c, _ = _frames(card, seed=99)
    assert not a.equals(c)
