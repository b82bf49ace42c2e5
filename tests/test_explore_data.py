"""Public data a card keeps for exploration only (``reference_data.explore``: unlabelled, or one class):
it is a known dataset, it fits the card's columns and ranges, it really cannot train the card (else it
belongs under ``public``), and the card's simulator runs where the real machine runs."""

from __future__ import annotations

import pytest

from pipelines import cards, data, sources
from pipelines.simulate import simulate

from conftest import public_data_present

CARDS = [c for c in cards.list_cards() if c.reference_data.explore]


def test_some_card_keeps_public_data_for_exploration():
    assert CARDS, "no card uses reference_data.explore (melting-tank-quality should)"


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.id)
def test_explore_dataset_is_known(card):
    assert card.reference_data.explore in sources.catalog()


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.id)
def test_explore_data_fits_the_card_and_the_simulator_runs_where_the_machine_runs(card):
    dataset = card.reference_data.explore
    if not public_data_present(dataset):
        pytest.skip(f"public dataset {dataset} not found under WORKBENCH_DATA_DIR")
    raw, _ = sources.load(dataset)
    public = data.validate(data.map_columns(raw, card, None, dataset), card, dataset, with_target=False)
    if card.target.column in raw:  # labelled data with two classes could train the card: use `public` then
        assert raw[card.target.column].nunique() < 2, f"{dataset} has both classes: set reference_data.public"
    sim = card.reference_data.simulator
    frame, _ = simulate(sim.family, rows=sim.rows, seed=sim.seed, params=sim.params)
    for col in card.columns:
        if col.kind != "numeric" or col.name not in public:
            continue
        low, high = public[col.name].quantile([0.05, 0.95])
        median = frame[col.name].median()
        assert low <= median <= high, f"{col.name}: simulated median {median} outside the real 5-95 % range [{low}, {high}]"


def test_every_public_dataset_backs_a_card():
    """Each dataset in sources.yaml trains a card (`public`) or is kept for exploration (`explore`)."""
    used = {x for c in cards.list_cards() for x in (c.reference_data.public, c.reference_data.explore) if x}
    unused = sorted(set(sources.catalog()) - used)
    assert not unused, f"datasets no card uses: {unused}"
