"""The CNC milling family, on every card that uses it: deterministic by seed, inside the card's ranges,
labels constant within an experiment (as in the UMich data), learnable on experiments the model never
saw, and at chance when the experiments' labels are shuffled."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from pipelines import cards, data, splits
from pipelines import features as F
from pipelines.simulate import simulate

FAMILY = "cnc_milling"
CARDS = [c.id for c in cards.list_cards() if c.reference_data.simulator.family == FAMILY]
LGB = dict(n_estimators=100, learning_rate=0.1, random_state=0, n_jobs=1, verbose=-1)


def _sample(card_id: str, seed: int | None = None, rows: int | None = None):
    card = cards.load_card(card_id)
    sim = card.reference_data.simulator
    frame, _ = simulate(FAMILY, rows=rows or sim.rows, seed=sim.seed if seed is None else seed, params=sim.params)
    return card, frame


def test_some_cards_use_the_family():
    assert {"cnc-tool-wear", "cnc-machining-quality"} <= set(CARDS)


@pytest.mark.parametrize("card_id", CARDS)
def test_columns_ranges_and_per_experiment_labels(card_id):
    card, frame = _sample(card_id)
    checked = data.validate(frame, card, "sim")  # raises on a column outside the card's range
    assert checked[card.target.column].nunique() == 2
    labels = frame.groupby("No")[["tool_condition", "machining_finalized", "passed_visual_inspection", "INSPECT"]].nunique(dropna=False)
    assert (labels == 1).all().all(), "labels must be constant within an experiment"
    finalized = frame["machining_finalized"] == "yes"
    assert frame.loc[~finalized, "passed_visual_inspection"].isna().all()  # never inspected
    assert ((frame["INSPECT"] == "PASS") == (frame["passed_visual_inspection"] == "yes")).all()
    assert frame["Machining_Process"].str.startswith("Layer").all()
    for col in card.columns:
        if col.kind == "numeric" and col.name in frame and col.name not in ("No", "sample"):
            assert frame[col.name].std() > 0, f"{col.name} is constant"


def _auc_on_unseen_experiments(card, frame: pd.DataFrame, shuffle: bool) -> float:
    frame = data.validate(frame, card, "sim")
    y = (frame[card.target.column].astype(str) == str(card.target.positive)).astype(int).to_numpy()
    if shuffle:  # shuffle whole experiments' labels, keeping each experiment's rows together
        per = pd.Series(y).groupby(frame["No"].to_numpy()).first()
        swapped = dict(zip(per.index, np.random.default_rng(1).permutation(per.to_numpy())))
        y = frame["No"].map(swapped).to_numpy()
    feats = F.rolling(frame, ["S_CurrentFeedback", "S_OutputPower"], [20], stats=("mean", "std"), by="No")
    X = feats[[c for c in feats.columns if c in card.feature_columns or c.endswith(("mean20", "std20"))]].copy()
    X["Machining_Process"] = X["Machining_Process"].astype("category")
    scores = []
    for seed in range(3):
        train, test = splits.train_test(card, frame.assign(**{card.target.column: y}), seed)
        model = lgb.LGBMClassifier(**LGB).fit(X.iloc[train], y[train])
        scores.append(roc_auc_score(y[test], model.predict_proba(X.iloc[test])[:, 1]))
    return float(np.mean(scores))


@pytest.mark.parametrize("card_id", CARDS)
def test_learnable_on_unseen_experiments_and_shuffled_at_chance(card_id):
    card, frame = _sample(card_id)
    assert _auc_on_unseen_experiments(card, frame, shuffle=False) > 0.75
    assert _auc_on_unseen_experiments(card, frame, shuffle=True) < 0.65


def test_excluded_label_copy_is_neither_a_feature_nor_a_required_input(store):
    """KAMP's INSPECT repeats the verdict: the model never reads it and serving never asks for it."""
    import pipelines as wb

    card = cards.load_card("cnc-machining-quality")
    frame, _ = simulate(FAMILY, rows=2000, seed=7)
    dataset = data.Dataset(frame=data.validate(frame, card, "sim"), test=None, source="sim", sha256="cnc-small")
    result = wb.tune(card, dataset, n_trials=1, seed=0)
    assert "INSPECT" in dataset.frame
    assert "INSPECT" not in result.model.feature_names and "INSPECT" not in result.model.input_columns
