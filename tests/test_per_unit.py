"""Exports with a column per machine or product (pipelines/per_unit.py): a SCADA table of IF-1 전력, IF-1 장입량,
IF-2 ... and a demand sheet of a column per part read as the rows a card with a group column reads, the
same rows as the long file."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import cards, data, per_unit
from pipelines.templates import example_rows

from conftest import needs_public

FURNACE = cards.load_card("casting-furnace-energy")
DEMAND = cards.load_card("demand-forecast")


def _same_rows(found: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    order = lambda f: f.sort_values(keys, kind="stable").reset_index(drop=True)[list(expected.columns)]  # noqa: E731
    pd.testing.assert_frame_equal(order(found), order(expected), check_dtype=False)


def test_a_column_per_furnace_and_reading_reads_as_a_row_per_furnace(tmp_path):
    expected = data.load(FURNACE).frame
    stamps = expected.assign(Timestamp=expected["Timestamp"].dt.strftime("%Y-%m-%d %H:%M"))
    wide = None
    for unit, rows in stamps.groupby("Furnace", sort=False):
        part = rows.drop(columns="Furnace").set_index(["Timestamp", "Shift"]).rename(
            columns={"Power_kW": f"{unit} 용해로 전력", "Charge_kg": f"({unit}) 장입량"})
        wide = part if wide is None else wide.join(part, how="outer")
    wide.reset_index().to_csv(tmp_path / "furnaces.csv", index=False, encoding="cp949")
    found = data.load(FURNACE, tmp_path / "furnaces.csv")
    _same_rows(found.frame, expected, ["Furnace", "Timestamp"])
    [(_, fields)] = [n for n in found.notes if n[0] == "per_unit"]
    assert fields["units"] == "IF-1, IF-2" and fields["rows"] == len(expected) == 2 * fields["lines"]


def test_a_demand_sheet_with_a_column_per_part_reads_as_its_series(tmp_path):
    expected = data.load(DEMAND).frame[["Week", "Part Number", "Demand"]]
    sheet = expected.pivot(index="Week", columns="Part Number", values="Demand").reset_index()
    sheet.columns.name = None
    sheet.assign(Week=sheet["Week"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "demand.csv", index=False)
    found = data.load(DEMAND, tmp_path / "demand.csv")
    _same_rows(found.frame, expected, ["Part Number", "Week"])
    assert found.frame["Part Number"].nunique() == expected["Part Number"].nunique()


def test_readings_named_for_their_kind_are_not_taken_for_machines():
    """'최대 용해로 전력' and '평균 용해로 전력' say what kind of reading it is, not whose."""
    frame = pd.DataFrame({"Timestamp": ["2024-03-04 00:00"] * 3, "최대 용해로 전력": [1.0, 2, 3], "평균 용해로 전력": [1.0, 2, 3]})
    assert per_unit.found(frame, FURNACE) is None


@pytest.mark.parametrize("card_id", cards.list_ids())
def test_no_cards_own_rows_are_spread_out(card_id):
    card = cards.load_card(card_id)
    assert per_unit.found(example_rows(card, 40), card) is None


# --- a test rig's log: a column per bearing, the one reading the card watches ----------------------------

BEARING = cards.load_card("bearing-rul")


def _rig_log(path, hours: int = 100) -> pd.DataFrame:
    """A rig's log as its software writes it: Datetime and a column per bearing of the mean |acceleration|,
    every 10 minutes until the rig was stopped; bearings 3 and 4 failed there (their vibration climbs in
    the last day), 1 and 2 were still running. The same rows as the card reads them, RUL left out."""
    import numpy as np

    rng = np.random.default_rng(1)
    times = pd.date_range("2024-03-01", periods=hours * 6, freq="10min")
    left = (times[-1] - times).total_seconds().to_numpy() / 3600
    log = pd.DataFrame({"Datetime": times.strftime("%Y.%m.%d.%H.%M.%S")})
    for b in range(1, 5):
        log[f"Bearing {b}"] = (0.08 + rng.normal(0, 0.004, len(times))
                               + (0.4 * np.exp(-left / 8) if b in (3, 4) else 0)).round(5)
    log.to_csv(path, index=False)
    return pd.DataFrame({"Datetime": times, "left": left})


def test_a_rigs_column_per_bearing_reads_as_a_row_per_bearing_each_failing_where_the_log_ends(tmp_path):
    clock = _rig_log(tmp_path / "rig.csv")
    found = data.load(BEARING, tmp_path / "rig.csv")
    frame = found.frame
    assert sorted(frame["bearing_id"].unique()) == ["Bearing 1", "Bearing 2", "Bearing 3", "Bearing 4"]
    assert len(frame) == 4 * len(clock)
    one = frame[frame["bearing_id"] == "Bearing 2"].sort_values("Datetime")
    assert one["RUL"].round(6).tolist() == clock["left"].round(6).tolist()  # every bearing taken as failing at the end
    codes = [code for code, _ in found.notes]
    assert "per_unit" in codes and "rul_from_run_to_failure" in codes
    [(_, same)] = [n for n in found.notes if n[0] == "rul_same_end"]
    assert same["units"] == 4 and same["end"] == str(clock["Datetime"].iloc[-1])


def test_failed_names_the_bearings_that_failed_and_the_others_count_only_where_their_life_is_known(tmp_path):
    clock = _rig_log(tmp_path / "rig.csv")
    found = data.load(BEARING, tmp_path / "rig.csv", options={"failed": "Bearing 3, Bearing 4"})
    frame, cap = found.frame, BEARING.target.clip
    failed = frame[frame["bearing_id"] == "Bearing 4"].sort_values("Datetime")
    assert failed["RUL"].round(6).tolist() == clock["left"].round(6).tolist()
    running = frame[frame["bearing_id"] == "Bearing 1"].sort_values("Datetime")
    known = clock[clock["left"] >= cap]
    assert running["RUL"].tolist() == [cap] * len(known)  # at least the cap was left: counted as the cap
    assert running["Datetime"].tolist() == known["Datetime"].tolist()  # the last hours: unknown, left out
    [(_, fields)] = [n for n in found.notes if n[0] == "rul_censored"]
    assert (fields["failed"], fields["others"], fields["unknown"]) == (2, 2, 2 * (len(clock) - len(known)))
    assert not any(code == "rul_same_end" for code, _ in found.notes)


def test_failed_naming_no_bearing_of_the_file_is_refused_with_the_files_names(tmp_path):
    from pipelines.errors import DataError

    _rig_log(tmp_path / "rig.csv")
    with pytest.raises(DataError) as caught:
        data.load(BEARING, tmp_path / "rig.csv", options={"failed": "Bearing 3,B4"})
    assert "--failed names 'B4'" in str(caught.value) and "Bearing 1, Bearing 2, Bearing 3, Bearing 4" in str(caught.value)


def test_check_repeats_failed_in_the_command_it_advises(tmp_path):
    from plant_exports import invoke

    _rig_log(tmp_path / "rig.csv")
    result = invoke("check", BEARING.id, "--data", str(tmp_path / "rig.csv"), "--failed", "Bearing 3,Bearing 4")
    assert result.exit_code == 0, result.output
    assert "the 2 bearing_id(s) named by --failed ran to failure" in result.output
    assert '--failed "Bearing 3,Bearing 4"' in result.output


@needs_public("ims_bearing_run_to_failure")
def test_the_ims_rigs_first_test_file_as_published_checks_with_the_bearings_that_failed():
    """1st_test: a column per bearing and accelerometer (Bearing 1-A ... 4-B); bearings 3 and 4 failed."""
    import os
    from pathlib import Path

    path = Path(os.environ["WORKBENCH_DATA_DIR"]) / "ims_bearing_run_to_failure" / "1st_test_resmaple_10minutes.csv"
    found = data.load(BEARING, path, options={"failed": "Bearing 3-A,Bearing 3-B,Bearing 4-A,Bearing 4-B"})
    assert found.frame["bearing_id"].nunique() == 8
    assert found.frame.groupby("bearing_id")["RUL"].min().to_dict() == {
        **{f"Bearing {b}-{s}": BEARING.target.clip for b in (1, 2) for s in "AB"},
        **{f"Bearing {b}-{s}": 0.0 for b in (3, 4) for s in "AB"}}
