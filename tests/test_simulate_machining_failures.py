"""The machining_failures family (AI4I 2020 rules) on every card that uses it, the failure-mode class
rule shared with the public-data loader, and the public AI4I data where it is present."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from pipelines import cards, data, sources
from pipelines.simulate import simulate
from pipelines.simulate.machining_failures import failure_mode

from conftest import needs_public

FAMILY = "machining_failures"
CARDS = [c.id for c in cards.list_cards() if c.reference_data.simulator.family == FAMILY]
LGB = dict(n_estimators=150, learning_rate=0.05, random_state=0, n_jobs=1, verbose=-1)
MODES = ["TWF", "HDF", "PWF", "OSF", "RNF"]


def _sample(card_id: str, rows: int | None = None, seed: int | None = None):
    card = cards.load_card(card_id)
    sim = card.reference_data.simulator
    frame, test = simulate(FAMILY, rows=rows or sim.rows, seed=sim.seed if seed is None else seed, params=sim.params)
    assert test is None
    return card, frame


def test_both_ai4i_cards_use_the_family_and_the_public_data():
    assert {"machine-failure", "machine-failure-mode"} <= set(CARDS)
    for card_id in ("machine-failure", "machine-failure-mode"):
        card = cards.load_card(card_id)
        assert card.reference_data.public == "ai4i2020"
        assert set(MODES) <= set(card.exclude), "the mode flags leak the target"
        assert {"Product_ID"} <= set(card.exclude)
    assert "Machine_failure" in cards.load_card("machine-failure-mode").exclude


def test_failure_mode_rule():
    flags = pd.DataFrame({"TWF": [0, 0, 1, 0, 0, 0, 0], "HDF": [0, 1, 0, 1, 0, 0, 0], "PWF": [0, 0, 0, 1, 0, 0, 0],
                          "OSF": [0, 1, 1, 0, 0, 0, 0], "RNF": [0, 0, 0, 0, 1, 0, 1]})
    failed = np.array([0, 1, 1, 1, 0, 1, 1])
    assert list(failure_mode(flags, failed)) == ["No_Failure", "OSF", "OSF", "PWF", "No_Failure", "RNF", "RNF"]


@pytest.mark.parametrize("card_id", CARDS)
def test_columns_and_ranges_are_the_cards(card_id):
    card, frame = _sample(card_id, rows=20_000)
    assert {c.name for c in card.columns} | {card.target.column} <= set(frame.columns)
    for col in card.columns:
        if col.kind == "numeric":
            values = frame[col.name]
            assert values.notna().all() and values.between(col.min or -np.inf, col.max or np.inf).all(), col.name
    assert set(frame["Type"]) == {"L", "M", "H"}
    assert frame["Product_ID"].str[0].eq(frame["Type"]).all() and frame["Product_ID"].is_unique
    assert 0.02 < frame["Machine_failure"].mean() < 0.06


def test_failures_follow_the_published_physics():
    card, frame = _sample("machine-failure", rows=20_000)
    params = card.reference_data.simulator.params
    failed = frame["Machine_failure"] == 1
    assert (failed == frame[MODES].any(axis=1)).all()
    for mode in MODES:
        assert frame[mode].sum() >= 10, mode
    # Rules hold on the readings up to their rounding (0.1 K, 1 rpm, 0.1 Nm).
    dT = frame["Process_temperature"] - frame["Air_temperature"]
    hdf = frame["HDF"] == 1
    assert (dT[hdf] < params["hdf"]["dT_K"] + 0.11).all() and (frame.loc[hdf, "Rotational_speed"] < params["hdf"]["rpm"] + 1).all()
    power = frame["Torque"] * frame["Rotational_speed"] * 2 * np.pi / 60
    pwf = frame["PWF"] == 1
    inside = power.between(params["pwf"]["min_W"] * 1.01, params["pwf"]["max_W"] * 0.99)
    assert not (pwf & inside).any()
    limit = frame["Type"].map(params["osf"])
    strain = frame["Tool_wear"] * frame["Torque"]
    assert (strain[frame["OSF"] == 1] > limit[frame["OSF"] == 1] * 0.99).all()
    assert not ((strain > limit * 1.01) & (frame["OSF"] == 0)).any()
    lo, hi = params["tool_life"]
    assert frame.loc[frame["TWF"] == 1, "Tool_wear"].between(lo - 5, hi).all()  # the last part before the change
    wear_step = frame["Tool_wear"].diff()
    assert (wear_step[wear_step > 0].isin([2, 3, 5])).all()  # per part: L 2, M 3, H 5 minutes
    assert (frame["Failure_Mode"] == failure_mode(frame[MODES], frame["Machine_failure"])).all()


def _binary(frame: pd.DataFrame, shuffle: bool) -> tuple[float, float, float]:
    X = frame[["Type", "Air_temperature", "Process_temperature", "Rotational_speed", "Torque", "Tool_wear"]].copy()
    X["Type"] = X["Type"].astype("category")
    y = frame["Machine_failure"].to_numpy()
    cut = int(len(y) * 0.75)  # production order
    y_fit = np.random.default_rng(1).permutation(y[:cut]) if shuffle else y[:cut]
    prob = lgb.LGBMClassifier(**LGB).fit(X[:cut], y_fit).predict_proba(X[cut:])[:, 1]
    return average_precision_score(y[cut:], prob), roc_auc_score(y[cut:], prob), y[cut:].mean()


def _modes(frame: pd.DataFrame, shuffle: bool) -> float:
    X = frame[["Type", "Air_temperature", "Process_temperature", "Rotational_speed", "Torque", "Tool_wear"]].copy()
    X["Type"] = X["Type"].astype("category")
    y = frame["Failure_Mode"].astype(str).to_numpy()
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[: int(len(y) * 0.75)], order[int(len(y) * 0.75):]
    y_fit = np.random.default_rng(1).permutation(y[train]) if shuffle else y[train]
    pred = lgb.LGBMClassifier(**LGB).fit(X.iloc[train], y_fit).predict(X.iloc[test])
    return f1_score(y[test], pred, average="macro")


def test_simulator_learnable_and_shuffled_at_chance():
    _, frame = _sample("machine-failure")
    ap, auc, chance = _binary(frame, shuffle=False)
    assert ap > 5 * chance and auc > 0.85, (ap, auc, chance)
    ap, auc, chance = _binary(frame, shuffle=True)  # about 100 test failures: AUC is the steadier chance check
    assert auc < 0.6 and ap < 3 * chance, (ap, auc, chance)
    assert _modes(frame, shuffle=False) > 0.45
    assert _modes(frame, shuffle=True) < 0.25  # always "No_Failure" scores about 0.16


@pytest.mark.public_data
@needs_public("ai4i2020")
def test_public_ai4i_loads_with_its_failure_modes():
    frame, test = sources.load("ai4i2020")
    assert test is None and len(frame) == 10_000
    assert frame["Failure_Mode"].value_counts().to_dict() == {"No_Failure": 9661, "HDF": 106, "PWF": 95, "OSF": 86,
                                                              "TWF": 43, "RNF": 9}
    for card_id in ("machine-failure", "machine-failure-mode"):
        card = cards.load_card(card_id)
        loaded = data.load(card)
        assert loaded.source == "public:ai4i2020"
        assert {c.name for c in card.columns} <= set(loaded.frame.columns)  # "Air temperature [K]" -> Air_temperature
    # The simulator keeps AI4I's proportions: failure rate and the mix of modes within a factor of two.
    _, sim = _sample("machine-failure-mode")
    real = frame["Failure_Mode"].value_counts(normalize=True)
    simulated = sim["Failure_Mode"].value_counts(normalize=True)
    for mode in ["HDF", "PWF", "OSF", "TWF"]:
        assert 0.5 < simulated[mode] / real[mode] < 2.0, mode
