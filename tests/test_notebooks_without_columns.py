"""Every card's notebook works with the columns a file has: each optional column of the reference data
removed in turn (the card's own exploration and feature code, up to tuning), and the notebook run end
to end twice, with every other optional column removed (tuning, evaluation, logging), so every column is
absent from one full run. The reference data is thinned to 2,000 rows drawn in their order. A card may read a
column; it must never need one the card does not mark required. And the feature function takes rows
missing any one column's value (a gap in an export, a null in a served request).

One kernel per test worker runs every notebook (tests/notebook_variants.py): the imports are paid once.
"""

from __future__ import annotations

import pytest

import numpy as np

from pipelines import cards, data

from notebook_variants import FEATURES_WITH_GAPS, SERVED_ROWS_AS_FIRST, KernelSession

CARDS = cards.list_ids()
ROWS = 2000  # a crash test, not a quality test: rows drawn evenly (in their order) keep each run short


def _fewer_rows(frame, card):
    """ROWS rows drawn at random, kept in their order; a classifier keeps up to 30 rows of each class,
    so a rare class (9 of AI4I's 10,000 rows) still allows the card's split."""
    if len(frame) <= ROWS:
        return frame
    rng = np.random.default_rng(0)
    keep = set(rng.choice(len(frame), ROWS, replace=False).tolist())
    if card.task in ("binary", "multiclass", "anomaly"):
        labels = frame[card.target.column].astype(str).to_numpy()
        for label in np.unique(labels):
            where = np.flatnonzero(labels == label)
            keep |= set(rng.choice(where, min(len(where), 30), replace=False).tolist())
    return frame.iloc[sorted(keep)].reset_index(drop=True)


def optional_columns(card: cards.Card, columns) -> list[str]:
    """Card columns of the reference data a file may lack: all but the required, the leaking ones
    (never read anyway) and the unit a group split, a RUL card or a forecast of several series needs."""
    needed = {c.name for c in card.columns if c.required} | set(card.exclude)
    if card.group and (card.split.kind == "group" or card.task in ("rul", "forecast")):
        needed.add(card.group.column)  # a forecast's reference data holds several series: refused without it
    return [c.name for c in card.columns if c.name in columns and c.name not in needed]


@pytest.fixture(scope="session")
def kernel(tmp_path_factory):
    folder = tmp_path_factory.mktemp("variants")
    session = KernelSession(f"sqlite:///{folder / 'mlflow.db'}")
    yield session, folder
    session.close()


@pytest.mark.slow
@pytest.mark.parametrize("card_id", [pytest.param(c, marks=pytest.mark.xdist_group(f"variants-{i % 2}"))
                                     for i, c in enumerate(CARDS)])
def test_notebook_runs_with_each_optional_column_absent(card_id, kernel):
    session, folder = kernel
    card = cards.load_card(card_id)
    frame = _fewer_rows(data.load(card).frame, card)
    optional = optional_columns(card, frame.columns)
    assert optional, f"{card_id}: every column is required, so no plant file can lack one: mark only what must be there"
    variants = {f"without-{c}": frame.drop(columns=[c]) for c in optional}
    halves = {"without-even-columns": optional[0::2], "without-odd-columns": optional[1::2]}
    variants |= {name: frame.drop(columns=cols) for name, cols in halves.items() if cols}
    outcome = session.run(card_id, variants, folder, explore_only={n for n in variants if n not in halves})
    failed = {name: why for name, why in outcome.items() if why}
    assert not failed, f"{card_id}: " + "; ".join(f"{name}: {why}" for name, why in failed.items())


@pytest.mark.slow
@pytest.mark.parametrize("card_id", [pytest.param(c, marks=pytest.mark.xdist_group(f"variants-{i % 2}"))
                                     for i, c in enumerate(CARDS)])
def test_features_are_made_with_any_one_reading_missing(card_id, kernel):
    """A plant export has gaps and a served request has nulls: the card's feature function takes rows
    missing any one column's value (time stamps and unit ids included), one row, a few or the whole file."""
    session, folder = kernel
    card = cards.load_card(card_id)
    frame = _fewer_rows(data.load(card).frame, card)
    outcome = session.run(card_id, {"with-gaps": frame}, folder, explore_only={"with-gaps"}, explore=FEATURES_WITH_GAPS)
    assert outcome["with-gaps"] is None, f"{card_id}: {outcome['with-gaps']}"


def _forecasts_of_several_series() -> list[str]:
    return [c for c in CARDS if cards.load_card(c).task == "forecast" and cards.load_card(c).group]


@pytest.mark.slow
@pytest.mark.parametrize("card_id", [pytest.param(c, marks=pytest.mark.xdist_group(f"variants-{i % 2}"))
                                     for i, c in enumerate(_forecasts_of_several_series())])
def test_a_forecast_runs_end_to_end_on_one_series_without_its_series_column(card_id, kernel):
    """A plant exports one product's or one furnace's history with no column naming it: the data check
    accepts it (one series), so the notebook must run on it, exploration, tuning and report included."""
    session, folder = kernel
    card = cards.load_card(card_id)
    frame = data.load(card).frame
    series = card.group.column
    longest = frame[series].value_counts().index[0]
    one = frame[frame[series] == longest].drop(columns=series).reset_index(drop=True)
    outcome = session.run(card_id, {"one-series": one}, folder)
    assert outcome["one-series"] is None, f"{card_id}: {outcome['one-series']}"


@pytest.mark.slow
@pytest.mark.parametrize("card_id", [pytest.param(c, marks=pytest.mark.xdist_group(f"variants-{i % 2}"))
                                     for i, c in enumerate(CARDS)])
def test_a_served_row_gets_the_features_of_its_units_first_row(card_id, kernel):
    """A served request carries no history: its rows must get what the whole file gives each unit's first
    row. A feature that reads later rows (a median over the whole file: training and serving then differ)
    or a notebook's shortcut for one row per unit that strays from its grouped pandas fails here."""
    session, folder = kernel
    card = cards.load_card(card_id)
    frame = _fewer_rows(data.load(card).frame, card)
    outcome = session.run(card_id, {"first-rows": frame}, folder, explore_only={"first-rows"}, explore=SERVED_ROWS_AS_FIRST)
    assert outcome["first-rows"] is None, f"{card_id}: {outcome['first-rows']}"
