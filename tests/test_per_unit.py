"""Exports with a column per machine or product (pipelines/per_unit.py): a SCADA table of IF-1 전력, IF-1 장입량,
IF-2 ... and a demand sheet of a column per part read as the rows a card with a group column reads, the
same rows as the long file."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import cards, data, per_unit
from pipelines.templates import example_rows

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
