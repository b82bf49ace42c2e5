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
