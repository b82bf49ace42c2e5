"""Splits never leak: time order, whole units, forecast gaps; and the data path's clear errors."""

import numpy as np
import pandas as pd
import pytest

from pipelines import cards, data, splits
from pipelines.errors import DataError


@pytest.fixture(scope="module")
def molding():
    card = cards.load_card("injection-molding-quality")
    frame, _ = data.simulate.simulate("injection_molding", rows=3000, seed=3)
    return card, data.validate(frame.sample(frac=1, random_state=0), card, "sim")  # shuffled on purpose


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_time_split_never_trains_on_a_later_row_than_it_tests(molding, seed):
    card, frame = molding
    train, test = splits.train_test(card, frame, seed)
    assert len(set(train) & set(test)) == 0 and len(train) + len(test) == len(frame)
    assert frame["TimeStamp"].iloc[train].max() <= frame["TimeStamp"].iloc[test].min()
    for tr, va in splits.folds(card, frame.iloc[train].reset_index(drop=True), seed):
        part = frame.iloc[train].reset_index(drop=True)
        assert part["TimeStamp"].iloc[tr].max() <= part["TimeStamp"].iloc[va].min()


def test_forecast_split_leaves_a_horizon_gap():
    card = cards.load_card("steel-plant-energy")
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=1000, freq="15min")})
    train, test = splits.train_test(card, frame, 0)
    assert test.min() - train.max() == card.forecast.horizon + 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_group_split_never_shares_a_unit(seed):
    card = cards.load_card("turbofan-rul")
    train_frame, _ = data.simulate.simulate("turbofan_degradation", rows=4000, seed=seed)
    frame = data.validate(train_frame, card, "sim")
    train, test = splits.train_test(card, frame, seed)
    units_train, units_test = set(frame["unit"].iloc[train]), set(frame["unit"].iloc[test])
    assert units_train and units_test and not units_train & units_test
    inner = frame.iloc[train].reset_index(drop=True)
    for tr, va in splits.folds(card, inner, seed):
        assert not set(inner["unit"].iloc[tr]) & set(inner["unit"].iloc[va])


def test_stratified_split_keeps_every_class_in_test():
    card = cards.load_card("steel-plate-fault-type")
    frame, _ = data.simulate.simulate("steel_plate_defects", rows=1500, seed=1)
    frame = data.validate(frame, card, "sim")
    _, test = splits.train_test(card, frame, 0)
    assert set(frame["Fault"].iloc[test]) == set(frame["Fault"])


def test_an_absent_column_is_a_note_with_a_suggestion_and_strict_refuses_it(tmp_path):
    card = cards.load_card("heat-treatment-hardness")
    frame, _ = data.simulate.simulate("heat_treatment", rows=200, seed=1)
    path = tmp_path / "batches.csv"
    frame.rename(columns={"Temper_Temp_C": "Temper_Temperature_C"}).to_csv(path, index=False)
    loaded = data.load(card, path)
    assert "Temper_Temp_C" not in loaded.frame.columns and len(loaded.frame) == 200
    text = " ".join(loaded.notes_text("en"))
    assert "trained without 1 card column(s)" in text and "closest in file: Temper_Temperature_C" in text
    with pytest.raises(DataError) as info:
        data.load(card, path, options={"strict": True})
    text = str(info.value)
    assert str(path) in text and "Temper_Temp_C" in text and "Temper_Temperature_C" in text


def test_text_in_a_numeric_column_names_the_row(tmp_path):
    """Rows are numbered as a spreadsheet shows them: the header is row 1, data row 6 is row 7. One
    unreadable cell becomes missing with a note; --strict refuses it; a column of text is refused."""
    card = cards.load_card("heat-treatment-hardness")
    frame, _ = data.simulate.simulate("heat_treatment", rows=200, seed=1)
    frame["Carbon_pct"] = frame["Carbon_pct"].astype(object)
    frame.loc[5, "Carbon_pct"] = "0.4 ppm"
    path = tmp_path / "batches.csv"
    frame.to_csv(path, index=False)
    loaded = data.load(card, path)
    assert np.isnan(loaded.frame.loc[loaded.frame["Batch_Time"] == frame.loc[5, "Batch_Time"], "Carbon_pct"]).all()
    assert any("Carbon_pct: 1 cell(s) that are not numbers read as missing (e.g. '0.4 ppm' in row(s) 7)" in t
               for t in loaded.notes_text("en"))
    with pytest.raises(DataError, match=r"Carbon_pct.*'0.4 ppm'.*row\(s\) 7\b"):
        data.load(card, path, options={"strict": True})
    frame["Carbon_pct"] = [f"{v} ppm" for v in frame["Carbon_pct"]]
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"Carbon_pct.*200 value\(s\) \(100% of the filled cells\) are not numbers"):
        data.load(card, path)


def test_korean_cp949_headers_map_through_card_aliases(tmp_path):
    card = cards.load_card("heat-treatment-hardness")
    frame, _ = data.simulate.simulate("heat_treatment", rows=300, seed=2)
    korean = {c.name: c.ko for c in card.columns} | {card.target.column: card.target.ko}
    path = tmp_path / "열처리.csv"
    frame.rename(columns=korean).to_csv(path, index=False, encoding="cp949")
    loaded = data.load(card, path)
    assert list(loaded.frame.columns)[:3] == ["Batch_Time", "Furnace_ID", "Carbon_pct"]
    np.testing.assert_allclose(loaded.frame["Hardness_HRC"].to_numpy(),
                               frame.sort_values("Batch_Time", kind="stable")["Hardness_HRC"].to_numpy())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_classifier_split_keeps_units_whole_and_every_class_on_both_sides(seed):
    """Few units with one label each (CNC experiments): the test split and every fold hold both classes."""
    card = cards.load_card("cnc-machining-quality")
    frame, _ = data.simulate.simulate("cnc_milling", rows=4000, seed=seed)
    frame = data.validate(frame, card, "sim")
    label = card.target.column
    train, test = splits.train_test(card, frame, seed)
    assert not set(frame["No"].iloc[train]) & set(frame["No"].iloc[test])
    assert set(frame[label].iloc[test]) == set(frame[label].iloc[train]) == {"yes", "no"}
    inner = frame.iloc[train].reset_index(drop=True)
    for tr, va in splits.folds(card, inner, seed):
        assert not set(inner["No"].iloc[tr]) & set(inner["No"].iloc[va])
        assert set(inner[label].iloc[va]) == {"yes", "no"}
    other, _ = splits.train_test(card, frame, seed + 10)
    assert set(frame["No"].iloc[other]) != set(frame["No"].iloc[train])  # the seed matters


def test_engine_numbers_sort_as_numbers_not_as_text():
    """Engines 1, 2, ..., 10 sort in that order (text order would put 10 before 2), each keeping its cycles."""
    card = cards.load_card("turbofan-rul")
    frame, _ = data.reference(card)[:2]
    frame = frame.assign(unit=frame["unit"].astype(int).astype(str))
    engines = frame["unit"].unique().tolist()
    np.random.default_rng(1).shuffle(engines)
    frame = pd.concat([frame[frame["unit"] == u] for u in engines])  # engines in a random order
    ordered = data.validate(frame, card, "shuffled engines")
    units = pd.to_numeric(ordered["unit"])
    assert units.is_monotonic_increasing and units.nunique() >= 11
    assert ordered.groupby("unit", sort=False)["cycle"].apply(lambda c: c.is_monotonic_increasing).all()


def test_a_test_period_without_enough_defects_reaches_back_and_says_so(molding):
    """The latest quarter of the shots holds 3 defects: the test period extends until it holds the card's
    minimum (10), a note says so, and the test metric is computed on those defects."""
    from pipelines import tuning

    card, frame = molding
    frame = frame.sort_values("TimeStamp", kind="stable").reset_index(drop=True)
    bad = (frame["PassOrFail"] == card.target.positive).to_numpy()
    latest = np.arange(len(frame)) >= int(len(frame) * 0.7)
    keep_bad = np.flatnonzero(bad & latest)[:3]
    ok_label = frame.loc[~bad, "PassOrFail"].iloc[0]
    frame.loc[np.flatnonzero(bad & latest), "PassOrFail"] = ok_label
    frame.loc[keep_bad, "PassOrFail"] = card.target.positive
    dataset = data.Dataset(frame=frame, test=None, source="few late defects", sha256="few-late", card=card)
    share = splits.test_share_for_events(card, frame, (frame["PassOrFail"] == card.target.positive).to_numpy())
    assert 0.3 < share <= splits.MOST_TEST
    result = tuning.tune(card, dataset, n_trials=1, seed=0, storage="sqlite://")
    assert result.card.split.test_size == share
    assert int(result.test.y.sum()) >= card.split.min_test_events
    codes = [code for code, _ in dataset.notes]
    assert "test_extended" in codes
    assert "reaches back to the latest" in dataset.notes_text()[codes.index("test_extended")]


def test_rul_test_engines_are_cut_at_random_points_of_their_life(tmp_path, monkeypatch):
    """Run-to-failure rows never score only the failure cycle (true RUL 0): each test engine is cut at
    up to five points after the first fifth of its life, as NASA's test files are."""
    from pipelines import evaluation, tuning

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))  # the simulator, not C-MAPSS's cut test file
    card = cards.load_card("turbofan-rul")
    reference = data.load(card)
    # a plant's own file: engines run to failure, no test file cut by someone else
    dataset = data.Dataset(frame=reference.frame, test=None, source="run to failure", sha256="rtf", card=card)
    result = tuning.tune(card, dataset, n_trials=1, seed=0, storage="sqlite://")
    test = result.test
    scored = test.frame()[test.scored]
    per_engine = scored.groupby("unit").size()
    assert per_engine.max() <= tuning.TRUNCATIONS and per_engine.min() >= 1
    truth = test.y[test.scored]
    assert (truth == 0).mean() < 0.1 and np.median(truth) > 20
    # cut where NASA's test engines stop (RUL up to 1.16 x the clip), not where only the clip is scored
    assert truth.max() <= tuning.CUT_WINDOW * card.target.clip
    report = evaluation.evaluate(result, plots=False)
    assert report.counts["test_rows"] == int(test.scored.sum())
    lo, hi = report.intervals["test_rmse"]
    assert lo <= report.metrics["test_rmse"] <= hi and hi > lo


def test_small_data_gets_at_least_five_folds_and_large_data_the_cards():
    """Three folds on 2,000 rows judge each trial on noisy thirds: small data gets five folds of the
    card's kind, large data exactly what the card says."""
    card = cards.load_card("steel-plate-fault-type")
    assert card.split.folds < splits.SMALL_FOLDS
    frame = data.load(card).frame
    small = frame.head(splits.SMALL_ROWS - 1).reset_index(drop=True)
    found = splits.folds(card, small, 0)
    assert len(found) == splits.SMALL_FOLDS
    assert sum(len(va) for _, va in found) == len(small)  # every row validated once
    large = pd.concat([frame] * (splits.SMALL_ROWS // len(frame) + 1), ignore_index=True)
    assert len(splits.folds(card, large, 0)) == card.split.folds


def test_a_time_split_without_late_defects_falls_back_to_stratified_with_a_note(molding, tmp_path):
    """Defects only in the first 40 % of a file: no test period in time can judge a model, yet the file
    teaches one. `check` says so and uses the card's fallback split; `--split time` refuses."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    card, frame = molding
    frame = frame.sort_values("TimeStamp", kind="stable").reset_index(drop=True)
    bad = (frame["PassOrFail"] == card.target.positive).to_numpy()
    late = np.arange(len(frame)) >= int(len(frame) * 0.4)
    frame.loc[bad & late, "PassOrFail"] = frame.loc[~bad, "PassOrFail"].iloc[0]
    assert (frame["PassOrFail"] == card.target.positive).sum() >= 10
    path = tmp_path / "early_defects.csv"
    frame.to_csv(path, index=False)
    checked = CliRunner().invoke(app, ["check", card.id, "--data", str(path)])
    assert checked.exit_code == 0, checked.output
    assert f"no {card.target.positive!r} row in the latest 50% of the rows" in checked.output
    assert "stratified (classes in proportion) instead of the card's time" in checked.output
    refused = CliRunner().invoke(app, ["check", card.id, "--data", str(path), "--split", "time"])
    assert refused.exit_code == 2 and f"holds no {card.target.positive!r} row" in refused.output


def test_recency_weights_halve_every_half_life_back_in_time_order(molding):
    """Weights follow the clock, not the file's order (the frame is shuffled): the latest row weighs 1, the
    row a half-life of rows before it 0.5; no weights without the option or once the split fell back."""
    card, frame = molding
    weighted = card.model_copy(update={"split": card.split.model_copy(update={"recency_half_life": 0.25})})
    w = splits.recency_weights(weighted, frame)
    order = frame["TimeStamp"].to_numpy().argsort(kind="stable")
    assert w[order[-1]] == 1.0 and np.all(np.diff(w[order]) > 0)
    assert w[order[-1 - len(frame) // 4]] == pytest.approx(0.5, rel=1e-3)
    assert splits.recency_weights(card, frame) is None
    fell_back = weighted.model_copy(update={"split": weighted.split.model_copy(update={"kind": "stratified"})})
    assert splits.recency_weights(fell_back, frame) is None
