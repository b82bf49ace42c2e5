"""Every public dataset trains at least one card, and the one unlabelled dataset that is made to train a
card (the KAMP press, with fault episodes injected when loaded) is deterministic and changes only the
strokes it labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines import cards, sources

from conftest import needs_public


def test_every_public_dataset_trains_a_card():
    """`reference_data.public` of some card: exploration alone (`explore`) does not count."""
    trained = {c.reference_data.public for c in cards.list_cards() if c.reference_data.public}
    assert not sorted(set(sources.catalog()) - trained), "datasets no card trains on"


@needs_public("kamp_press")
def test_press_faults_are_injected_deterministically_into_the_real_strokes():
    a, _ = sources.load("kamp_press")
    b, _ = sources.load("kamp_press")
    pd.testing.assert_frame_equal(a, b)
    raw = pd.read_csv(sources.folder("kamp_press") / "press.csv")
    signals = ["press_time", "pressure_1", "pressure_2", "pressure_3"]
    fault = a["fault"].to_numpy() == 1
    assert len(a) == len(raw) and 0.01 < fault.mean() < 0.03
    assert (a.loc[~fault, signals].to_numpy() == raw.loc[~fault, signals].to_numpy()).all()  # normal strokes as logged
    changed = (a.loc[fault, signals].to_numpy() != raw.loc[fault, signals].to_numpy()).any(axis=1)
    assert changed.mean() > 0.8  # the first strokes of a leak may still round to the logged value
    assert (a["pressure_1"] % 1 == 0).all() and (a["press_time"] % 1 == 0).all()  # logged in whole bar and ms
    twin = (raw[signals] == raw[signals].shift()).all(axis=1).to_numpy()  # a stroke the PLC wrote twice
    assert (fault[1:][twin[1:]] == fault[:-1][twin[1:]]).all()
    starts = np.flatnonzero(fault & ~np.r_[False, fault[:-1]])
    assert len(starts) > 30 and a["working_time"].dt.year.eq(2020).all()
