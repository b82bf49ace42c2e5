"""Bootstrap intervals of a test figure, and of the difference between two models scored on the same
rows: the benchmark against peers says whether a lead is beyond the luck of its TEST rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from pipelines import cards, metrics

AP = metrics.get("binary", "average_precision")
RMSE = metrics.get("regression", "rmse")


def _defects(rows: int, positives: int, seed: int = 0) -> np.ndarray:
    y = np.zeros(rows, dtype=int)
    y[np.random.default_rng(seed).choice(rows, positives, replace=False)] = 1
    return y


def test_a_model_that_ranks_the_defects_first_leads_a_coin_beyond_noise():
    y = _defects(2000, 60)
    rng = np.random.default_rng(1)
    sharp = y + rng.uniform(0, 0.8, len(y))  # every defect above almost every good part
    coin = rng.uniform(0, 1, len(y))
    low, high = metrics.paired_interval(AP, y, sharp, coin)
    assert 0 < low <= AP.fn(y, sharp) - AP.fn(y, coin) <= high
    assert metrics.paired_interval(AP, y, sharp, sharp) == (0.0, 0.0)


def test_two_equally_weak_models_on_nine_defects_cannot_be_told_apart():
    y = _defects(2000, 9)
    rng = np.random.default_rng(2)
    a, b = (y * 0.3 + rng.uniform(0, 1, len(y)) for _ in range(2))
    low, high = metrics.paired_interval(AP, y, a, b)
    assert low < 0 < high, (low, high)
    # each model's own interval is wide too: nine defects say little
    own = metrics.interval(AP, y, a)
    assert own[1] - own[0] > 0.1, own


def test_the_paired_interval_is_narrower_than_the_two_separate_ones():
    """Both models err on the same hard rows: scored on the same resamples, that shared luck cancels."""
    rng = np.random.default_rng(3)
    y = rng.normal(0, 10, 500)
    hard = rng.normal(0, 8, 500)  # what neither model explains
    a, b = y + hard + rng.normal(0, 1, 500), y + hard + rng.normal(0, 3, 500)
    paired = metrics.paired_interval(RMSE, y, a, b)
    separate = [metrics.interval(RMSE, y, p) for p in (a, b)]
    assert paired[1] - paired[0] < 0.5 * min(hi - lo for lo, hi in separate), (paired, separate)
    assert paired[1] < 0  # a errs less, and the resamples agree


def _vs_peers():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "vs_peers.py"
    spec = importlib.util.spec_from_file_location("vs_peers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["vs_peers"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_counts_a_lower_error_as_a_lead():
    bench = _vs_peers()
    card = cards.load_card("power-plant-output")  # RMSE: lower is better
    rng = np.random.default_rng(4)
    y = rng.normal(450, 17, 800)
    ours = bench.Scored(y, y + rng.normal(0, 3, len(y)))
    peer = bench.Scored(y, y + rng.normal(0, 4, len(y)))
    text = bench.versus(card, ours, peer)  # "+lead [low, high] verdict"
    assert float(text.split()[0]) > 0 and text.endswith("] better"), text
    assert bench.versus(card, peer, ours).endswith("worse")
    assert bench.versus(card, ours, ours) == "+0.0000 [+0.0000, +0.0000] within noise"


def test_runs_of_errors_in_time_widen_the_interval_that_row_by_row_draws_make_too_narrow():
    """A model that errs for hours at a time (a drift, a defect episode): its test rows' errors are not
    independent. Drawn in runs, the interval's width is near the spread of the metric over independent
    test periods; drawn row by row, it is far narrower."""
    def period(seed):  # 1,600 hourly rows whose error wanders slowly
        rng = np.random.default_rng(seed)
        error = np.zeros(1600)
        for i in range(1, 1600):
            error[i] = 0.98 * error[i - 1] + rng.normal(0, 1)
        y = rng.normal(100, 10, 1600)
        return y, y + error

    spread = np.percentile([RMSE.fn(*period(seed)) for seed in range(200)], [5, 95])
    y, p = period(999)
    rowwise = metrics.interval(RMSE, y, p)
    runs = metrics.interval(RMSE, y, p, block=metrics.block_length(len(y)))
    width = lambda bounds: bounds[1] - bounds[0]  # noqa: E731
    assert width(rowwise) < 0.5 * width(spread), (rowwise, spread)
    assert width(runs) > 2 * width(rowwise) and width(runs) > 0.4 * width(spread), (runs, rowwise, spread)


def test_a_run_is_consecutive_rows_and_wraps_past_the_last():
    pick = metrics._draw(np.random.default_rng(0), 103, 10)
    assert len(pick) == 103
    steps = np.diff(pick.reshape(-1)[:100].reshape(10, 10), axis=1) % 103
    assert (steps == 1).all()  # within a run: the next row (the last row's next is the first)


def test_a_time_splits_test_interval_draws_runs_of_rows_in_clock_order(store, tmp_path):
    """The run's own test interval on a time split: the scored rows in the order of their time stamps
    (a file out of time order too), drawn in runs. (Batches whose errors are independent: about as wide
    as row-by-row draws, as it should be.)"""
    import pipelines as wb
    from pipelines import evaluation, splits

    card = cards.load_card("heat-treatment-hardness")  # regression, time split on Batch_Time
    frame = wb.load_data(card).frame.head(3000).sample(frac=1, random_state=0)  # the file out of time order
    path = tmp_path / "shuffled.csv"
    frame.to_csv(path, index=False)
    result = wb.tune(card, wb.load_data(card, str(path)), n_trials=1, seed=0)
    report = wb.evaluate(result, plots=False)
    y, s, _ = evaluation.test_scores(result.card, result.model, result.test)
    test = result.test
    order = splits.time_order(result.card, test.raw.iloc[test.rows[test.scored]])
    stamps = test.raw.iloc[test.rows[test.scored]][card.time.column].to_numpy()[order]
    assert (np.diff(stamps) >= np.timedelta64(0)).all()
    runs = metrics.interval(RMSE, y[order], s[order], seed=0, block=metrics.block_length(len(y)))
    assert report.intervals["test_rmse"] == runs and report.interval_block == metrics.block_length(len(y)) > 1
    assert f"runs of {report.interval_block} in time order" in report.summary()
    assert report.intervals["test_rmse"] != metrics.interval(RMSE, y, s, seed=0)  # not row by row


def test_errors_shared_within_a_group_widen_the_interval_when_whole_groups_are_drawn():
    """Twenty batches of 60 parts, each batch's parts off by the batch's own amount (a setting, a
    material lot): the test figure's luck is which batches fell in the test part. Drawn batch by batch, the
    interval's width is near the spread over independent sets of batches; part by part, far narrower."""
    def batches(seed):
        rng = np.random.default_rng(seed)
        group = np.repeat(np.arange(20), 60)
        y = rng.normal(50, 5, len(group))
        return y, y + rng.normal(0, 3, 20)[group] + rng.normal(0, 1, len(group)), group

    spread = np.percentile([RMSE.fn(*batches(seed)[:2]) for seed in range(200)], [5, 95])
    y, p, group = batches(999)
    rowwise = metrics.interval(RMSE, y, p)
    grouped = metrics.interval(RMSE, y, p, groups=group)
    width = lambda bounds: bounds[1] - bounds[0]  # noqa: E731
    assert width(rowwise) < 0.4 * width(spread), (rowwise, spread)
    assert width(grouped) > 2 * width(rowwise) and width(grouped) > 0.5 * width(spread), (grouped, rowwise, spread)


def test_a_group_draw_takes_whole_groups_and_a_missing_group_is_one_group():
    groups = np.array(["a", "b", "a", None, "c", "b", None, "a"], dtype=object)
    members = metrics.group_members(groups)
    assert sorted(len(m) for m in members) == [1, 2, 2, 3]
    assert sorted(sorted(m.tolist()) for m in members) == [[0, 2, 7], [1, 5], [3, 6], [4]]
    pick = metrics._draw(np.random.default_rng(1), len(groups), 1, members)
    drawn = {tuple(sorted(m.tolist())) for m in members if set(m.tolist()) & set(pick.tolist())}
    for m in drawn:  # a group is drawn whole or not at all
        assert all((pick == i).sum() == (pick == m[0]).sum() for i in m)


def test_a_group_splits_test_interval_draws_whole_groups(store, tmp_path):
    """The run's own test interval on a group split whose test groups hold several rows (steel types):
    drawn a steel type at a time, said in the summary and logged."""
    import pipelines as wb
    from pipelines import evaluation

    card = cards.load_card("steel-tempering-hardness")  # regression, group split on Steel_Type
    result = wb.tune(card, wb.load_data(card), n_trials=1, seed=0)
    report = wb.evaluate(result, plots=False)
    y, s, _ = evaluation.test_scores(result.card, result.model, result.test)
    test = result.test
    groups = test.raw.iloc[test.rows[test.scored]][card.group.column].to_numpy()
    assert 1 < len(set(groups)) < len(y)
    assert report.interval_groups == len(set(groups))
    assert report.intervals["test_rmse"] == metrics.interval(RMSE, y, s, seed=0, groups=groups)
    assert report.intervals["test_rmse"] != metrics.interval(RMSE, y, s, seed=0)  # not row by row
    assert f"draw whole Steel_Type groups, {report.interval_groups} in the test part" in report.summary()
